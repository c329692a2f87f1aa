//! The forensic zip reader: parse, cross-check and read every member under small budgets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_core::Blob;
use modelgate_formats::zip::ZipArchive;

fuzz_target!(|data: &[u8]| {
    let a = ZipArchive::parse(data, 1000);
    let blob = Blob::from_vec(data.to_vec());
    for e in &a.entries {
        let _ = a.read(&blob, e, 1 << 20, 100, true);
    }
});
