//! Attribute messages (versions 1-3, compact storage) and the decoding of their values.

use super::cursor::{Cursor, Layout};
use super::datatype::{self, Datatype};
use super::global_heap::GlobalHeap;
use super::object_header::{MSG_DATASPACE, MSG_DATATYPE};
use super::shared::Resolver;
use super::{Error, Limits};

/// A decoded attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Strings (fixed or variable length), raw bytes with padding removed.
    Strings(Vec<Vec<u8>>),
    Integers(Vec<i64>),
    Floats(Vec<f64>),
    /// Opaque data or anything not decoded element by element: the raw bytes.
    Bytes(Vec<u8>),
    /// No elements (null dataspace).
    Empty,
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub datatype: Datatype,
    /// Dimensions (empty for a scalar).
    pub shape: Vec<u64>,
    pub value: Value,
    /// Absolute position of the attribute message.
    pub at: u64,
}

impl Attribute {
    /// The value as one string, when it is a single string (`model_config`).
    pub fn as_str(&self) -> Option<String> {
        match &self.value {
            Value::Strings(v) if v.len() == 1 => {
                v.first().map(|s| String::from_utf8_lossy(s).into_owned())
            }
            _ => None,
        }
    }

    /// Every string element, lossily decoded.
    pub fn strings(&self) -> Vec<String> {
        match &self.value {
            Value::Strings(v) => v
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Bytes left to decode for the whole file.
pub(crate) struct ValueBudget {
    pub(crate) left: u64,
}

fn pad8(n: usize) -> usize {
    n.checked_add(7).map_or(usize::MAX, |p| p & !7)
}

/// Parse an attribute message body.
/// Parse an attribute message at `c`, leaving `c` just past it.
pub(crate) fn parse(
    data: &[u8],
    layout: &Layout,
    c: &mut Cursor<'_>,
    heap: &mut GlobalHeap,
    budget: &mut ValueBudget,
    limits: &Limits,
    shared: &mut Resolver<'_>,
) -> Result<Attribute, Error> {
    let at = c.pos();
    let version = c.u8("attribute version")?;
    let flags = c.u8("attribute flags")?;
    let name_len = usize::from(c.u16("attribute name size")?);
    let type_len = usize::from(c.u16("attribute datatype size")?);
    let space_len = usize::from(c.u16("attribute dataspace size")?);
    let padded = |n: usize| if version == 1 { pad8(n) } else { n };
    match version {
        1 | 2 => {}
        3 => c.skip(1, "attribute name encoding")?,
        v => {
            return Err(Error::Invalid {
                at: at as u64,
                what: format!("attribute message version {v}"),
            });
        }
    }
    let name = c.bytes(padded(name_len), "attribute name")?;
    let name = name.get(..name_len).unwrap_or(name);
    let name = name.split(|b| *b == 0).next().unwrap_or(name);
    let name = String::from_utf8_lossy(name).into_owned();
    let mut type_cursor = c.take(padded(type_len), "attribute datatype")?;
    let mut space_cursor = c.take(padded(space_len), "attribute dataspace")?;
    let value_bytes = c.rest();
    // Flag bits 0 and 1: the datatype / dataspace field is a shared-message reference.
    let dtype = if flags & 0x01 != 0 {
        datatype::parse(&mut shared.resolve(MSG_DATATYPE, type_cursor)?.cursor())?
    } else {
        datatype::parse(&mut type_cursor)?
    };
    let shape = if flags & 0x02 != 0 {
        datatype::parse_dataspace(
            &mut shared.resolve(MSG_DATASPACE, space_cursor)?.cursor(),
            layout,
        )?
    } else {
        datatype::parse_dataspace(&mut space_cursor, layout)?
    };
    let (value, used) = match &shape {
        None => (Value::Empty, 0),
        Some(dims) => decode(
            data,
            layout,
            &dtype,
            dims,
            value_bytes,
            at,
            heap,
            budget,
            limits,
        )?,
    };
    c.skip(used, "attribute value")?;
    Ok(Attribute {
        name,
        datatype: dtype,
        shape: shape.unwrap_or_default(),
        value,
        at: at as u64,
    })
}

/// Number of elements of a dataspace (1 for a scalar).
pub(crate) fn element_count(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d))
}

#[allow(clippy::too_many_arguments)]
fn decode(
    data: &[u8],
    layout: &Layout,
    dtype: &Datatype,
    dims: &[u64],
    raw: &[u8],
    at: usize,
    heap: &mut GlobalHeap,
    budget: &mut ValueBudget,
    limits: &Limits,
) -> Result<(Value, usize), Error> {
    let count = element_count(dims)
        .filter(|n| *n <= limits.max_elements)
        .ok_or(Error::Limit {
            what: "elements in one attribute",
            limit: limits.max_elements,
        })?;
    // Arrays are decoded as their flattened base type.
    let (elem, count) = match dtype {
        Datatype::Array { dims: inner, base } => {
            let n = inner
                .iter()
                .try_fold(count, |acc, d| acc.checked_mul(u64::from(*d)))
                .filter(|n| *n <= limits.max_elements)
                .ok_or(Error::Limit {
                    what: "elements in one attribute",
                    limit: limits.max_elements,
                })?;
            (base.as_ref(), n)
        }
        other => (other, count),
    };
    let size = elem.size(layout.offset_size);
    let total = size.checked_mul(count).ok_or(Error::Invalid {
        at: at as u64,
        what: "attribute size overflows".into(),
    })?;
    let bytes = raw
        .get(..usize::try_from(total).unwrap_or(usize::MAX))
        .ok_or(Error::Truncated {
            at: at as u64,
            what: "attribute value (shorter than its type and shape say)",
        })?;
    let spend = |budget: &mut ValueBudget, n: u64| -> Result<(), Error> {
        budget.left = budget.left.checked_sub(n).ok_or(Error::Limit {
            what: "attribute bytes decoded for the file",
            limit: limits.max_value_bytes,
        })?;
        Ok(())
    };
    spend(budget, total)?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let chunks = || bytes.chunks_exact(size.max(1));
    let value = match elem {
        Datatype::Integer {
            size: s @ (1 | 2 | 4 | 8),
            signed,
            big_endian,
        } => Value::Integers(chunks().map(|b| int(b, *s, *signed, *big_endian)).collect()),
        Datatype::Float {
            size: 4 | 8,
            big_endian,
        } => Value::Floats(chunks().map(|b| float(b, *big_endian)).collect()),
        Datatype::FixedString { .. } if size > 0 => Value::Strings(
            chunks()
                .map(|b| {
                    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
                    let s = b.get(..end).unwrap_or(b);
                    let trimmed = s.iter().rposition(|x| *x != b' ').map_or(0, |i| i + 1);
                    s.get(..trimmed).unwrap_or(s).to_vec()
                })
                .collect(),
        ),
        Datatype::VarString => {
            let mut out = Vec::new();
            for b in chunks() {
                let mut c = Cursor::new(b, 0);
                let _len = c.u32("vlen length")?;
                let addr = layout.addr(&mut c, "vlen global heap address")?;
                let index = c.u32("vlen global heap index")?;
                let s = match addr {
                    None => Vec::new(),
                    Some(_) if index == 0 => Vec::new(),
                    Some(addr) => {
                        let s = heap.get(data, layout, addr, index)?;
                        spend(budget, s.len() as u64)?;
                        let end = s.iter().position(|x| *x == 0).unwrap_or(s.len());
                        s.get(..end).unwrap_or(s).to_vec()
                    }
                };
                out.push(s);
            }
            Value::Strings(out)
        }
        _ => Value::Bytes(bytes.to_vec()),
    };
    Ok((value, bytes.len()))
}

fn int(b: &[u8], size: u32, signed: bool, big_endian: bool) -> i64 {
    let mut v: u64 = 0;
    let bytes: Vec<u8> = if big_endian {
        b.to_vec()
    } else {
        b.iter().rev().copied().collect()
    };
    for x in &bytes {
        v = (v << 8) | u64::from(*x);
    }
    let bits = size * 8;
    if signed && bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        i64::try_from(v).unwrap_or(if signed { v as i64 } else { i64::MAX })
    }
}

fn float(b: &[u8], big_endian: bool) -> f64 {
    match b.len() {
        4 => {
            let a = <[u8; 4]>::try_from(b).unwrap_or([0; 4]);
            f64::from(if big_endian {
                f32::from_be_bytes(a)
            } else {
                f32::from_le_bytes(a)
            })
        }
        _ => {
            let a = <[u8; 8]>::try_from(b).unwrap_or([0; 8]);
            if big_endian {
                f64::from_be_bytes(a)
            } else {
                f64::from_le_bytes(a)
            }
        }
    }
}
