//! `TFG` TensorFlow graphs (SavedModel, MetaGraphDef, frozen GraphDef) and `TFL` TFLite:
//! dangerous ops with their call site, unknown and custom ops, asset paths, Flex ops.

pub mod asset_path;
pub mod checkpoint_path;
pub mod file_read;
pub mod file_write;
pub mod network_op;
pub mod print_to_file;
pub mod python_callback;
pub mod tflite_custom_op;
pub mod tflite_embedded_payload;
pub mod tflite_flex_op;
pub mod unknown_op;

/// Where an op takes the path it touches from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The node's input at this index.
    Input(usize),
    /// A string attribute.
    Attr(&'static str),
    /// The op has no path of its own (reader resources get it later).
    None,
}
