//! Renderers: pure functions from a [`Report`] to text, JSON or SARIF 2.1.0.

pub mod json;
pub mod sarif;
pub mod text;

pub use modelgate_core::Report;
