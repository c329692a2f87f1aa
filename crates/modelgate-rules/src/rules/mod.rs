//! Rules, one file per rule. Each file holds the rule's `META` (code, name, defaults, doc
//! page) and, for rules that inspect a format model, its `check` function.

pub mod archive;
pub mod generic;
pub mod gguf;
pub mod hdf5;
pub mod keras;
pub mod onnx;
pub mod pickle;
pub mod safetensors;
pub mod template;
pub mod tensorflow;
