//! OpenSSF Model Signing (OMS v1.0) for modelgate: file enumeration and hashing, the
//! manifest, in-toto statement, DSSE envelope and Sigstore bundle, ECDSA signing and
//! verification (key and certificate methods), trust policy (`gate`) and the CycloneDX ML-BOM.
//!
//! Signatures interoperate with the reference implementation `model-signing` both ways.

#![forbid(unsafe_code)]

pub mod certs;
pub mod error;
pub mod hashing;
pub mod keys;
pub mod oms;
pub mod walk;

pub use error::{Error, KeyError};
pub mod bom;
pub mod policy;
pub mod sign;
pub mod verify;
