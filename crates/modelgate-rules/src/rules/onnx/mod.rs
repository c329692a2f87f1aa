//! `ONX`: ONNX model structure (custom operator domains, external-data paths). The
//! shadow-logic graph rules (`GRA`) live in `modelgate-graph`.

pub mod custom_operator;
pub mod external_data_path;
