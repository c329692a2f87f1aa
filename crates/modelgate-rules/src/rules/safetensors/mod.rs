//! `STN`: safetensors structure, unaccounted bytes and payloads hidden in metadata.

pub mod hidden_payload;
pub mod invalid_tensor;
pub mod malformed_header;
pub mod unaccounted_bytes;
