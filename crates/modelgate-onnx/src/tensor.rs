//! Tensors: metadata plus a view of their stored data (never external files).

use bytes::Bytes;

/// `TensorProto.DataType` as stored (unknown codes are kept, not rejected).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DataType(pub i32);

impl DataType {
    pub const UNDEFINED: DataType = DataType(0);
    pub const FLOAT: DataType = DataType(1);
    pub const UINT8: DataType = DataType(2);
    pub const INT8: DataType = DataType(3);
    pub const UINT16: DataType = DataType(4);
    pub const INT16: DataType = DataType(5);
    pub const INT32: DataType = DataType(6);
    pub const INT64: DataType = DataType(7);
    pub const STRING: DataType = DataType(8);
    pub const BOOL: DataType = DataType(9);
    pub const FLOAT16: DataType = DataType(10);
    pub const DOUBLE: DataType = DataType(11);
    pub const UINT32: DataType = DataType(12);
    pub const UINT64: DataType = DataType(13);
    pub const BFLOAT16: DataType = DataType(16);

    /// The ONNX name (`FLOAT`, `INT64`, ...), or `TYPE<n>` for other codes.
    pub fn name(self) -> String {
        let n = match self.0 {
            0 => "UNDEFINED",
            1 => "FLOAT",
            2 => "UINT8",
            3 => "INT8",
            4 => "UINT16",
            5 => "INT16",
            6 => "INT32",
            7 => "INT64",
            8 => "STRING",
            9 => "BOOL",
            10 => "FLOAT16",
            11 => "DOUBLE",
            12 => "UINT32",
            13 => "UINT64",
            14 => "COMPLEX64",
            15 => "COMPLEX128",
            16 => "BFLOAT16",
            17 => "FLOAT8E4M3FN",
            18 => "FLOAT8E4M3FNUZ",
            19 => "FLOAT8E5M2",
            20 => "FLOAT8E5M2FNUZ",
            21 => "UINT4",
            22 => "INT4",
            23 => "FLOAT4E2M1",
            other => return format!("TYPE{other}"),
        };
        n.to_string()
    }

    /// Bytes per element in `raw_data` for the byte-aligned numeric types.
    pub fn elem_size(self) -> Option<usize> {
        match self.0 {
            2 | 3 | 9 | 17..=20 | 24 => Some(1),
            4 | 5 | 10 | 16 => Some(2),
            1 | 6 | 12 => Some(4),
            7 | 11 | 13 | 14 => Some(8),
            15 => Some(16),
            _ => None,
        }
    }

    /// True for floating-point element types.
    pub fn is_float(self) -> bool {
        matches!(self.0, 1 | 10 | 11 | 16 | 17..=20 | 23)
    }
}

/// External-data description of a tensor (`external_data` key/value entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalData {
    /// The `location` entry, as written (may be absolute, contain `..`, or be empty).
    pub location: String,
    /// `offset`, if present and a valid non-negative integer.
    pub offset: Option<u64>,
    /// `length`, if present and a valid non-negative integer.
    pub length: Option<u64>,
    pub checksum: Option<String>,
    /// Every entry verbatim, including unknown keys and unparsable offsets/lengths.
    pub entries: Vec<(String, String)>,
}

/// Where a tensor's values are.
#[derive(Debug, Clone, Default)]
pub enum TensorData {
    /// No data stored (e.g. a tensor that only carries a type).
    #[default]
    Empty,
    /// `raw_data`: little-endian packed values (a slice of the input when parsed with
    /// [`crate::parse_bytes`]).
    Raw(Bytes),
    Floats(Vec<f32>),
    Int32s(Vec<i32>),
    Int64s(Vec<i64>),
    Doubles(Vec<f64>),
    Uint64s(Vec<u64>),
    Strings(Vec<Bytes>),
    /// Stored outside the model file; never read by this crate.
    External(ExternalData),
}

/// A tensor (initializer, `Constant` value, tensor attribute).
#[derive(Debug, Clone, Default)]
pub struct Tensor {
    pub name: String,
    pub data_type: DataType,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

impl Tensor {
    /// Number of elements from `dims` (1 for a scalar); `None` on negative dims or overflow.
    pub fn element_count(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |acc, &d| {
            u64::try_from(d).ok().and_then(|d| acc.checked_mul(d))
        })
    }

    /// Bytes held inside the model file for this tensor (0 for external data).
    pub fn stored_len(&self) -> u64 {
        let n = |len: usize, w: usize| (len as u64).saturating_mul(w as u64);
        match &self.data {
            TensorData::Empty | TensorData::External(_) => 0,
            TensorData::Raw(b) => b.len() as u64,
            TensorData::Floats(v) => n(v.len(), 4),
            TensorData::Int32s(v) => n(v.len(), 4),
            TensorData::Int64s(v) => n(v.len(), 8),
            TensorData::Doubles(v) => n(v.len(), 8),
            TensorData::Uint64s(v) => n(v.len(), 8),
            TensorData::Strings(v) => v.iter().map(|s| s.len() as u64).sum(),
        }
    }

    /// True when the values live in an external file.
    pub fn is_external(&self) -> bool {
        matches!(self.data, TensorData::External(_))
    }

    /// The values as `f64`, if the tensor is numeric, stored in the file, has at most
    /// `max_elems` elements and its stored data matches its dims. Never reads external data.
    pub fn values_f64(&self, max_elems: usize) -> Option<Vec<f64>> {
        let count = usize::try_from(self.element_count()?).ok()?;
        if count > max_elems {
            return None;
        }
        let dt = self.data_type;
        let vals: Vec<f64> = match &self.data {
            TensorData::Raw(raw) => decode_raw(dt, raw, count)?,
            TensorData::Floats(v) if dt == DataType::FLOAT => {
                v.iter().map(|&x| f64::from(x)).collect()
            }
            TensorData::Int32s(v) => match dt.0 {
                10 => v.iter().map(|&x| f16_to_f64(x as u16)).collect(),
                16 => v
                    .iter()
                    .map(|&x| f64::from(f32::from_bits((x as u32) << 16)))
                    .collect(),
                2..=6 | 9 => v.iter().map(|&x| f64::from(x)).collect(),
                _ => return None,
            },
            TensorData::Int64s(v) if dt == DataType::INT64 => v.iter().map(|&x| x as f64).collect(),
            TensorData::Doubles(v) if dt == DataType::DOUBLE => v.clone(),
            TensorData::Uint64s(v) if matches!(dt.0, 12 | 13) => {
                v.iter().map(|&x| x as f64).collect()
            }
            TensorData::Empty if count == 0 => Vec::new(),
            _ => return None,
        };
        if vals.len() != count {
            return None;
        }
        Some(vals)
    }
}

fn decode_raw(dt: DataType, raw: &[u8], count: usize) -> Option<Vec<f64>> {
    let size = dt.elem_size()?;
    if raw.len() != count.checked_mul(size)? {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for c in raw.chunks_exact(size) {
        let v = match (dt.0, c) {
            (1, &[a, b, c2, d]) => f64::from(f32::from_le_bytes([a, b, c2, d])),
            (2, &[a]) => f64::from(a),
            (3, &[a]) => f64::from(a as i8),
            (9, &[a]) => f64::from(u8::from(a != 0)),
            (4, &[a, b]) => f64::from(u16::from_le_bytes([a, b])),
            (5, &[a, b]) => f64::from(i16::from_le_bytes([a, b])),
            (10, &[a, b]) => f16_to_f64(u16::from_le_bytes([a, b])),
            (16, &[a, b]) => f64::from(f32::from_bits(u32::from(u16::from_le_bytes([a, b])) << 16)),
            (6, &[a, b, c2, d]) => f64::from(i32::from_le_bytes([a, b, c2, d])),
            (12, &[a, b, c2, d]) => f64::from(u32::from_le_bytes([a, b, c2, d])),
            (7, &[a, b, c2, d, e, f, g, h]) => i64::from_le_bytes([a, b, c2, d, e, f, g, h]) as f64,
            (13, &[a, b, c2, d, e, f, g, h]) => {
                u64::from_le_bytes([a, b, c2, d, e, f, g, h]) as f64
            }
            (11, &[a, b, c2, d, e, f, g, h]) => f64::from_le_bytes([a, b, c2, d, e, f, g, h]),
            _ => return None,
        };
        out.push(v);
    }
    Some(out)
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_float_and_int_values_decode() {
        let mut raw = Vec::new();
        for v in [1.5f32, -2.0, 16.0] {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        let t = Tensor {
            name: "t".into(),
            data_type: DataType::FLOAT,
            dims: vec![3],
            data: TensorData::Raw(raw.into()),
        };
        assert_eq!(t.values_f64(10), Some(vec![1.5, -2.0, 16.0]));
        assert_eq!(t.values_f64(2), None, "element budget respected");
        let short = Tensor {
            dims: vec![4],
            ..t.clone()
        };
        assert_eq!(short.values_f64(10), None, "raw length must match dims");
        let neg = Tensor {
            dims: vec![-1],
            ..t
        };
        assert_eq!(neg.element_count(), None);
    }

    #[test]
    fn f16_decodes() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert!(f16_to_f64(0x7c00).is_infinite());
    }

    #[test]
    fn external_tensor_has_no_values() {
        let t = Tensor {
            name: "w".into(),
            data_type: DataType::FLOAT,
            dims: vec![2],
            data: TensorData::External(ExternalData {
                location: "w.bin".into(),
                ..Default::default()
            }),
        };
        assert!(t.is_external());
        assert_eq!(t.values_f64(10), None);
        assert_eq!(t.stored_len(), 0);
    }
}
