//! One analyzer per format family.

pub mod compressed;
pub mod gguf;
pub mod hdf5;
pub mod json;
pub mod npy;
pub mod onnx;
pub mod pickle;
pub mod safetensors;
pub mod sevenz;
pub mod tar;
pub mod tf;
pub mod tf_keras;
pub mod tf_ops;
pub mod tflite;
pub mod zip;
