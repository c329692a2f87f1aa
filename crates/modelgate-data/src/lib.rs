//! Dataset readers and poisoning analyses for modelgate.
//!
//! * [`read`]: CSV, TSV, JSONL (optionally gzip), chat/instruction layouts, `.npy`.
//! * [`audit`]: confident learning on out-of-fold probabilities ([`cl`], [`model`]), flip
//!   campaigns (cluster-held-out folds), backdoor triggers ([`trigger`]), duplicates with
//!   conflicting labels ([`dup`]), out-of-distribution rows ([`cluster`]).
//! * [`chat`]: poisoning of chat / instruction fine-tuning data.
//! * [`baseline`]: fit on trusted data once, then screen each incoming batch.
//! * [`render`]: text summary, JSON, HTML with inline SVG plots.
//!
//! Everything is deterministic (fixed seeds, order-preserving parallelism) and works on hashed
//! features, so memory does not grow with the vocabulary.

#![deny(unsafe_code)]

pub mod audit;
pub mod baseline;
pub mod chat;
pub mod cl;
pub mod cluster;
pub mod dup;
pub mod error;
pub mod features;
pub mod hash;
pub mod logistic_dual;
pub mod model;
pub mod ngram_counts;
pub mod packed;
pub mod read;
pub mod render;
pub mod report;
pub mod stats;
pub mod tokens;
pub mod trigger;

pub use audit::{AuditOptions, audit};
pub use error::{DataError, Result};
pub use read::{Limits, Records, Spec};
pub use report::Report;

/// Read `path` and audit it: chat files without a label go to the chat detectors, everything
/// else to the labelled-data detectors.
pub fn audit_file(
    path: &std::path::Path,
    spec: &Spec,
    vectors: Option<&std::path::Path>,
    limits: &Limits,
    opts: &AuditOptions,
) -> Result<Report> {
    let spec = Spec {
        vectors: vectors.is_some(),
        ..spec.clone()
    };
    let records = read::read(path, &spec, limits)?;
    if matches!(records.content, read::Content::Chat { .. }) && records.labels.is_empty() {
        return chat::audit_chat(&records, &chat::ChatOptions::default());
    }
    let v = match vectors {
        Some(p) => Some(read::read_npy(p, limits)?),
        None => None,
    };
    audit::audit_owned(records, v, opts)
}
