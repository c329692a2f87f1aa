//! `modelgate convert` planning (PyTorch zip and legacy, .npy/.npz) on arbitrary bytes: an
//! error or a plan whose every view lies inside its storage, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_convert::{Options, plan_bytes};

fuzz_target!(|data: &[u8]| {
    let blob = modelgate_core::Blob::from_vec(data.to_vec());
    if let Ok(plan) = plan_bytes(&blob, "x", &Options::default()) {
        for t in &plan.tensors {
            let mut last = t.offset;
            for (d, s) in t.shape.iter().zip(&t.stride) {
                last = last.saturating_add(d.saturating_sub(1).saturating_mul(*s));
            }
            assert!(t.numel() == 0 || (last + 1) * t.dtype.size() <= t.storage.len());
        }
    }
});
