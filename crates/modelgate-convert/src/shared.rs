//! Tensors that share a storage, handled the way Python `safetensors` users expect.
//!
//! `safetensors.torch.save_file` refuses shared tensors and `save_model` keeps one name per
//! group of identical tensors, recording `{dropped: kept}` in `__metadata__` so that
//! `load_model` can tie them again. We do the same for identical views (same storage, dtype,
//! offset, shape and strides). Different views of one storage (overlapping or not) cannot
//! be tied: each is written as its own contiguous copy, and the plan says so.

use crate::plan::TensorPlan;
use std::collections::BTreeMap;

/// The result of deduplication.
pub(crate) struct Dedup {
    pub tensors: Vec<TensorPlan>,
    /// `(dropped, kept)`, sorted by dropped name.
    pub dropped: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// The span of storage elements a view touches, `[first, last]` (None when empty).
fn span(t: &TensorPlan) -> Option<(usize, usize)> {
    if t.numel() == 0 {
        return None;
    }
    let mut last = t.offset;
    for (d, s) in t.shape.iter().zip(&t.stride) {
        last = last.saturating_add(d.saturating_sub(1).saturating_mul(*s));
    }
    Some((t.offset, last))
}

/// What makes two tensors the same: storage, dtype, offset, shape, strides.
type ViewId = (String, &'static str, usize, Vec<usize>, Vec<usize>);

/// `tensors` must be sorted by name; the first name of each identical group is kept.
pub(crate) fn dedup(tensors: Vec<TensorPlan>) -> Dedup {
    let mut kept: Vec<TensorPlan> = Vec::with_capacity(tensors.len());
    let mut first_of: BTreeMap<ViewId, String> = BTreeMap::new();
    let mut dropped = Vec::new();
    for t in tensors {
        if t.numel() == 0 {
            kept.push(t);
            continue;
        }
        let id = (
            t.storage_key.clone(),
            t.dtype.name(),
            t.offset,
            t.shape.clone(),
            t.stride.clone(),
        );
        if let Some(k) = first_of.get(&id) {
            dropped.push((t.name.clone(), k.clone()));
        } else {
            first_of.insert(id, t.name.clone());
            kept.push(t);
        }
    }
    let mut notes = Vec::new();
    let mut by_storage: BTreeMap<&str, Vec<&TensorPlan>> = BTreeMap::new();
    for t in &kept {
        if t.numel() > 0 {
            by_storage.entry(&t.storage_key).or_default().push(t);
        }
    }
    for (key, views) in by_storage {
        if views.len() < 2 {
            continue;
        }
        let spans: Vec<Option<(usize, usize)>> = views.iter().map(|t| span(t)).collect();
        let mut overlapping = false;
        for (i, a) in spans.iter().enumerate() {
            for b in spans.iter().skip(i + 1) {
                if let (Some((a0, a1)), Some((b0, b1))) = (a, b)
                    && a0 <= b1
                    && b0 <= a1
                {
                    overlapping = true;
                }
            }
        }
        let names: Vec<&str> = views.iter().map(|t| t.name.as_str()).collect();
        notes.push(format!(
            "storage {key} is viewed differently by {} ({}): each written as its own contiguous copy",
            names.join(", "),
            if overlapping {
                "overlapping"
            } else {
                "disjoint"
            }
        ));
    }
    for (d, k) in &dropped {
        notes.push(format!(
            "{d} is identical to {k} (same storage and view): kept {k}, dropped {d} (recorded in __metadata__)"
        ));
    }
    dropped.sort();
    Dedup {
        tensors: kept,
        dropped,
        notes,
    }
}
