//! The whole engine (sniffing, every analyzer, nested descent) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_core::{Blob, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_member_bytes: 1 << 20, max_expanded_bytes: 4 << 20, max_pickle_ops: 100_000, ..Limits::default() };
    let r = modelgate_rules::scan_bytes("fuzz.bin", Blob::from_vec(data.to_vec()), &limits);
    // A panic inside an analyzer is contained and reported; it must never happen.
    assert!(!r.findings.iter().any(|f| f.code == "GEN004"), "analyzer crashed: {:?}", r.findings);
});
