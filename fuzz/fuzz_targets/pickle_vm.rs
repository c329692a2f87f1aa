//! The pickle disassembler, symbolic machine and callee resolution on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::pickle::resolve::effective_call;
use modelgate_formats::pickle::symbolic::{EventKind, VmLimits, run_stream};

fuzz_target!(|data: &[u8]| {
    let limits = VmLimits { max_ops: 100_000, max_values: 100_000, max_memo: 10_000, max_nesting: 4 };
    let p = run_stream(data, 0, limits);
    for e in &p.events {
        if let EventKind::Call { value } = e.kind {
            let _ = effective_call(&p.values, data, value);
            let _ = p.values.render(value, data);
        }
    }
    let _ = modelgate_formats::sniff(data, "x");
});
