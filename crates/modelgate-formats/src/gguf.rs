//! GGUF (ggml's model format): magic, version, tensor and metadata counts, typed key/value
//! metadata (strings, scalars, arrays), tensor infos, then aligned tensor data.
//!
//! Every count and length is checked against the bytes that remain before anything is read
//! or allocated; large arrays are skipped over, not stored. Fatal problems end the parse with
//! a [`GgufError`]; per-tensor problems are [`TensorIssue`]s next to the parsed model.
//! Both byte orders are read (big-endian GGUF is recognised by its byte-swapped version).

use std::fmt;

/// Default `general.alignment`.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// Deepest array nesting read.
pub const MAX_ARRAY_DEPTH: u32 = 3;
/// String values longer than this are not kept (only their length and offset).
pub const MAX_KEPT_STRING: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GgufError {
    #[error("not a GGUF file (bad magic)")]
    BadMagic,
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("truncated at offset {offset:#x} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("{what} count {count} is more than the file could hold")]
    Count { what: &'static str, count: u64 },
    #[error("string length {len} at offset {offset:#x} runs past the end of the file")]
    StringLength { offset: usize, len: u64 },
    #[error("unknown metadata value type {ty} for key {key:?}")]
    ValueType { key: String, ty: u32 },
    #[error("array nested deeper than {MAX_ARRAY_DEPTH} levels in key {key:?}")]
    Nesting { key: String },
    #[error("metadata key {key:?} appears more than once")]
    DuplicateKey { key: String },
    #[error("general.alignment {0} is not a non-zero power of two")]
    Alignment(u64),
    #[error("tensor {name:?} has {n_dims} dimensions (at most {MAX_DIMS})")]
    Dims { name: String, n_dims: u32 },
}

/// Metadata value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_u32(t: u32) -> Option<ValueType> {
        Some(match t {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    /// Size of a fixed-size value, in bytes.
    fn fixed_size(self) -> Option<u64> {
        Some(match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => 1,
            ValueType::U16 | ValueType::I16 => 2,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 4,
            ValueType::U64 | ValueType::I64 | ValueType::F64 => 8,
            ValueType::String | ValueType::Array => return None,
        })
    }
}

/// A metadata value. Arrays keep only their element type and length.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i128),
    Float(f64),
    Bool(bool),
    /// A string; `text` is `None` when it was longer than [`MAX_KEPT_STRING`]. `valid_utf8`
    /// says whether the bytes were UTF-8 (otherwise `text` is a lossy copy).
    String {
        text: Option<String>,
        len: u64,
        offset: usize,
        valid_utf8: bool,
    },
    Array {
        elem: ValueType,
        len: u64,
    },
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String { text: Some(t), .. } => Some(t),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kv {
    pub key: String,
    /// Offset of the key in the file.
    pub offset: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    /// Relative to the start of the data section.
    pub offset: u64,
    /// Size in bytes, when the type is known and the shape consistent.
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TensorIssue {
    UnknownType {
        name: String,
        ggml_type: u32,
    },
    /// `ne[0]` is not a multiple of the type's block size.
    PartialBlock {
        name: String,
        block: u64,
    },
    SizeOverflow {
        name: String,
    },
    Misaligned {
        name: String,
        offset: u64,
        alignment: u64,
    },
    OutOfBounds {
        name: String,
        offset: u64,
        size: u64,
        data_len: u64,
    },
    Overlap {
        first: String,
        second: String,
    },
    DuplicateName {
        name: String,
    },
    /// The data section starts after the end of the file.
    NoDataSection {
        data_start: u64,
        file_len: u64,
    },
}

impl fmt::Display for TensorIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorIssue::UnknownType { name, ggml_type } => {
                write!(f, "tensor {name:?} has unknown ggml type {ggml_type}")
            }
            TensorIssue::PartialBlock { name, block } => write!(
                f,
                "tensor {name:?}: first dimension is not a multiple of the block size {block}"
            ),
            TensorIssue::SizeOverflow { name } => {
                write!(f, "tensor {name:?}: element count overflows")
            }
            TensorIssue::Misaligned {
                name,
                offset,
                alignment,
            } => write!(
                f,
                "tensor {name:?}: offset {offset} is not a multiple of the alignment {alignment}"
            ),
            TensorIssue::OutOfBounds {
                name,
                offset,
                size,
                data_len,
            } => {
                write!(
                    f,
                    "tensor {name:?}: {size} bytes at offset {offset} run past the {data_len}-byte data section"
                )
            }
            TensorIssue::Overlap { first, second } => {
                write!(f, "tensors {first:?} and {second:?} overlap")
            }
            TensorIssue::DuplicateName { name } => {
                write!(f, "tensor name {name:?} appears more than once")
            }
            TensorIssue::NoDataSection {
                data_start,
                file_len,
            } => write!(
                f,
                "data section would start at {data_start}, past the end of the {file_len}-byte file"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    pub version: u32,
    pub big_endian: bool,
    pub kvs: Vec<Kv>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute offset of the tensor data section.
    pub data_start: u64,
    /// Absolute end of the last tensor's data (aligned, clamped to the file); the file length
    /// when some tensor's extent is unknown.
    pub data_end: u64,
    pub issues: Vec<TensorIssue>,
}

impl Gguf {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kvs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
    }

    /// `tokenizer.chat_template` and `tokenizer.chat_template.<name>` entries.
    pub fn chat_templates(&self) -> impl Iterator<Item = (&str, &Kv)> {
        self.kvs.iter().filter_map(|kv| {
            let is_template = kv.key == "tokenizer.chat_template"
                || kv.key.starts_with("tokenizer.chat_template.");
            if is_template {
                kv.value.as_str().map(|t| (t, kv))
            } else {
                None
            }
        })
    }
}

/// ggml tensor types: (block size in elements, bytes per block).
pub fn ggml_type_size(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        39 => (32, 17),   // MXFP4
        _ => return None,
    })
}

struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
    be: bool,
    /// Width of counts and lengths: 4 bytes in v1, 8 later.
    wide: bool,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> u64 {
        self.d.len().saturating_sub(self.pos) as u64
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GgufError> {
        let end = self.pos.checked_add(n).ok_or(GgufError::Truncated {
            offset: self.pos,
            what,
        })?;
        let b = self.d.get(self.pos..end).ok_or(GgufError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.pos = end;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let b = self.take(N, what)?;
        let mut a: [u8; N] = b.try_into().map_err(|_| GgufError::Truncated {
            offset: self.pos,
            what,
        })?;
        if self.be {
            a.reverse();
        }
        Ok(a)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array::<4>(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array::<8>(what)?))
    }

    /// A count or length (u32 in v1, u64 later).
    fn len(&mut self, what: &'static str) -> Result<u64, GgufError> {
        if self.wide {
            self.u64(what)
        } else {
            self.u32(what).map(u64::from)
        }
    }

    fn string(
        &mut self,
        what: &'static str,
    ) -> Result<(Option<String>, u64, usize, bool), GgufError> {
        let offset = self.pos;
        let len = self.len(what)?;
        if len > self.remaining() {
            return Err(GgufError::StringLength { offset, len });
        }
        let n = usize::try_from(len).map_err(|_| GgufError::StringLength { offset, len })?;
        let bytes = self.take(n, what)?;
        let valid = std::str::from_utf8(bytes).is_ok();
        let text = (len <= MAX_KEPT_STRING).then(|| String::from_utf8_lossy(bytes).into_owned());
        Ok((text, len, offset, valid))
    }

    fn skip(&mut self, n: u64, what: &'static str) -> Result<(), GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                offset: self.pos,
                what,
            });
        }
        let n = usize::try_from(n).map_err(|_| GgufError::Truncated {
            offset: self.pos,
            what,
        })?;
        self.take(n, what).map(|_| ())
    }

    fn value(&mut self, ty: ValueType, key: &str, depth: u32) -> Result<Value, GgufError> {
        const W: &str = "metadata value";
        Ok(match ty {
            ValueType::U8 => Value::Int(i128::from(self.array::<1>(W)?[0])),
            ValueType::I8 => Value::Int(i128::from(i8::from_le_bytes(self.array::<1>(W)?))),
            ValueType::Bool => Value::Bool(self.array::<1>(W)?[0] != 0),
            ValueType::U16 => Value::Int(i128::from(u16::from_le_bytes(self.array::<2>(W)?))),
            ValueType::I16 => Value::Int(i128::from(i16::from_le_bytes(self.array::<2>(W)?))),
            ValueType::U32 => Value::Int(i128::from(u32::from_le_bytes(self.array::<4>(W)?))),
            ValueType::I32 => Value::Int(i128::from(i32::from_le_bytes(self.array::<4>(W)?))),
            ValueType::F32 => Value::Float(f64::from(f32::from_le_bytes(self.array::<4>(W)?))),
            ValueType::U64 => Value::Int(i128::from(u64::from_le_bytes(self.array::<8>(W)?))),
            ValueType::I64 => Value::Int(i128::from(i64::from_le_bytes(self.array::<8>(W)?))),
            ValueType::F64 => Value::Float(f64::from_le_bytes(self.array::<8>(W)?)),
            ValueType::String => {
                let (text, len, offset, valid_utf8) = self.string("metadata string")?;
                Value::String {
                    text,
                    len,
                    offset,
                    valid_utf8,
                }
            }
            ValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(GgufError::Nesting {
                        key: key.to_string(),
                    });
                }
                let t = self.u32("array type")?;
                let elem = ValueType::from_u32(t).ok_or(GgufError::ValueType {
                    key: key.to_string(),
                    ty: t,
                })?;
                let len = self.len("array length")?;
                // Every element takes at least this many bytes.
                let min = match elem.fixed_size() {
                    Some(s) => s,
                    None if elem == ValueType::String => {
                        if self.wide {
                            8
                        } else {
                            4
                        }
                    }
                    None => {
                        if self.wide {
                            12
                        } else {
                            8
                        }
                    }
                };
                if len
                    .checked_mul(min)
                    .is_none_or(|need| need > self.remaining())
                {
                    return Err(GgufError::Count {
                        what: "array element",
                        count: len,
                    });
                }
                match elem.fixed_size() {
                    Some(s) => self.skip(len.saturating_mul(s), "array data")?,
                    None => {
                        for _ in 0..len {
                            self.value(elem, key, depth + 1)?;
                        }
                    }
                }
                Value::Array { elem, len }
            }
        })
    }
}

fn align_up(x: u64, a: u64) -> Option<u64> {
    let r = x % a;
    if r == 0 {
        Some(x)
    } else {
        x.checked_add(a - r)
    }
}

/// Parse a GGUF file's header, metadata and tensor infos, and validate the tensor layout.
pub fn parse(d: &[u8]) -> Result<Gguf, GgufError> {
    if !d.starts_with(b"GGUF") {
        return Err(GgufError::BadMagic);
    }
    let vb: [u8; 4] = d
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .ok_or(GgufError::Truncated {
            offset: 4,
            what: "version",
        })?;
    let (version, be) = match (u32::from_le_bytes(vb), u32::from_be_bytes(vb)) {
        (v @ 1..=3, _) => (v, false),
        (_, v @ 2..=3) => (v, true),
        (v, _) => return Err(GgufError::Version(v)),
    };
    let mut r = Reader {
        d,
        pos: 8,
        be,
        wide: version >= 2,
    };
    let n_tensors = r.len("tensor count")?;
    let n_kv = r.len("metadata count")?;
    let kv_min = if r.wide { 8 + 4 + 1 } else { 4 + 4 + 1 };
    let tensor_min = if r.wide {
        8 + 4 + 8 + 4 + 8
    } else {
        4 + 4 + 4 + 4 + 8
    };
    if n_kv.checked_mul(kv_min).is_none_or(|n| n > r.remaining()) {
        return Err(GgufError::Count {
            what: "metadata",
            count: n_kv,
        });
    }
    if n_tensors
        .checked_mul(tensor_min)
        .is_none_or(|n| n > r.remaining())
    {
        return Err(GgufError::Count {
            what: "tensor",
            count: n_tensors,
        });
    }
    let mut kvs = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for _ in 0..n_kv {
        let offset = r.pos;
        let (key, _, _, _) = r.string("metadata key")?;
        let key = key.unwrap_or_default();
        let t = r.u32("value type")?;
        let ty = ValueType::from_u32(t).ok_or(GgufError::ValueType {
            key: key.clone(),
            ty: t,
        })?;
        let value = r.value(ty, &key, 0)?;
        if !keys.insert(key.clone()) {
            return Err(GgufError::DuplicateKey { key });
        }
        kvs.push(Kv { key, offset, value });
    }
    let alignment = match kvs.iter().find(|kv| kv.key == "general.alignment") {
        Some(kv) => {
            let a = kv.value.as_u64().unwrap_or(0);
            if a == 0 || !a.is_power_of_two() {
                return Err(GgufError::Alignment(a));
            }
            a
        }
        None => DEFAULT_ALIGNMENT,
    };
    let mut tensors = Vec::new();
    let mut issues = Vec::new();
    let mut names = std::collections::HashSet::new();
    for _ in 0..n_tensors {
        let (name, _, _, _) = r.string("tensor name")?;
        let name = name.unwrap_or_default();
        let n_dims = r.u32("tensor dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(GgufError::Dims { name, n_dims });
        }
        let mut dims = Vec::new();
        for _ in 0..n_dims {
            dims.push(r.len("tensor dimension")?);
        }
        let ggml_type = r.u32("tensor type")?;
        let offset = r.u64("tensor offset")?;
        if !names.insert(name.clone()) {
            issues.push(TensorIssue::DuplicateName { name: name.clone() });
        }
        let size = tensor_size(&name, &dims, ggml_type, &mut issues);
        if offset % alignment != 0 {
            issues.push(TensorIssue::Misaligned {
                name: name.clone(),
                offset,
                alignment,
            });
        }
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
            size,
        });
    }
    let file_len = d.len() as u64;
    let data_start = align_up(r.pos as u64, alignment).unwrap_or(u64::MAX);
    let mut data_end = data_start;
    if data_start > file_len {
        if !tensors.is_empty() {
            issues.push(TensorIssue::NoDataSection {
                data_start,
                file_len,
            });
        }
    } else {
        let data_len = file_len - data_start;
        let mut spans: Vec<(u64, u64, &str)> = Vec::new();
        // When a tensor's extent is unknown, where the data ends is unknown too.
        let mut layout_known = true;
        for t in &tensors {
            let Some(size) = t.size else {
                layout_known = false;
                continue;
            };
            match t.offset.checked_add(size) {
                Some(end) if end <= data_len => {
                    spans.push((t.offset, end, &t.name));
                    let aligned = align_up(end, alignment).unwrap_or(end).min(data_len);
                    data_end = data_end.max(data_start.saturating_add(aligned));
                }
                _ => {
                    layout_known = false;
                    issues.push(TensorIssue::OutOfBounds {
                        name: t.name.clone(),
                        offset: t.offset,
                        size,
                        data_len,
                    });
                }
            }
        }
        if !layout_known {
            data_end = file_len;
        }
        spans.sort();
        let mut prev: Option<(u64, &str)> = None;
        for (s, e, n) in spans {
            if let Some((pe, pn)) = prev
                && s < pe
                && e > s
            {
                issues.push(TensorIssue::Overlap {
                    first: pn.to_string(),
                    second: n.to_string(),
                });
            }
            if prev.is_none_or(|(pe, _)| e > pe) {
                prev = Some((e, n));
            }
        }
    }
    Ok(Gguf {
        version,
        big_endian: be,
        kvs,
        tensors,
        alignment,
        data_start,
        data_end,
        issues,
    })
}

fn tensor_size(
    name: &str,
    dims: &[u64],
    ggml_type: u32,
    issues: &mut Vec<TensorIssue>,
) -> Option<u64> {
    let Some((block, bytes)) = ggml_type_size(ggml_type) else {
        issues.push(TensorIssue::UnknownType {
            name: name.to_string(),
            ggml_type,
        });
        return None;
    };
    if dims.first().is_some_and(|ne0| ne0 % block != 0) {
        issues.push(TensorIssue::PartialBlock {
            name: name.to_string(),
            block,
        });
        return None;
    }
    let elems = dims.iter().try_fold(1u64, |a, &n| a.checked_mul(n));
    match elems.and_then(|e| (e / block).checked_mul(bytes)) {
        Some(s) => Some(s),
        None => {
            issues.push(TensorIssue::SizeOverflow {
                name: name.to_string(),
            });
            None
        }
    }
}

/// Writes GGUF v3 little-endian files (for tests and fixtures).
#[derive(Default)]
pub struct Builder {
    kvs: Vec<u8>,
    n_kv: u64,
    tensors: Vec<u8>,
    n_tensors: u64,
    data: Vec<u8>,
}

impl Builder {
    fn str(buf: &mut Vec<u8>, s: &str) {
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    }

    pub fn kv_str(mut self, key: &str, value: &str) -> Self {
        Self::str(&mut self.kvs, key);
        self.kvs.extend_from_slice(&8u32.to_le_bytes());
        Self::str(&mut self.kvs, value);
        self.n_kv += 1;
        self
    }

    pub fn kv_u32(mut self, key: &str, value: u32) -> Self {
        Self::str(&mut self.kvs, key);
        self.kvs.extend_from_slice(&4u32.to_le_bytes());
        self.kvs.extend_from_slice(&value.to_le_bytes());
        self.n_kv += 1;
        self
    }

    pub fn kv_raw(mut self, key: &str, ty: u32, raw: &[u8]) -> Self {
        Self::str(&mut self.kvs, key);
        self.kvs.extend_from_slice(&ty.to_le_bytes());
        self.kvs.extend_from_slice(raw);
        self.n_kv += 1;
        self
    }

    /// A tensor at an explicit offset; `data` is appended to the data section.
    pub fn tensor(mut self, name: &str, dims: &[u64], ggml_type: u32, offset: u64) -> Self {
        Self::str(&mut self.tensors, name);
        self.tensors
            .extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend_from_slice(&d.to_le_bytes());
        }
        self.tensors.extend_from_slice(&ggml_type.to_le_bytes());
        self.tensors.extend_from_slice(&offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    pub fn data(mut self, bytes: &[u8]) -> Self {
        self.data.extend_from_slice(bytes);
        self
    }

    pub fn build(self) -> Vec<u8> {
        let mut v = b"GGUF".to_vec();
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&self.n_tensors.to_le_bytes());
        v.extend_from_slice(&self.n_kv.to_le_bytes());
        v.extend_from_slice(&self.kvs);
        v.extend_from_slice(&self.tensors);
        while !v.len().is_multiple_of(32) {
            v.push(0);
        }
        v.extend_from_slice(&self.data);
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        Builder::default()
            .kv_str("general.architecture", "llama")
            .kv_str("tokenizer.chat_template", "{{ messages }}")
            .kv_raw(
                "tokenizer.ggml.scores",
                9,
                &[&6u32.to_le_bytes()[..], &2u64.to_le_bytes(), &[0u8; 8]].concat(),
            )
            .tensor("a", &[4, 2], 0, 0)
            .tensor("b", &[32], 8, 32)
            .data(&[0u8; 32 + 34])
            .build()
    }

    #[test]
    fn parses_builder_output() {
        let g = parse(&sample()).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.kvs.len(), 3);
        assert_eq!(g.tensors.len(), 2);
        assert_eq!(g.tensors[1].size, Some(34));
        assert!(g.issues.is_empty(), "{:?}", g.issues);
        assert_eq!(g.chat_templates().count(), 1);
        assert_eq!(
            g.get("tokenizer.ggml.scores"),
            Some(&Value::Array {
                elem: ValueType::F32,
                len: 2
            })
        );
        assert_eq!(
            g.data_end,
            g.data_start + 66,
            "aligned end is clamped to the file"
        );
    }

    #[test]
    fn huge_counts_and_lengths_are_rejected_without_allocating() {
        let mut f = b"GGUF\x03\x00\x00\x00".to_vec();
        f.extend_from_slice(&u64::MAX.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        assert!(matches!(
            parse(&f),
            Err(GgufError::Count { what: "tensor", .. })
        ));
        let f = Builder::default()
            .kv_raw("k", 8, &u64::MAX.to_le_bytes())
            .build();
        assert!(matches!(parse(&f), Err(GgufError::StringLength { .. })));
        let f = Builder::default()
            .kv_raw(
                "k",
                9,
                &[&0u32.to_le_bytes()[..], &(u64::MAX / 2).to_le_bytes()].concat(),
            )
            .build();
        assert!(matches!(
            parse(&f),
            Err(GgufError::Count {
                what: "array element",
                ..
            })
        ));
        let f = Builder::default().kv_raw("k", 99, &[]).build();
        assert!(matches!(
            parse(&f),
            Err(GgufError::ValueType { ty: 99, .. })
        ));
    }

    #[test]
    fn header_errors() {
        assert_eq!(parse(b"GGML"), Err(GgufError::BadMagic));
        assert!(matches!(
            parse(b"GGUF\x07\x00\x00\x00"),
            Err(GgufError::Version(7))
        ));
        assert!(matches!(
            parse(b"GGUF\x03\x00"),
            Err(GgufError::Truncated { .. })
        ));
        let f = Builder::default().kv_str("a", "x").kv_str("a", "y").build();
        assert!(matches!(parse(&f), Err(GgufError::DuplicateKey { .. })));
        let f = Builder::default().kv_u32("general.alignment", 24).build();
        assert_eq!(parse(&f), Err(GgufError::Alignment(24)));
        let f = Builder::default()
            .tensor("t", &[1, 1, 1, 1, 1], 0, 0)
            .build();
        assert!(matches!(parse(&f), Err(GgufError::Dims { n_dims: 5, .. })));
    }

    #[test]
    fn nested_arrays_are_bounded() {
        // array of arrays of arrays of arrays of u8
        let mut raw = Vec::new();
        for _ in 0..4 {
            raw.extend_from_slice(&9u32.to_le_bytes());
            raw.extend_from_slice(&1u64.to_le_bytes());
        }
        raw.extend_from_slice(&[0u8; 16]);
        let f = Builder::default().kv_raw("k", 9, &raw).build();
        assert!(matches!(parse(&f), Err(GgufError::Nesting { .. })));
    }

    #[test]
    fn tensor_layout_issues() {
        let f = Builder::default()
            .tensor("a", &[8], 0, 0)
            .tensor("a", &[8], 0, 16)
            .tensor("m", &[1], 0, 3)
            .tensor("u", &[1], 77, 64)
            .tensor("q", &[31], 8, 64)
            .tensor("big", &[1 << 40], 0, 64)
            .data(&[0u8; 96])
            .build();
        let g = parse(&f).unwrap();
        let has = |p: &dyn Fn(&TensorIssue) -> bool| g.issues.iter().any(p);
        assert!(has(&|i| matches!(i, TensorIssue::DuplicateName { .. })));
        assert!(has(&|i| matches!(i, TensorIssue::Overlap { .. })));
        assert!(has(&|i| matches!(
            i,
            TensorIssue::Misaligned { offset: 3, .. }
        )));
        assert!(has(&|i| matches!(
            i,
            TensorIssue::UnknownType { ggml_type: 77, .. }
        )));
        assert!(has(&|i| matches!(i, TensorIssue::PartialBlock { .. })));
        assert!(has(
            &|i| matches!(i, TensorIssue::OutOfBounds { name, .. } if name == "big")
        ));
    }

    #[test]
    fn version_one_and_big_endian() {
        // v1: u32 counts and lengths.
        let mut f = b"GGUF\x01\x00\x00\x00".to_vec();
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(b"k");
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&7u32.to_le_bytes());
        let g = parse(&f).unwrap();
        assert_eq!(g.get("k"), Some(&Value::Int(7)));
        // big-endian v3.
        let mut f = b"GGUF".to_vec();
        f.extend_from_slice(&3u32.to_be_bytes());
        f.extend_from_slice(&0u64.to_be_bytes());
        f.extend_from_slice(&1u64.to_be_bytes());
        f.extend_from_slice(&1u64.to_be_bytes());
        f.extend_from_slice(b"k");
        f.extend_from_slice(&4u32.to_be_bytes());
        f.extend_from_slice(&9u32.to_be_bytes());
        let g = parse(&f).unwrap();
        assert!(g.big_endian);
        assert_eq!(g.get("k"), Some(&Value::Int(9)));
    }

    #[test]
    fn garbage_never_panics() {
        let base = sample();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..5000usize {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut v = base.clone();
            if n % 4 == 0 {
                v = (0..(seed % 200) as usize)
                    .map(|i| (seed >> (i % 56)) as u8)
                    .collect();
                if n % 8 == 0 {
                    v.splice(0..0, b"GGUF\x03\x00\x00\x00".iter().copied());
                }
            } else {
                for k in 0..(1 + seed % 6) {
                    let at = ((seed >> (k * 8)) as usize) % v.len();
                    v[at] = (seed >> (k * 3)) as u8;
                }
            }
            let _ = parse(&v);
            let cut = (seed as usize) % (v.len() + 1);
            let _ = parse(&v[..cut]);
        }
    }
}
