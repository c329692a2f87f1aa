//! The TFLite flatbuffer reader: every table, vector and string bounds-checked; Flex ops'
//! custom options searched for their TensorFlow NodeDef.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::tflite::{TfliteLimits, flex_node_def, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse(data, &TfliteLimits::default()) {
        for i in 0..m.buffers.len() {
            if let Some(r) = m.buffer_range(i as u32, data.len()) {
                assert!(r.end <= data.len());
            }
        }
        for op in m.subgraphs.iter().flat_map(|s| &s.operators) {
            if let Some(opts) = op.custom_options.clone().and_then(|r| data.get(r)) {
                let _ = flex_node_def(opts, "ReadFile");
            }
        }
    }
});
