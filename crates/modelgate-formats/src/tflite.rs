//! TFLite models: a hand-written, bounds-checked walk of the FlatBuffers tables of
//! `schema.fbs` (file identifier `TFL3`) for what a security scan needs.
//!
//! Read: `Model{0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers,
//! 6 metadata, 7 signature_defs}`, `OperatorCode{0 deprecated_builtin_code, 1 custom_code,
//! 2 version, 3 builtin_code}`, `SubGraph{3 operators, 4 name}`, `Operator{0 opcode_index,
//! 5 custom_options}`, `Buffer{0 data, 1 offset, 2 size}`, `Metadata{0 name, 1 buffer}`,
//! `SignatureDef{2 signature_key, 4 subgraph_index}` (numbers are field slots).
//!
//! FlatBuffers rules checked: every offset lands inside the input, vtables are inside the
//! input and their entries inside the table, vector lengths fit in the bytes that remain,
//! strings are NUL-terminated. References (`uoffset`) only point forward, so the walk cannot
//! loop; counts are capped by [`TfliteLimits`].

use std::ops::Range;

/// `BuiltinOperator.CUSTOM`.
pub const BUILTIN_CUSTOM: i32 = 32;
/// `BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES`.
const PLACEHOLDER_FOR_GREATER_OP_CODES: i32 = 127;

#[derive(Debug, Clone)]
pub struct TfliteLimits {
    pub max_subgraphs: usize,
    pub max_operators: usize,
    pub max_operator_codes: usize,
    pub max_buffers: usize,
    pub max_metadata: usize,
}

impl Default for TfliteLimits {
    fn default() -> Self {
        TfliteLimits {
            max_subgraphs: 10_000,
            max_operators: 2_000_000,
            max_operator_codes: 100_000,
            max_buffers: 2_000_000,
            max_metadata: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TfliteError {
    #[error("no TFL3 file identifier at offset 4")]
    Identifier,
    #[error("{what} at offset {offset:#x} points outside the file")]
    OutOfBounds { offset: usize, what: &'static str },
    #[error("{what} at offset {offset:#x} has a bad vtable")]
    VTable { offset: usize, what: &'static str },
    #[error("{what} count {count} at offset {offset:#x} is more than the file could hold")]
    Count {
        offset: usize,
        what: &'static str,
        count: u64,
    },
    #[error("string at offset {offset:#x} is not NUL-terminated inside the file")]
    String { offset: usize },
    #[error("{what} count {count} exceeds the limit of {limit}")]
    Limit {
        what: &'static str,
        count: usize,
        limit: usize,
    },
}

/// One entry of `operator_codes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorCode {
    /// The effective builtin code (`max(deprecated_builtin_code, builtin_code)`).
    pub builtin: i32,
    pub custom_code: Option<String>,
    pub version: i32,
}

impl OperatorCode {
    pub fn is_custom(&self) -> bool {
        self.builtin == BUILTIN_CUSTOM
    }
}

/// One operator of a subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub opcode_index: u32,
    /// Byte range of `custom_options` in the file.
    pub custom_options: Option<Range<usize>>,
    /// Offset of the operator table.
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subgraph {
    pub name: String,
    pub operators: Vec<Operator>,
}

/// A `Buffer`: inline data, or (models over 2 GiB) an offset/size into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferData {
    Inline(Range<usize>),
    External { offset: u64, size: u64 },
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub buffer: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TfliteModel {
    pub version: u32,
    pub description: String,
    pub operator_codes: Vec<OperatorCode>,
    pub subgraphs: Vec<Subgraph>,
    pub buffers: Vec<BufferData>,
    pub metadata: Vec<Metadata>,
    pub signatures: Vec<String>,
}

impl TfliteModel {
    /// The byte range of buffer `index`, if it is inline or points inside the file.
    pub fn buffer_range(&self, index: u32, file_len: usize) -> Option<Range<usize>> {
        match self.buffers.get(usize::try_from(index).ok()?)? {
            BufferData::Inline(r) => Some(r.clone()),
            BufferData::External { offset, size } => {
                let start = usize::try_from(*offset).ok()?;
                let end = start.checked_add(usize::try_from(*size).ok()?)?;
                (end <= file_len).then_some(start..end)
            }
            BufferData::Empty => None,
        }
    }
}

/// Whether `data` carries the TFLite identifier.
pub fn is_tflite(data: &[u8]) -> bool {
    data.get(4..8) == Some(b"TFL3")
}

/// A bounds-checked view of the flatbuffer.
struct Buf<'a> {
    d: &'a [u8],
}

/// A table: its position and its vtable.
#[derive(Clone, Copy)]
struct Table {
    pos: usize,
    vt: usize,
    vt_len: usize,
    tbl_len: usize,
}

impl<'a> Buf<'a> {
    fn bytes<const N: usize>(&self, at: usize, what: &'static str) -> Result<[u8; N], TfliteError> {
        let end = at.checked_add(N);
        end.and_then(|e| self.d.get(at..e))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(TfliteError::OutOfBounds { offset: at, what })
    }
    fn u16(&self, at: usize, what: &'static str) -> Result<u16, TfliteError> {
        self.bytes::<2>(at, what).map(u16::from_le_bytes)
    }
    fn u32(&self, at: usize, what: &'static str) -> Result<u32, TfliteError> {
        self.bytes::<4>(at, what).map(u32::from_le_bytes)
    }

    /// Follow the `uoffset` stored at `at`.
    fn deref(&self, at: usize, what: &'static str) -> Result<usize, TfliteError> {
        let off = self.u32(at, what)?;
        let target = usize::try_from(off)
            .ok()
            .and_then(|o| at.checked_add(o))
            .filter(|t| *t < self.d.len())
            .ok_or(TfliteError::OutOfBounds { offset: at, what })?;
        Ok(target)
    }

    fn table(&self, pos: usize, what: &'static str) -> Result<Table, TfliteError> {
        let soff = i64::from(i32::from_le_bytes(self.bytes::<4>(pos, what)?));
        let vt = i64::try_from(pos)
            .ok()
            .and_then(|p| p.checked_sub(soff))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or(TfliteError::VTable { offset: pos, what })?;
        let vt_len = usize::from(self.u16(vt, what)?);
        let tbl_len = usize::from(self.u16(vt.saturating_add(2), what)?);
        let bad = TfliteError::VTable { offset: pos, what };
        if vt_len < 4 || vt_len % 2 != 0 || tbl_len < 4 {
            return Err(bad);
        }
        if vt.checked_add(vt_len).is_none_or(|e| e > self.d.len())
            || pos.checked_add(tbl_len).is_none_or(|e| e > self.d.len())
        {
            return Err(bad);
        }
        Ok(Table {
            pos,
            vt,
            vt_len,
            tbl_len,
        })
    }

    /// Absolute position of field `slot` of `t`, if present; `size` bytes must fit in the table.
    fn field(
        &self,
        t: Table,
        slot: usize,
        size: usize,
        what: &'static str,
    ) -> Result<Option<usize>, TfliteError> {
        let entry = slot
            .checked_mul(2)
            .and_then(|s| s.checked_add(4))
            .unwrap_or(usize::MAX);
        if entry.saturating_add(2) > t.vt_len {
            return Ok(None);
        }
        let off = usize::from(self.u16(t.vt.saturating_add(entry), what)?);
        if off == 0 {
            return Ok(None);
        }
        if off.checked_add(size).is_none_or(|e| e > t.tbl_len) {
            return Err(TfliteError::VTable {
                offset: t.pos,
                what,
            });
        }
        Ok(Some(t.pos.saturating_add(off)))
    }

    fn scalar_u32(
        &self,
        t: Table,
        slot: usize,
        default: u32,
        what: &'static str,
    ) -> Result<u32, TfliteError> {
        match self.field(t, slot, 4, what)? {
            Some(p) => self.u32(p, what),
            None => Ok(default),
        }
    }

    fn scalar_u64(&self, t: Table, slot: usize, what: &'static str) -> Result<u64, TfliteError> {
        match self.field(t, slot, 8, what)? {
            Some(p) => self.bytes::<8>(p, what).map(u64::from_le_bytes),
            None => Ok(0),
        }
    }

    /// A vector field: (position of the first element, length), with `elem` bytes per element.
    fn vector(
        &self,
        t: Table,
        slot: usize,
        elem: usize,
        what: &'static str,
    ) -> Result<Option<(usize, usize)>, TfliteError> {
        let Some(p) = self.field(t, slot, 4, what)? else {
            return Ok(None);
        };
        let v = self.deref(p, what)?;
        let n = self.u32(v, what)?;
        let start = v.saturating_add(4);
        let count = usize::try_from(n).unwrap_or(usize::MAX);
        let fits = count
            .checked_mul(elem)
            .and_then(|b| start.checked_add(b))
            .is_some_and(|e| e <= self.d.len());
        if !fits {
            return Err(TfliteError::Count {
                offset: v,
                what,
                count: u64::from(n),
            });
        }
        Ok(Some((start, count)))
    }

    /// The tables of a vector-of-tables field.
    fn tables(
        &self,
        t: Table,
        slot: usize,
        max: usize,
        what: &'static str,
    ) -> Result<Vec<Table>, TfliteError> {
        let Some((start, n)) = self.vector(t, slot, 4, what)? else {
            return Ok(Vec::new());
        };
        if n > max {
            return Err(TfliteError::Limit {
                what,
                count: n,
                limit: max,
            });
        }
        let mut out = Vec::new();
        for i in 0..n {
            let at = start.saturating_add(i.saturating_mul(4));
            let pos = self.deref(at, what)?;
            out.push(self.table(pos, what)?);
        }
        Ok(out)
    }

    fn string(
        &self,
        t: Table,
        slot: usize,
        what: &'static str,
    ) -> Result<Option<String>, TfliteError> {
        let Some((start, n)) = self.vector(t, slot, 1, what)? else {
            return Ok(None);
        };
        let end = start.saturating_add(n);
        if self.d.get(end) != Some(&0) {
            return Err(TfliteError::String { offset: start });
        }
        let bytes = self.d.get(start..end).unwrap_or_default();
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn byte_vector(
        &self,
        t: Table,
        slot: usize,
        what: &'static str,
    ) -> Result<Option<Range<usize>>, TfliteError> {
        Ok(self
            .vector(t, slot, 1, what)?
            .map(|(start, n)| start..start.saturating_add(n)))
    }
}

/// Most bytes of a Flex op's custom options searched for its `NodeDef`.
const MAX_FLEX_OPTIONS: usize = 1 << 20;

/// The serialized TensorFlow `NodeDef` inside a Flex op's custom options, and its offset in
/// `options`. The options are a FlexBuffer vector `[op name, NodeDef bytes]`; the NodeDef is
/// found as a FlexBuffer string (length prefix of 1, 2 or 4 bytes, NUL after it) whose bytes
/// start with the node's (optional, the converter leaves it out) name and then `op`.
pub fn flex_node_def<'a>(options: &'a [u8], op: &str) -> Option<(&'a [u8], usize)> {
    let window = options.get(..options.len().min(MAX_FLEX_OPTIONS))?;
    for i in 1..window.len() {
        if !matches!(window.get(i), Some(&0x0a) | Some(&0x12)) {
            continue;
        }
        for width in [1usize, 2, 4] {
            let Some(prefix) = i.checked_sub(width).and_then(|s| window.get(s..i)) else {
                continue;
            };
            let len = prefix
                .iter()
                .rev()
                .fold(0usize, |acc, b| acc.wrapping_shl(8) | usize::from(*b));
            let Some(body) = i.checked_add(len).and_then(|e| {
                (window.get(e) == Some(&0))
                    .then(|| window.get(i..e))
                    .flatten()
            }) else {
                continue;
            };
            if starts_with_name_then_op(body, op) {
                return Some((body, i));
            }
        }
    }
    None
}

/// `[0a <len> name] 12 <len> op`: a NodeDef's first fields, cheaply.
fn starts_with_name_then_op(body: &[u8], op: &str) -> bool {
    let field = |pos: usize, key: u8| -> Option<(&[u8], usize)> {
        if body.get(pos) != Some(&key) {
            return None;
        }
        let (len, start) = crate::tf::wire::varint(body, pos.checked_add(1)?)?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        Some((body.get(start..end)?, end))
    };
    let op_at = field(0, 0x0a).map_or(0, |(_, end)| end);
    match field(op_at, 0x12) {
        Some((found, _)) => found == op.as_bytes(),
        None => false,
    }
}

/// Parse a TFLite flatbuffer.
pub fn parse(data: &[u8], limits: &TfliteLimits) -> Result<TfliteModel, TfliteError> {
    if !is_tflite(data) {
        return Err(TfliteError::Identifier);
    }
    let b = Buf { d: data };
    let root = b.deref(0, "root table")?;
    let m = b.table(root, "Model")?;
    let mut model = TfliteModel {
        version: b.scalar_u32(m, 0, 0, "Model.version")?,
        description: b.string(m, 3, "Model.description")?.unwrap_or_default(),
        ..TfliteModel::default()
    };
    for oc in b.tables(m, 1, limits.max_operator_codes, "Model.operator_codes")? {
        let deprecated = match b.field(oc, 0, 1, "OperatorCode.deprecated_builtin_code")? {
            Some(p) => i32::from(i8::from_le_bytes(b.bytes::<1>(p, "OperatorCode")?)),
            None => 0,
        };
        let builtin = b.scalar_u32(oc, 3, 0, "OperatorCode.builtin_code")? as i32;
        let effective = if deprecated == PLACEHOLDER_FOR_GREATER_OP_CODES {
            builtin.max(deprecated)
        } else {
            deprecated.max(builtin)
        };
        model.operator_codes.push(OperatorCode {
            builtin: effective,
            custom_code: b.string(oc, 1, "OperatorCode.custom_code")?,
            version: b.scalar_u32(oc, 2, 1, "OperatorCode.version")? as i32,
        });
    }
    let mut total_ops = 0usize;
    for sg in b.tables(m, 2, limits.max_subgraphs, "Model.subgraphs")? {
        let mut sub = Subgraph {
            name: b.string(sg, 4, "SubGraph.name")?.unwrap_or_default(),
            operators: Vec::new(),
        };
        let remaining = limits.max_operators.saturating_sub(total_ops);
        for op in b.tables(sg, 3, remaining, "SubGraph.operators")? {
            sub.operators.push(Operator {
                opcode_index: b.scalar_u32(op, 0, 0, "Operator.opcode_index")?,
                custom_options: b.byte_vector(op, 5, "Operator.custom_options")?,
                offset: op.pos,
            });
        }
        total_ops = total_ops.saturating_add(sub.operators.len());
        model.subgraphs.push(sub);
    }
    for buf in b.tables(m, 4, limits.max_buffers, "Model.buffers")? {
        let inline = b.byte_vector(buf, 0, "Buffer.data")?;
        let offset = b.scalar_u64(buf, 1, "Buffer.offset")?;
        let size = b.scalar_u64(buf, 2, "Buffer.size")?;
        model.buffers.push(match inline {
            Some(r) if !r.is_empty() => BufferData::Inline(r),
            _ if offset > 1 || size > 0 => BufferData::External { offset, size },
            _ => BufferData::Empty,
        });
    }
    for md in b.tables(m, 6, limits.max_metadata, "Model.metadata")? {
        model.metadata.push(Metadata {
            name: b.string(md, 0, "Metadata.name")?.unwrap_or_default(),
            buffer: b.scalar_u32(md, 1, 0, "Metadata.buffer")?,
        });
    }
    for sd in b.tables(m, 7, limits.max_subgraphs, "Model.signature_defs")? {
        model
            .signatures
            .extend(b.string(sd, 2, "SignatureDef.signature_key")?);
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_without_identifier_and_bad_root() {
        assert_eq!(
            parse(b"", &TfliteLimits::default()),
            Err(TfliteError::Identifier)
        );
        let bad_root = [0xff, 0xff, 0xff, 0x7f, b'T', b'F', b'L', b'3'];
        assert!(matches!(
            parse(&bad_root, &TfliteLimits::default()),
            Err(TfliteError::OutOfBounds { .. })
        ));
        // Root at 8, whose soffset points the vtable outside the file.
        let bad_vt = [8, 0, 0, 0, b'T', b'F', b'L', b'3', 0, 0, 0, 0x80];
        assert!(matches!(
            parse(&bad_vt, &TfliteLimits::default()),
            Err(TfliteError::VTable { .. } | TfliteError::OutOfBounds { .. })
        ));
    }

    /// A minimal hand-built model: one custom operator code "Evil", one subgraph with one
    /// operator using it.
    fn tiny() -> Vec<u8> {
        let mut d = vec![0u8; 4];
        d.extend_from_slice(b"TFL3");
        // vtable for Model: 3 slots used (0 version, 1 operator_codes, 2 subgraphs)
        let vt_model = d.len();
        d.extend_from_slice(&[10, 0, 16, 0, 4, 0, 8, 0, 12, 0]);
        d.extend_from_slice(&[0, 0]); // pad to 4
        let model = d.len();
        d.extend_from_slice(&((model - vt_model) as i32).to_le_bytes());
        d.extend_from_slice(&3u32.to_le_bytes()); // version
        let oc_ref = d.len();
        d.extend_from_slice(&[0; 4]);
        let sg_ref = d.len();
        d.extend_from_slice(&[0; 4]);
        d[0..4].copy_from_slice(&(model as u32).to_le_bytes());
        // operator_codes vector with one table
        let oc_vec = d.len();
        d[oc_ref..oc_ref + 4].copy_from_slice(&((oc_vec - oc_ref) as u32).to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes());
        let oc_elem = d.len();
        d.extend_from_slice(&[0; 4]);
        let vt_oc = d.len();
        d.extend_from_slice(&[8, 0, 12, 0, 4, 0, 8, 0]); // slot0 byte at 4, slot1 string at 8
        let oc = d.len();
        d[oc_elem..oc_elem + 4].copy_from_slice(&((oc - oc_elem) as u32).to_le_bytes());
        d.extend_from_slice(&((oc - vt_oc) as i32).to_le_bytes());
        d.extend_from_slice(&[32, 0, 0, 0]);
        let name_ref = d.len();
        d.extend_from_slice(&[0; 4]);
        let name = d.len();
        d[name_ref..name_ref + 4].copy_from_slice(&((name - name_ref) as u32).to_le_bytes());
        d.extend_from_slice(&4u32.to_le_bytes());
        d.extend_from_slice(b"Evil\0\0\0\0");
        // subgraphs: one subgraph with operators [one op, opcode_index 0]
        let sg_vec = d.len();
        d[sg_ref..sg_ref + 4].copy_from_slice(&((sg_vec - sg_ref) as u32).to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes());
        let sg_elem = d.len();
        d.extend_from_slice(&[0; 4]);
        let vt_sg = d.len();
        d.extend_from_slice(&[12, 0, 8, 0, 0, 0, 0, 0, 0, 0, 4, 0]); // slot 3 operators at 4
        let sg = d.len();
        d[sg_elem..sg_elem + 4].copy_from_slice(&((sg - sg_elem) as u32).to_le_bytes());
        d.extend_from_slice(&((sg - vt_sg) as i32).to_le_bytes());
        let ops_ref = d.len();
        d.extend_from_slice(&[0; 4]);
        let ops_vec = d.len();
        d[ops_ref..ops_ref + 4].copy_from_slice(&((ops_vec - ops_ref) as u32).to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes());
        let op_elem = d.len();
        d.extend_from_slice(&[0; 4]);
        let vt_op = d.len();
        d.extend_from_slice(&[6, 0, 8, 0, 4, 0, 0, 0]);
        let op = d.len();
        d[op_elem..op_elem + 4].copy_from_slice(&((op - op_elem) as u32).to_le_bytes());
        d.extend_from_slice(&((op - vt_op) as i32).to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d
    }

    #[test]
    fn reads_a_hand_built_model() {
        let d = tiny();
        let m = parse(&d, &TfliteLimits::default()).unwrap();
        assert_eq!(m.version, 3);
        assert_eq!(m.operator_codes.len(), 1);
        assert!(m.operator_codes[0].is_custom());
        assert_eq!(m.operator_codes[0].custom_code.as_deref(), Some("Evil"));
        assert_eq!(m.subgraphs[0].operators[0].opcode_index, 0);
        // Every truncation is an error, never a panic.
        for cut in 0..d.len() {
            let _ = parse(&d[..cut], &TfliteLimits::default());
        }
    }

    #[test]
    fn finds_the_node_def_of_a_flex_op() {
        // FlexBuffer of TF 2.21's converter for FlexReadFile: [op name, NodeDef] (no name field).
        let opts = b"\x08ReadFile\x00\x18\x12\x08ReadFile\x1a\x002\n\n\x08ReadFile\x00\x02$\x1b\x14\x14\x04(\x01";
        let (body, at) = flex_node_def(opts, "ReadFile").unwrap();
        assert_eq!(at, 11);
        assert_eq!(body.len(), 0x18);
        assert!(flex_node_def(opts, "WriteFile").is_none());
        assert!(flex_node_def(b"", "ReadFile").is_none());
        assert!(flex_node_def(&[0xff, 0x12, 0x02], "ReadFile").is_none());
    }

    #[test]
    fn counts_are_limited() {
        let d = tiny();
        let limits = TfliteLimits {
            max_operator_codes: 0,
            ..TfliteLimits::default()
        };
        assert!(matches!(parse(&d, &limits), Err(TfliteError::Limit { .. })));
    }
}
