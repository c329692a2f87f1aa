//! A zero-copy, damage-tolerant pickle disassembler with byte offsets.
//!
//! [`Disassembler`] is a cursor: it yields one [`Op`] at a time, can be repositioned (joblib
//! interleaves raw array bytes with the pickle stream) and reports damage as a
//! [`DisasmError`] carrying the offset, so everything before the damage is kept.

use super::opcodes::{ArgKind, Opcode, lookup};
use std::borrow::Cow;
use std::fmt;

/// An opcode's decoded inline argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    None,
    /// Fixed-width integers (`BININT*`, `PROTO`, memo indices, `EXT*`, `FRAME`).
    Int(i64),
    /// `LONG1`/`LONG4` payload: little-endian two's complement bytes.
    LongBytes(&'a [u8]),
    Float(f64),
    /// Binary strings, bytes and UTF-8 text payloads, as stored.
    Bytes(&'a [u8]),
    /// A decoded text line (`INT`, `LONG`, `FLOAT`, `GET`, `PUT`, `PERSID`, `UNICODE`, `STRING`).
    Text(Cow<'a, str>),
    /// `STRING` payload after escape decoding (bytes).
    Escaped(Vec<u8>),
    /// `GLOBAL`/`INST`: module and name.
    Pair(String, String),
}

/// One decoded opcode.
#[derive(Debug, Clone, PartialEq)]
pub struct Op<'a> {
    pub offset: usize,
    pub opcode: Opcode,
    pub arg: Arg<'a>,
    /// Offset just past the opcode and its argument.
    pub end: usize,
    /// The protocol that introduced the opcode.
    pub proto: u8,
}

/// Why the disassembler stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisasmErrorKind {
    UnknownOpcode(u8),
    Truncated,
    BadArgument(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisasmError {
    pub offset: usize,
    pub kind: DisasmErrorKind,
}

impl fmt::Display for DisasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DisasmErrorKind::UnknownOpcode(b) => {
                write!(f, "unknown opcode {b:#04x} at offset {:#x}", self.offset)
            }
            DisasmErrorKind::Truncated => {
                write!(
                    f,
                    "stream truncated inside the opcode at offset {:#x}",
                    self.offset
                )
            }
            DisasmErrorKind::BadArgument(what) => {
                write!(f, "bad argument at offset {:#x}: {what}", self.offset)
            }
        }
    }
}

/// A resumable cursor over a pickle byte stream.
#[derive(Debug, Clone)]
pub struct Disassembler<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Disassembler<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Disassembler { data, pos: 0 }
    }

    pub fn at(data: &'a [u8], pos: usize) -> Self {
        Disassembler { data, pos }
    }

    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn is_at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Move the cursor (e.g. past raw bytes a loader reads outside the opcode stream).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    fn take(&mut self, start: usize, n: usize) -> Result<&'a [u8], DisasmError> {
        let end = self.pos.checked_add(n).ok_or(DisasmError {
            offset: start,
            kind: DisasmErrorKind::Truncated,
        })?;
        let s = self.data.get(self.pos..end).ok_or(DisasmError {
            offset: start,
            kind: DisasmErrorKind::Truncated,
        })?;
        self.pos = end;
        Ok(s)
    }

    fn line(&mut self, start: usize) -> Result<&'a [u8], DisasmError> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                let l = rest.get(..n).unwrap_or(&[]);
                self.pos = self.pos.saturating_add(n).saturating_add(1);
                Ok(l)
            }
            None => Err(DisasmError {
                offset: start,
                kind: DisasmErrorKind::Truncated,
            }),
        }
    }

    fn fixed<const N: usize>(&mut self, start: usize) -> Result<[u8; N], DisasmError> {
        let s = self.take(start, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_prefixed(&mut self, start: usize, len: u64) -> Result<&'a [u8], DisasmError> {
        let n = usize::try_from(len).map_err(|_| DisasmError {
            offset: start,
            kind: DisasmErrorKind::Truncated,
        })?;
        self.take(start, n)
    }

    /// Decode the next opcode, or `None` at the end of the data.
    pub fn next_op(&mut self) -> Option<Result<Op<'a>, DisasmError>> {
        let start = self.pos;
        let byte = *self.data.get(start)?;
        let Some((opcode, kind, proto)) = lookup(byte) else {
            return Some(Err(DisasmError {
                offset: start,
                kind: DisasmErrorKind::UnknownOpcode(byte),
            }));
        };
        self.pos = start.saturating_add(1);
        let arg = self.read_arg(start, opcode, kind);
        Some(match arg {
            Ok(arg) => Ok(Op {
                offset: start,
                opcode,
                arg,
                end: self.pos,
                proto,
            }),
            Err(e) => {
                // Leave the cursor at the damaged opcode.
                self.pos = start;
                Err(e)
            }
        })
    }

    fn read_arg(
        &mut self,
        start: usize,
        opcode: Opcode,
        kind: ArgKind,
    ) -> Result<Arg<'a>, DisasmError> {
        let bad = |what| DisasmError {
            offset: start,
            kind: DisasmErrorKind::BadArgument(what),
        };
        Ok(match kind {
            ArgKind::None => Arg::None,
            ArgKind::U1 => Arg::Int(i64::from(self.fixed::<1>(start)?[0])),
            ArgKind::U2 => Arg::Int(i64::from(u16::from_le_bytes(self.fixed(start)?))),
            ArgKind::U4 => Arg::Int(i64::from(u32::from_le_bytes(self.fixed(start)?))),
            ArgKind::I4 => Arg::Int(i64::from(i32::from_le_bytes(self.fixed(start)?))),
            ArgKind::U8 => {
                let v = u64::from_le_bytes(self.fixed(start)?);
                Arg::Int(i64::try_from(v).map_err(|_| bad("8-byte length too large"))?)
            }
            ArgKind::F8 => Arg::Float(f64::from_be_bytes(self.fixed(start)?)),
            ArgKind::Long1 => {
                let n = self.fixed::<1>(start)?[0];
                Arg::LongBytes(self.len_prefixed(start, u64::from(n))?)
            }
            ArgKind::Long4 => {
                let n = i32::from_le_bytes(self.fixed(start)?);
                let n = u64::try_from(n).map_err(|_| bad("negative LONG4 length"))?;
                Arg::LongBytes(self.len_prefixed(start, n)?)
            }
            ArgKind::Bytes1 => {
                let n = self.fixed::<1>(start)?[0];
                Arg::Bytes(self.len_prefixed(start, u64::from(n))?)
            }
            ArgKind::Bytes4 => {
                let raw = self.fixed::<4>(start)?;
                let n = if opcode == Opcode::BINSTRING {
                    u64::try_from(i32::from_le_bytes(raw))
                        .map_err(|_| bad("negative BINSTRING length"))?
                } else {
                    u64::from(u32::from_le_bytes(raw))
                };
                Arg::Bytes(self.len_prefixed(start, n)?)
            }
            ArgKind::Bytes8 => {
                let n = u64::from_le_bytes(self.fixed(start)?);
                Arg::Bytes(self.len_prefixed(start, n)?)
            }
            ArgKind::DecimalNl | ArgKind::LongNl | ArgKind::FloatNl | ArgKind::LineNl => {
                let l = self.line(start)?;
                Arg::Text(lossy(strip_cr(l)))
            }
            ArgKind::UnicodeNl => {
                let l = self.line(start)?;
                Arg::Text(if l.is_ascii() && !l.contains(&b'\\') {
                    // Plain ASCII needs no decoding: borrow it.
                    lossy(l)
                } else {
                    Cow::Owned(raw_unicode_escape_decode(l))
                })
            }
            ArgKind::QuotedNl => {
                let l = strip_cr(self.line(start)?);
                let inner = unquote(l).ok_or_else(|| bad("STRING argument is not quoted"))?;
                Arg::Escaped(escape_decode(inner))
            }
            ArgKind::TwoLines => {
                let m = self.line(start)?;
                let n = self.line(start)?;
                Arg::Pair(
                    String::from_utf8_lossy(strip_cr(m)).into_owned(),
                    String::from_utf8_lossy(strip_cr(n)).into_owned(),
                )
            }
        })
    }
}

impl<'a> Iterator for Disassembler<'a> {
    type Item = Result<Op<'a>, DisasmError>;

    /// Yields ops until the end of the data or the first error (which is yielded once).
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.next_op()?;
        if r.is_err() {
            self.pos = self.data.len();
        }
        Some(r)
    }
}

/// Text of a line argument: borrowed when it is valid UTF-8 (the common case, checked far
/// faster than `from_utf8_lossy`'s chunk iterator), replacement characters otherwise.
fn lossy(l: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(l) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(l),
    }
}

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn unquote(l: &[u8]) -> Option<&[u8]> {
    let first = *l.first()?;
    if l.len() >= 2 && (first == b'\'' || first == b'"') && l.last() == Some(&first) {
        l.get(1..l.len().saturating_sub(1))
    } else {
        None
    }
}

/// Python's `codecs.escape_decode` for the escapes a `STRING` argument may contain.
pub fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\n' => {}
            b'x' => {
                let h = s.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// Python's `raw_unicode_escape` decoding: `\uXXXX` and `\UXXXXXXXX`; other bytes are latin-1.
pub fn raw_unicode_escape_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let width = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if width > 0 {
                let digits = s
                    .get(i + 2..i + 2 + width)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32);
                if let Some(ch) = digits {
                    out.push(ch);
                    i += 2 + width;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassembles_protocol_0_global_reduce() {
        let data = b"cos\nsystem\n(S'id'\ntR.";
        let ops: Vec<_> = Disassembler::new(data).collect::<Result<_, _>>().unwrap();
        let names: Vec<_> = ops.iter().map(|o| o.opcode.name()).collect();
        assert_eq!(
            names,
            ["GLOBAL", "MARK", "STRING", "TUPLE", "REDUCE", "STOP"]
        );
        assert_eq!(ops[0].arg, Arg::Pair("os".into(), "system".into()));
        assert_eq!(ops[2].arg, Arg::Escaped(b"id".to_vec()));
        assert_eq!(ops[2].offset, 12);
    }

    #[test]
    fn truncation_and_unknown_opcodes_are_errors_with_offsets() {
        let mut d = Disassembler::new(b"\x80\x04\x8c\x10abc");
        assert!(d.next_op().unwrap().is_ok());
        let e = d.next_op().unwrap().unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(e.kind, DisasmErrorKind::Truncated);
        let e = Disassembler::new(b"N\xff").nth(1).unwrap().unwrap_err();
        assert_eq!(e.kind, DisasmErrorKind::UnknownOpcode(0xff));
        assert_eq!(e.offset, 1);
    }

    #[test]
    fn escape_decoding() {
        assert_eq!(escape_decode(br"a\nb\x41\101\\"), b"a\nbAA\\");
        assert_eq!(raw_unicode_escape_decode(br"caf\u00e9"), "caf\u{e9}");
    }

    #[test]
    fn huge_lengths_do_not_allocate_or_panic() {
        let d = b"\x8e\xff\xff\xff\xff\xff\xff\xff\x7f";
        let e = Disassembler::new(d).next().unwrap().unwrap_err();
        assert!(matches!(
            e.kind,
            DisasmErrorKind::Truncated | DisasmErrorKind::BadArgument(_)
        ));
    }
}

#[cfg(test)]
mod oracle {
    //! Differential test against CPython's `pickletools.genops` (recorded by
    //! `tests/fixtures/gen/genops_oracle.py`): same opcodes at the same offsets.
    use super::Disassembler;
    use std::collections::BTreeMap;

    #[test]
    fn matches_pickletools_genops_on_every_fixture() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan");
        let oracle: BTreeMap<String, Vec<(String, usize)>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("GENOPS.json")).unwrap())
                .unwrap();
        assert!(oracle.len() >= 30);
        for (name, expected) in oracle {
            let data = std::fs::read(dir.join(&name)).unwrap();
            let got: Vec<(String, usize)> = Disassembler::new(&data)
                .map_while(Result::ok)
                .map(|op| (op.opcode.name().to_string(), op.offset))
                .take(expected.len())
                .collect();
            assert_eq!(got, expected, "{name}");
        }
    }
}
