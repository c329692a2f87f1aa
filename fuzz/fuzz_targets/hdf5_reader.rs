//! The bounded HDF5 reader: parse under tight budgets and touch every decoded value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_formats::hdf5::{Limits, parse};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_objects: 1000,
        max_value_bytes: 1 << 20,
        max_btree_nodes: 1000,
        max_dataset_bytes: 1 << 20,
        max_data_bytes: 4 << 20,
        max_decoded_bytes: 8 << 20,
        ..Limits::default()
    };
    if let Ok(f) = parse(data, &limits) {
        for o in &f.objects {
            for a in &o.attributes {
                let _ = (a.as_str(), a.strings(), a.datatype.describe());
            }
            if let Some(d) = &o.data {
                let _ = (&d.value, d.at, d.truncated);
            }
        }
        for i in &f.issues {
            let _ = i.to_string();
        }
    }
});
