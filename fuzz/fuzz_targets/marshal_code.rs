//! The marshal code-object disassembler (Keras Lambda bytecode).
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::marshal::{Limits, disassemble};

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = disassemble(data, &Limits { max_objects: 10_000, max_instructions: 10_000, ..Limits::default() }) {
        for c in &d.calls {
            let _ = c.to_string();
        }
        let _ = d.code_objects().len();
    }
});
