//! safetensors: an 8-byte little-endian header length, a JSON header describing every tensor
//! (`dtype`, `shape`, `data_offsets` relative to the data section) plus an optional
//! `__metadata__` map of strings, then the raw tensor bytes.
//!
//! [`parse`] validates everything the official loader validates (and a little more: duplicate
//! keys, unexpected fields, non-whitespace slack after the JSON), and reports every byte range
//! that belongs to no tensor, so the caller can scan what hides there. Fatal problems (no
//! readable header) are a [`HeaderError`]; everything else is an [`Issue`] next to the model.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::ops::Range;

/// Largest header accepted, as in the official implementation (100 MB).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// Why there is no usable header at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file is shorter than the 8-byte header length")]
    TooShort,
    #[error("header length {len} is larger than the {MAX_HEADER_LEN}-byte limit")]
    TooLarge { len: u64 },
    #[error("header length {len} runs past the end of the file ({available} bytes follow it)")]
    PastEnd { len: u64, available: u64 },
    #[error("header is not UTF-8")]
    NotUtf8,
    #[error("header is not valid JSON: {0}")]
    NotJson(String),
    #[error("header JSON is not an object")]
    NotObject,
}

/// A structural problem in an otherwise readable file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A top-level key appears twice; loaders disagree on which one wins.
    DuplicateKey {
        name: String,
    },
    /// A tensor entry is not an object with `dtype`, `shape`, `data_offsets`.
    BadEntry {
        name: String,
        reason: String,
    },
    /// A field the format does not define (`dtype`, `shape`, `data_offsets` only).
    UnexpectedField {
        name: String,
        field: String,
    },
    UnknownDtype {
        name: String,
        dtype: String,
    },
    /// `shape` × dtype size differs from the `data_offsets` length.
    SizeMismatch {
        name: String,
        expected: u64,
        actual: u64,
    },
    /// `data_offsets` end before they start or beyond the data section.
    OutOfBounds {
        name: String,
        start: u64,
        end: u64,
        data_len: u64,
    },
    /// Two tensors share bytes.
    Overlap {
        first: String,
        second: String,
    },
    /// `__metadata__` is not an object.
    MetadataNotObject,
    /// A `__metadata__` value is not a string.
    MetadataNotString {
        key: String,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issue::DuplicateKey { name } => write!(f, "header key {name:?} appears more than once"),
            Issue::BadEntry { name, reason } => write!(f, "tensor {name:?}: {reason}"),
            Issue::UnexpectedField { name, field } => {
                write!(f, "tensor {name:?} has an unexpected field {field:?}")
            }
            Issue::UnknownDtype { name, dtype } => {
                write!(f, "tensor {name:?} has unknown dtype {dtype:?}")
            }
            Issue::SizeMismatch {
                name,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "tensor {name:?}: shape and dtype need {expected} bytes but data_offsets span {actual}"
                )
            }
            Issue::OutOfBounds {
                name,
                start,
                end,
                data_len,
            } => {
                write!(
                    f,
                    "tensor {name:?}: data_offsets [{start}, {end}] are outside the {data_len}-byte data section"
                )
            }
            Issue::Overlap { first, second } => {
                write!(f, "tensors {first:?} and {second:?} overlap")
            }
            Issue::MetadataNotObject => f.write_str("__metadata__ is not an object of strings"),
            Issue::MetadataNotString { key } => {
                write!(f, "__metadata__ value {key:?} is not a string")
            }
        }
    }
}

/// Where unaccounted bytes sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenKind {
    /// Non-whitespace bytes after the JSON object, inside the declared header length.
    HeaderSlack,
    /// Bytes of the data section between tensors (or before the first one).
    Gap,
    /// Bytes after the last tensor.
    Trailing,
}

impl HiddenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HiddenKind::HeaderSlack => "header slack",
            HiddenKind::Gap => "gap between tensors",
            HiddenKind::Trailing => "trailing bytes",
        }
    }
}

/// A byte range of the file (absolute offsets) that belongs to no tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    pub kind: HiddenKind,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    /// Relative to the start of the data section.
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Safetensors {
    pub header_len: u64,
    /// Absolute offset of the data section (8 + header length).
    pub data_start: usize,
    pub tensors: Vec<Tensor>,
    /// String-valued `__metadata__` entries, in file order.
    pub metadata: Vec<(String, String)>,
    pub issues: Vec<Issue>,
    pub hidden: Vec<Hidden>,
}

/// Size of one element in bits, for the dtypes the official implementation knows.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// Top-level header entries in file order, duplicates kept.
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn u64_of(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Parse and validate a safetensors file.
pub fn parse(d: &[u8]) -> Result<Safetensors, HeaderError> {
    let len_bytes: [u8; 8] = d
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or(HeaderError::TooShort)?;
    let header_len = u64::from_le_bytes(len_bytes);
    let available = (d.len() as u64).saturating_sub(8);
    if header_len > MAX_HEADER_LEN {
        return Err(HeaderError::TooLarge { len: header_len });
    }
    if header_len > available {
        return Err(HeaderError::PastEnd {
            len: header_len,
            available,
        });
    }
    let header_end = usize::try_from(header_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .ok_or(HeaderError::TooLarge { len: header_len })?;
    let header = d.get(8..header_end).ok_or(HeaderError::PastEnd {
        len: header_len,
        available,
    })?;
    if std::str::from_utf8(header).is_err() {
        return Err(HeaderError::NotUtf8);
    }
    let mut stream = serde_json::Deserializer::from_slice(header).into_iter::<Value>();
    // First pass: is it JSON at all, and an object?
    match stream.next() {
        Some(Ok(Value::Object(_))) => {}
        Some(Ok(_)) => return Err(HeaderError::NotObject),
        Some(Err(e)) => return Err(HeaderError::NotJson(e.to_string())),
        None => return Err(HeaderError::NotJson("empty header".into())),
    }
    let json_end = stream.byte_offset();
    // Second pass keeps duplicate keys, which a map would silently merge.
    let mut de = serde_json::Deserializer::from_slice(header.get(..json_end).unwrap_or(&[]));
    let entries = <Entries as serde::Deserialize>::deserialize(&mut de)
        .map_err(|e| HeaderError::NotJson(e.to_string()))?;

    let data_len = (d.len() as u64).saturating_sub(header_end as u64);
    let mut out = Safetensors {
        header_len,
        data_start: header_end,
        tensors: Vec::new(),
        metadata: Vec::new(),
        issues: Vec::new(),
        hidden: Vec::new(),
    };
    if let Some(slack) = header.get(json_end..)
        && slack.iter().any(|b| !b.is_ascii_whitespace())
    {
        let start = 8usize.saturating_add(json_end);
        out.hidden.push(Hidden {
            kind: HiddenKind::HeaderSlack,
            range: start..header_end,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (name, value) in entries.0 {
        if !seen.insert(name.clone()) {
            out.issues.push(Issue::DuplicateKey { name: name.clone() });
        }
        if name == "__metadata__" {
            match value {
                Value::Object(m) => {
                    for (k, v) in m {
                        match v {
                            Value::String(s) => out.metadata.push((k, s)),
                            _ => out.issues.push(Issue::MetadataNotString { key: k }),
                        }
                    }
                }
                _ => out.issues.push(Issue::MetadataNotObject),
            }
            continue;
        }
        if let Some(t) = tensor_entry(&name, &value, data_len, &mut out.issues) {
            out.tensors.push(t);
        }
    }
    layout(&mut out, data_len);
    Ok(out)
}

fn tensor_entry(
    name: &str,
    value: &Value,
    data_len: u64,
    issues: &mut Vec<Issue>,
) -> Option<Tensor> {
    let bad = |reason: &str| Issue::BadEntry {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let Value::Object(obj) = value else {
        issues.push(bad("entry is not an object"));
        return None;
    };
    for field in obj.keys() {
        if !matches!(field.as_str(), "dtype" | "shape" | "data_offsets") {
            issues.push(Issue::UnexpectedField {
                name: name.to_string(),
                field: field.clone(),
            });
        }
    }
    let Some(dtype) = obj.get("dtype").and_then(Value::as_str) else {
        issues.push(bad("missing or non-string dtype"));
        return None;
    };
    let Some(shape_v) = obj.get("shape").and_then(Value::as_array) else {
        issues.push(bad("missing or non-array shape"));
        return None;
    };
    let mut shape = Vec::new();
    for s in shape_v {
        match u64_of(s) {
            Some(n) => shape.push(n),
            None => {
                issues.push(bad(
                    "shape holds a value that is not a non-negative integer",
                ));
                return None;
            }
        }
    }
    let offsets = obj.get("data_offsets").and_then(Value::as_array);
    let (start, end) = match offsets.map(|o| o.as_slice()) {
        Some([a, b]) => match (u64_of(a), u64_of(b)) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                issues.push(bad("data_offsets are not non-negative integers"));
                return None;
            }
        },
        _ => {
            issues.push(bad("data_offsets is not a pair of integers"));
            return None;
        }
    };
    let t = Tensor {
        name: name.to_string(),
        dtype: dtype.to_string(),
        shape,
        start,
        end,
    };
    if end < start || end > data_len {
        issues.push(Issue::OutOfBounds {
            name: name.to_string(),
            start,
            end,
            data_len,
        });
        return None;
    }
    match dtype_bits(dtype) {
        None => issues.push(Issue::UnknownDtype {
            name: name.to_string(),
            dtype: dtype.to_string(),
        }),
        Some(bits) => {
            let elems = t.shape.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n));
            let bytes = elems
                .and_then(|e| e.checked_mul(bits))
                .map(|b| if b % 8 == 0 { Some(b / 8) } else { None });
            match bytes {
                None => issues.push(bad("shape size overflows")),
                Some(None) => issues.push(bad("shape × dtype is not a whole number of bytes")),
                Some(Some(expected)) if expected != end - start => {
                    issues.push(Issue::SizeMismatch {
                        name: name.to_string(),
                        expected,
                        actual: end - start,
                    })
                }
                Some(Some(_)) => {}
            }
        }
    }
    Some(t)
}

/// Overlaps, gaps and trailing bytes of the data section.
fn layout(out: &mut Safetensors, data_len: u64) {
    let mut order: Vec<usize> = (0..out.tensors.len()).collect();
    order.sort_by_key(|&i| out.tensors.get(i).map(|t| (t.start, t.end)));
    let mut covered_to = 0u64;
    let mut last_name: Option<&str> = None;
    let base = out.data_start as u64;
    let mut hidden = Vec::new();
    let mut issues = Vec::new();
    for &i in &order {
        let Some(t) = out.tensors.get(i) else {
            continue;
        };
        if t.start < covered_to && t.end > t.start {
            issues.push(Issue::Overlap {
                first: last_name.unwrap_or("").to_string(),
                second: t.name.clone(),
            });
        } else if t.start > covered_to {
            push_range(&mut hidden, HiddenKind::Gap, base, covered_to, t.start);
        }
        if t.end > covered_to {
            covered_to = t.end;
            last_name = Some(&t.name);
        }
    }
    if data_len > covered_to {
        push_range(
            &mut hidden,
            HiddenKind::Trailing,
            base,
            covered_to,
            data_len,
        );
    }
    out.issues.extend(issues);
    out.hidden.extend(hidden);
}

fn push_range(v: &mut Vec<Hidden>, kind: HiddenKind, base: u64, start: u64, end: u64) {
    let abs = |x: u64| base.checked_add(x).and_then(|x| usize::try_from(x).ok());
    if let (Some(s), Some(e)) = (abs(start), abs(end)) {
        v.push(Hidden { kind, range: s..e });
    }
}

/// Build a safetensors file from a header and data (for tests and fixtures).
pub fn build(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn valid_file_parses_clean() {
        let f = build(
            r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]}}  "#,
            &[0u8; 12],
        );
        let s = parse(&f).unwrap();
        assert_eq!(s.tensors.len(), 2);
        assert_eq!(s.metadata, vec![("format".to_string(), "pt".to_string())]);
        assert!(s.issues.is_empty(), "{:?}", s.issues);
        assert!(s.hidden.is_empty(), "{:?}", s.hidden);
    }

    #[test]
    fn empty_and_scalar_tensors() {
        let f = build(
            r#"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#,
            &[1u8; 8],
        );
        let s = parse(&f).unwrap();
        assert!(s.issues.is_empty() && s.hidden.is_empty(), "{s:?}");
    }

    #[test]
    fn fatal_header_errors() {
        assert_eq!(parse(b"\x01\x00"), Err(HeaderError::TooShort));
        assert!(matches!(
            parse(&build("{", b"")),
            Err(HeaderError::NotJson(_))
        ));
        assert_eq!(parse(&build("[1]", b"")), Err(HeaderError::NotObject));
        let mut big = (u64::MAX).to_le_bytes().to_vec();
        big.push(b'{');
        assert!(matches!(parse(&big), Err(HeaderError::TooLarge { .. })));
        let mut past = 50u64.to_le_bytes().to_vec();
        past.extend_from_slice(b"{}");
        assert!(matches!(parse(&past), Err(HeaderError::PastEnd { .. })));
        let mut bad = 2u64.to_le_bytes().to_vec();
        bad.extend_from_slice(b"\xff\xfe");
        assert_eq!(parse(&bad), Err(HeaderError::NotUtf8));
    }

    #[test]
    fn size_dtype_bounds_and_overlap() {
        let f = build(
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]},"b":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"U8","shape":[9],"data_offsets":[0,9]},"d":{"dtype":"U8","shape":[1],"data_offsets":[5,4]},"e":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
            &[0u8; 8],
        );
        let s = parse(&f).unwrap();
        assert!(s.issues.iter().any(
            |i| matches!(i, Issue::SizeMismatch { name, expected: 12, actual: 8 } if name == "a")
        ));
        assert!(
            s.issues
                .iter()
                .any(|i| matches!(i, Issue::UnknownDtype { dtype, .. } if dtype == "Q4"))
        );
        assert!(
            s.issues
                .iter()
                .any(|i| matches!(i, Issue::OutOfBounds { name, .. } if name == "c"))
        );
        assert!(
            s.issues
                .iter()
                .any(|i| matches!(i, Issue::OutOfBounds { name, .. } if name == "d"))
        );
        assert!(
            s.issues
                .iter()
                .any(|i| matches!(i, Issue::BadEntry { name, .. } if name == "e"))
        );
        assert!(s.issues.iter().any(|i| matches!(i, Issue::Overlap { .. })));
    }

    #[test]
    fn gaps_trailing_and_slack_are_hidden_ranges() {
        let h = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}} XYZ"#;
        let f = build(h, b"\x80\x02N.ab..tail");
        let s = parse(&f).unwrap();
        let kinds: Vec<_> = s.hidden.iter().map(|h| h.kind).collect();
        assert_eq!(
            kinds,
            vec![
                HiddenKind::HeaderSlack,
                HiddenKind::Gap,
                HiddenKind::Trailing
            ]
        );
        let gap = &s.hidden[1];
        assert_eq!(&f[gap.range.clone()], b"\x80\x02N.");
        assert_eq!(&f[s.hidden[2].range.clone()], b"..tail");
        assert_eq!(&f[s.hidden[0].range.clone()], b" XYZ");
    }

    #[test]
    fn duplicates_unexpected_fields_and_metadata_types() {
        let h = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":1,"s":"v"}}"#;
        let s = parse(&build(h, b"z")).unwrap();
        assert!(s.issues.contains(&Issue::DuplicateKey { name: "a".into() }));
        assert!(s.issues.contains(&Issue::UnexpectedField {
            name: "a".into(),
            field: "x".into()
        }));
        assert!(
            s.issues
                .contains(&Issue::MetadataNotString { key: "k".into() })
        );
        assert_eq!(s.metadata.len(), 1);
        let s = parse(&build(r#"{"__metadata__":[1]}"#, b"")).unwrap();
        assert!(s.issues.contains(&Issue::MetadataNotObject));
    }

    #[test]
    fn sub_byte_dtypes() {
        let s = parse(&build(
            r#"{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#,
            b"ab",
        ))
        .unwrap();
        assert!(s.issues.is_empty());
        let s = parse(&build(
            r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            b"ab",
        ))
        .unwrap();
        assert!(matches!(s.issues.first(), Some(Issue::BadEntry { .. })));
    }

    #[test]
    fn garbage_never_panics() {
        let header =
            br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}"#;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in 0..4000usize {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 120) as usize;
            let mut v: Vec<u8> = (0..len)
                .map(|i| (seed.rotate_left(i as u32) & 0xff) as u8)
                .collect();
            if n % 3 == 0 {
                // Plausible prefix with a mutated header.
                let mut f = build(std::str::from_utf8(header).unwrap(), &[0u8; 8]);
                for (i, b) in v.iter().enumerate() {
                    let at = (usize::from(*b) * 7 + i) % f.len();
                    f[at] = *b;
                }
                v = f;
            }
            let _ = parse(&v);
            for cut in [0, 1, 7, 8, 9, v.len() / 2] {
                let _ = parse(v.get(..cut).unwrap_or(&v));
            }
        }
    }
}
