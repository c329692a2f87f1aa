//! The bounded HDF5 reader: parse under tight budgets and touch every decoded value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::hdf5::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_objects: 1000, max_value_bytes: 1 << 20, max_btree_nodes: 1000, ..Limits::default() };
    if let Ok(f) = parse(data, &limits) {
        for o in &f.objects {
            for a in &o.attributes {
                let _ = (a.as_str(), a.strings(), a.datatype.describe());
            }
        }
        for i in &f.issues {
            let _ = i.to_string();
        }
    }
});
