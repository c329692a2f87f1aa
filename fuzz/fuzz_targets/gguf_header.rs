//! The GGUF header and metadata parser: counts, string lengths, tensor offsets, alignment.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = modelgate_formats::gguf::parse(data);
});
