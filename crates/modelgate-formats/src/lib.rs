//! Pure, bounded parsers for model file formats: bytes in, typed models out. Parsers never
//! emit findings and never panic on hostile bytes; damage is returned as data.

pub mod chat_template;
pub mod compress;
pub mod gguf;
pub mod hdf5;
pub mod keras;
pub mod marshal;
pub mod npy;
pub mod pickle;
pub mod safetensors;
pub mod sniff;
pub mod tf;
pub mod tflite;
pub mod zip;

pub use sniff::sniff;
