//! What a byte stream is, decided by content.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Compression codecs that wrap other formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Codec {
    Gzip,
    Zlib,
    Bzip2,
    Xz,
    Lzma,
    Zstd,
    Lz4,
}

impl Codec {
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zlib => "zlib",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
        }
    }
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FormatId {
    /// A raw pickle stream of the given protocol (0 when there is no PROTO opcode).
    Pickle {
        protocol: u8,
    },
    /// PyTorch zip checkpoint (`torch.save` since 1.6).
    TorchZip,
    /// Legacy PyTorch file: stacked pickles starting with the magic number.
    TorchLegacy,
    /// TorchScript archive (`torch.jit.save`): zip with `code/` and `constants.pkl`.
    TorchScript,
    /// joblib pickle (possibly interleaved with raw NumPy buffers).
    Joblib,
    Npy,
    Npz,
    KerasV3,
    KerasH5,
    Hdf5,
    SavedModel,
    TfGraphDef,
    TfLite,
    Onnx,
    Gguf,
    Safetensors,
    Zip,
    Tar,
    SevenZ,
    Compressed(Codec),
    Json,
    Text,
    Unknown,
}

impl FormatId {
    /// Short stable name used in JSON output and policies.
    pub fn name(self) -> &'static str {
        match self {
            FormatId::Pickle { .. } => "pickle",
            FormatId::TorchZip => "pytorch-zip",
            FormatId::TorchLegacy => "pytorch-legacy",
            FormatId::TorchScript => "torchscript",
            FormatId::Joblib => "joblib",
            FormatId::Npy => "numpy-npy",
            FormatId::Npz => "numpy-npz",
            FormatId::KerasV3 => "keras-v3",
            FormatId::KerasH5 => "keras-h5",
            FormatId::Hdf5 => "hdf5",
            FormatId::SavedModel => "tf-savedmodel",
            FormatId::TfGraphDef => "tf-graphdef",
            FormatId::TfLite => "tflite",
            FormatId::Onnx => "onnx",
            FormatId::Gguf => "gguf",
            FormatId::Safetensors => "safetensors",
            FormatId::Zip => "zip",
            FormatId::Tar => "tar",
            FormatId::SevenZ => "7z",
            FormatId::Compressed(Codec::Gzip) => "gzip",
            FormatId::Compressed(Codec::Zlib) => "zlib",
            FormatId::Compressed(Codec::Bzip2) => "bzip2",
            FormatId::Compressed(Codec::Xz) => "xz",
            FormatId::Compressed(Codec::Lzma) => "lzma",
            FormatId::Compressed(Codec::Zstd) => "zstd",
            FormatId::Compressed(Codec::Lz4) => "lz4",
            FormatId::Json => "json",
            FormatId::Text => "text",
            FormatId::Unknown => "unknown",
        }
    }

    /// Whether loading this format with its usual loader can run code embedded in it.
    pub fn can_execute_code(self) -> bool {
        matches!(
            self,
            FormatId::Pickle { .. }
                | FormatId::TorchZip
                | FormatId::TorchLegacy
                | FormatId::TorchScript
                | FormatId::Joblib
                | FormatId::KerasV3
                | FormatId::KerasH5
                | FormatId::SavedModel
                | FormatId::TfGraphDef
        )
    }

    /// Whether the format is a model/data serialisation (not a plain container or text).
    pub fn is_model(self) -> bool {
        !matches!(
            self,
            FormatId::Zip
                | FormatId::Tar
                | FormatId::SevenZ
                | FormatId::Compressed(_)
                | FormatId::Json
                | FormatId::Text
                | FormatId::Unknown
        )
    }
}

impl fmt::Display for FormatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatId::Pickle { protocol } => write!(f, "pickle (protocol {protocol})"),
            other => f.write_str(other.name()),
        }
    }
}
