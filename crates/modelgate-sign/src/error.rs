//! Error types. Setup errors (I/O, unreadable keys, bad arguments) are `Error`; a signature
//! that does not verify is not an error but a [`crate::verify::Outcome`] with problems.

use std::path::PathBuf;

/// A key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("malformed key: {0}")]
    Malformed(String),
    #[error("unsupported key: {0}")]
    Unsupported(String),
    #[error("{0}")]
    NeedPassword(String),
}

/// Something went wrong before a verdict could be reached (exit code 2 in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("certificate: {0}")]
    Cert(String),
    /// The model tree cannot be signed as is (symlink, special file, non-UTF-8 name, empty).
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Usage(String),
    #[error("JSON: {0}")]
    Json(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
