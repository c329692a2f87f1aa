//! The TFLite flatbuffer reader: every table, vector and string bounds-checked.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::tflite::{TfliteLimits, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse(data, &TfliteLimits::default()) {
        for i in 0..m.buffers.len() {
            if let Some(r) = m.buffer_range(i as u32, data.len()) {
                assert!(r.end <= data.len());
            }
        }
    }
});
