//! Datatype and dataspace messages: what an attribute's or dataset's elements are, and how
//! many there are.

use super::Error;
use super::cursor::{Cursor, Layout};

/// Deepest nesting of array / variable-length base types.
const MAX_TYPE_DEPTH: usize = 8;

/// An element type, reduced to what the reader decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datatype {
    Integer {
        size: u32,
        signed: bool,
        big_endian: bool,
    },
    Float {
        size: u32,
        big_endian: bool,
    },
    /// Fixed-length string of `size` bytes per element.
    FixedString {
        size: u32,
    },
    /// Variable-length string (stored in the global heap).
    VarString,
    /// Variable-length sequence of a base type.
    VarSequence(Box<Datatype>),
    Opaque {
        size: u32,
    },
    Array {
        dims: Vec<u32>,
        base: Box<Datatype>,
    },
    /// Any other class (time, bitfield, compound, reference, enum): class number and size.
    Other {
        class: u8,
        size: u32,
    },
}

impl Datatype {
    /// Bytes one element takes in an attribute's data.
    pub fn size(&self, layout_offset_size: usize) -> u64 {
        match self {
            Datatype::Integer { size, .. }
            | Datatype::Float { size, .. }
            | Datatype::FixedString { size }
            | Datatype::Opaque { size }
            | Datatype::Other { size, .. } => u64::from(*size),
            Datatype::VarString | Datatype::VarSequence(_) => 4 + layout_offset_size as u64 + 4,
            Datatype::Array { dims, base } => dims
                .iter()
                .try_fold(base.size(layout_offset_size), |acc, d| {
                    acc.checked_mul(u64::from(*d))
                })
                .unwrap_or(u64::MAX),
        }
    }

    /// A short description (`int32`, `float64`, `string[12]`, `vlen string`).
    pub fn describe(&self) -> String {
        match self {
            Datatype::Integer { size, signed, .. } => {
                let bits = u64::from(*size).saturating_mul(8);
                format!("{}int{bits}", if *signed { "" } else { "u" })
            }
            Datatype::Float { size, .. } => format!("float{}", u64::from(*size).saturating_mul(8)),
            Datatype::FixedString { size } => format!("string[{size}]"),
            Datatype::VarString => "vlen string".into(),
            Datatype::VarSequence(b) => format!("vlen {}", b.describe()),
            Datatype::Opaque { size } => format!("opaque[{size}]"),
            Datatype::Array { dims, base } => format!("{}{dims:?}", base.describe()),
            Datatype::Other { class, size } => format!("class{class}[{size}]"),
        }
    }
}

/// Parse a datatype message body.
pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<Datatype, Error> {
    parse_at_depth(c, 0)
}

fn parse_at_depth(c: &mut Cursor<'_>, depth: usize) -> Result<Datatype, Error> {
    let at = c.pos() as u64;
    if depth > MAX_TYPE_DEPTH {
        return Err(Error::Limit {
            what: "datatype nesting",
            limit: MAX_TYPE_DEPTH as u64,
        });
    }
    let class_version = c.u8("datatype class")?;
    let class = class_version & 0x0f;
    let version = class_version >> 4;
    let bits = c.bytes(3, "datatype bit field")?;
    let b0 = bits.first().copied().unwrap_or(0);
    let b1 = bits.get(1).copied().unwrap_or(0);
    let size = c.u32("datatype size")?;
    Ok(match class {
        0 => {
            c.skip(4, "integer properties")?;
            Datatype::Integer {
                size,
                signed: b0 & 0x08 != 0,
                big_endian: b0 & 0x01 != 0,
            }
        }
        1 => {
            c.skip(12, "float properties")?;
            Datatype::Float {
                size,
                big_endian: b0 & 0x01 != 0,
            }
        }
        3 => Datatype::FixedString { size },
        5 => {
            // Opaque: a NUL-padded ASCII tag whose length is the bit field's first byte.
            c.skip(usize::from(b0), "opaque tag")?;
            Datatype::Opaque { size }
        }
        9 => {
            let base = parse_at_depth(c, depth + 1)?;
            if b0 & 0x0f == 1 {
                let _ = b1; // padding and character set of the string
                Datatype::VarString
            } else {
                Datatype::VarSequence(Box::new(base))
            }
        }
        10 => {
            let rank = c.u8("array rank")?;
            if version < 3 {
                c.skip(3, "array reserved")?;
            }
            let mut dims = Vec::new();
            for _ in 0..rank {
                dims.push(c.u32("array dimension")?);
            }
            if version < 3 {
                c.skip(4 * usize::from(rank), "array permutation")?;
            }
            let base = parse_at_depth(c, depth + 1)?;
            Datatype::Array {
                dims,
                base: Box::new(base),
            }
        }
        2 | 4 | 6 | 7 | 8 => Datatype::Other { class, size },
        _ => {
            return Err(Error::Invalid {
                at,
                what: format!("datatype class {class}"),
            });
        }
    })
}

/// Parse a dataspace message body: the dimensions (empty for a scalar), or `None` for a
/// null dataspace (no elements).
pub(crate) fn parse_dataspace(
    c: &mut Cursor<'_>,
    layout: &Layout,
) -> Result<Option<Vec<u64>>, Error> {
    Ok(parse_dataspace_unlimited(c, layout)?.0)
}

/// Parse a dataspace message body: the dimensions as [`parse_dataspace`], and which of them
/// are unlimited (maximum size "unlimited").
pub(crate) fn parse_dataspace_unlimited(
    c: &mut Cursor<'_>,
    layout: &Layout,
) -> Result<(Option<Vec<u64>>, Vec<bool>), Error> {
    let at = c.pos() as u64;
    let version = c.u8("dataspace version")?;
    let rank = c.u8("dataspace rank")?;
    let flags = c.u8("dataspace flags")?;
    let null = match version {
        1 => {
            c.skip(5, "dataspace reserved")?;
            false
        }
        2 => c.u8("dataspace type")? == 2,
        v => {
            return Err(Error::Invalid {
                at,
                what: format!("dataspace version {v}"),
            });
        }
    };
    if rank > 32 {
        return Err(Error::Invalid {
            at,
            what: format!("dataspace rank {rank}"),
        });
    }
    let mut dims = Vec::new();
    for _ in 0..rank {
        dims.push(layout.length(c, "dataspace dimension")?);
    }
    let mut unlimited = vec![false; dims.len()];
    if flags & 1 != 0 {
        let all_ones = u64::MAX >> (64 - 8 * layout.length_size.clamp(1, 8));
        for u in unlimited.iter_mut() {
            *u = layout.length(c, "dataspace maximum dimension")? == all_ones;
        }
    }
    Ok(((!null).then_some(dims), unlimited))
}
