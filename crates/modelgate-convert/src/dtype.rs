//! Element types: the safetensors dtypes, and how PyTorch and NumPy name them.

/// Element types safetensors supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    U16,
    U32,
    U64,
    Bool,
    F8E4M3,
    F8E5M2,
}

/// Why a PyTorch/NumPy element type cannot be written, when it is a known one.
const NO_SAFETENSORS_EQUIVALENT: &[(&str, &str)] = &[
    ("ComplexFloatStorage", "complex64"),
    ("ComplexDoubleStorage", "complex128"),
    ("complex32", "complex32"),
    ("complex64", "complex64"),
    ("complex128", "complex128"),
    ("chalf", "complex32"),
    ("cfloat", "complex64"),
    ("cdouble", "complex128"),
    ("QInt8Storage", "qint8 (quantized)"),
    ("QUInt8Storage", "quint8 (quantized)"),
    ("QInt32Storage", "qint32 (quantized)"),
    ("QUInt4x2Storage", "quint4x2 (quantized)"),
    ("QUInt2x4Storage", "quint2x4 (quantized)"),
    ("float8_e4m3fnuz", "float8_e4m3fnuz"),
    ("float8_e5m2fnuz", "float8_e5m2fnuz"),
    ("float8_e8m0fnu", "float8_e8m0fnu"),
    ("float4_e2m1fn_x2", "float4_e2m1fn_x2"),
    ("bits8", "bits8"),
    ("bits16", "bits16"),
    ("bits1x8", "bits1x8"),
    ("bits2x4", "bits2x4"),
    ("bits4x2", "bits4x2"),
];

/// The message for a known element type that safetensors cannot hold.
pub fn unsupported_reason(name: &str) -> Option<String> {
    NO_SAFETENSORS_EQUIVALENT
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, what)| format!("dtype {what} has no safetensors equivalent"))
}

impl Dtype {
    /// From a typed PyTorch storage class (`torch.FloatStorage` without the module).
    pub fn from_storage(name: &str) -> Option<Dtype> {
        Some(match name {
            "DoubleStorage" => Dtype::F64,
            "FloatStorage" => Dtype::F32,
            "HalfStorage" => Dtype::F16,
            "BFloat16Storage" => Dtype::BF16,
            "LongStorage" => Dtype::I64,
            "IntStorage" => Dtype::I32,
            "ShortStorage" => Dtype::I16,
            "CharStorage" => Dtype::I8,
            "ByteStorage" => Dtype::U8,
            "BoolStorage" => Dtype::Bool,
            _ => return None,
        })
    }

    /// From a `torch.<dtype>` global (the dtype argument of `_rebuild_tensor_v3`).
    pub fn from_torch(name: &str) -> Option<Dtype> {
        Some(match name {
            "float64" | "double" => Dtype::F64,
            "float32" | "float" => Dtype::F32,
            "float16" | "half" => Dtype::F16,
            "bfloat16" => Dtype::BF16,
            "int64" | "long" => Dtype::I64,
            "int32" | "int" => Dtype::I32,
            "int16" | "short" => Dtype::I16,
            "int8" => Dtype::I8,
            "uint8" => Dtype::U8,
            "uint16" => Dtype::U16,
            "uint32" => Dtype::U32,
            "uint64" => Dtype::U64,
            "bool" => Dtype::Bool,
            "float8_e4m3fn" => Dtype::F8E4M3,
            "float8_e5m2" => Dtype::F8E5M2,
            _ => return None,
        })
    }

    /// The safetensors dtype name.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "F64",
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I64 => "I64",
            Dtype::I32 => "I32",
            Dtype::I16 => "I16",
            Dtype::I8 => "I8",
            Dtype::U8 => "U8",
            Dtype::U16 => "U16",
            Dtype::U32 => "U32",
            Dtype::U64 => "U64",
            Dtype::Bool => "BOOL",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::F8E5M2 => "F8_E5M2",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 | Dtype::U16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool | Dtype::F8E4M3 | Dtype::F8E5M2 => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complex_and_quantized_have_reasons() {
        assert!(unsupported_reason("ComplexFloatStorage").is_some());
        assert!(unsupported_reason("QInt8Storage").is_some());
        assert!(unsupported_reason("FloatStorage").is_none());
        assert_eq!(Dtype::from_torch("float8_e5m2"), Some(Dtype::F8E5M2));
    }
}
