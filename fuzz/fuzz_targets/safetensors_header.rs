//! The safetensors header validator: length prefix, JSON, dtypes, shapes, offsets, metadata.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate_formats::safetensors::parse(data);
});
