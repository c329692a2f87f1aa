//! `HDF`: HDF5 structure (malformed, not fully read) and payloads hidden in attributes or
//! the user block. Keras `.h5` configs are checked by the `KRS` rules.

pub mod hidden_payload;
pub mod malformed;
pub mod not_fully_read;
