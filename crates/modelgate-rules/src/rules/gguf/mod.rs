//! `GGF`: GGUF header, metadata and tensor layout.

pub mod hidden_payload;
pub mod invalid_tensor;
pub mod malformed;
pub mod trailing_data;
