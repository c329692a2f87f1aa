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

/// Rows per chunk of a streaming read (`audit`, `screen`): the texts of this many rows are
/// held at once before they are tokenised and freed.
pub const CHUNK_ROWS: usize = 16_384;

/// Read `path` and audit it: chat files without a label go to the chat detectors, everything
/// else to the labelled-data detectors. A text column is read in chunks of [`CHUNK_ROWS`]
/// rows, each tokenised and freed before the next is parsed.
pub fn audit_file(
    path: &std::path::Path,
    spec: &Spec,
    vectors: Option<&std::path::Path>,
    limits: &Limits,
    opts: &AuditOptions,
) -> Result<Report> {
    audit_file_chunked(path, spec, vectors, limits, opts, CHUNK_ROWS)
}

/// [`audit_file`] with `chunk_rows` rows per chunk (the report does not depend on it).
pub fn audit_file_chunked(
    path: &std::path::Path,
    spec: &Spec,
    vectors: Option<&std::path::Path>,
    limits: &Limits,
    opts: &AuditOptions,
    chunk_rows: usize,
) -> Result<Report> {
    let spec = Spec {
        vectors: vectors.is_some(),
        ..spec.clone()
    };
    let t0 = std::time::Instant::now();
    let (records, tokens) = if vectors.is_none() {
        let mut tb = tokens::TokenTableBuilder::new();
        let (records, streamed) =
            read::read_pipelined(path, &spec, limits, chunk_rows, &mut |texts, done| {
                tb.push_owned(texts, done);
            })?;
        (records, streamed.then(|| tb.finish()))
    } else {
        (read::read(path, &spec, limits)?, None)
    };
    if let Some(tokens) = tokens {
        return audit::audit_tokenized(records, tokens, opts, t0);
    }
    if matches!(records.content, read::Content::Chat { .. }) && records.labels.is_empty() {
        return chat::audit_chat(&records, &chat::ChatOptions::default());
    }
    let v = match vectors {
        Some(p) => Some(read::read_npy(p, limits)?),
        None => None,
    };
    audit::audit_owned(records, v, opts)
}
