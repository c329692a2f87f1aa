//! Errors of the data crate: every bad input names the problem (file, line, column).

use std::path::PathBuf;

/// What went wrong while reading or analysing a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (no data rows)")]
    Empty { path: PathBuf },
    #[error("{path}: line {line}: {message}")]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path}: line {line} is not valid UTF-8")]
    NotUtf8 { path: PathBuf, line: u64 },
    #[error("{path}: line {line} has {found} fields, the header has {expected} (ragged CSV)")]
    Ragged {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{path}: no column named {name:?}; columns are: {available}")]
    NoColumn {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error("{path}: Parquet: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: limit exceeded: {what}")]
    Limit { path: PathBuf, what: String },
    #[error("{0}")]
    Invalid(String),
    #[error("baseline state {path}: {message}")]
    State { path: PathBuf, message: String },
}

pub type Result<T> = std::result::Result<T, DataError>;
