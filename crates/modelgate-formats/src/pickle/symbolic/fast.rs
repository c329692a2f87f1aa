//! The machine's fast path: the fixed-width opcodes that make up most of every real pickle
//! (small integers, floats, memo traffic, building lists, dicts and tuples, short strings)
//! decoded straight from the bytes, without building a generic [`Op`](super::super::disasm::Op)
//! and going through the full dispatcher.
//!
//! The semantics are exactly those of `Machine::step`: the same values, the same memo, the
//! same loader errors in the same order. An opcode whose argument is not fully present
//! falls back to the general path, which reports the truncation. A differential test runs
//! both paths over every fixture and fuzz seed and compares the programs.

use super::super::opcodes::{Opcode, lookup};
use super::super::value::{Value, ValueId};
use super::{Flow, Machine, Step, loader};

/// An opcode the fast path handles, with its argument bytes.
pub(super) struct FastOp<'a> {
    pub opcode: Opcode,
    /// The protocol that introduced the opcode.
    pub proto: u8,
    pub arg: &'a [u8],
    /// Offset of `arg` in the data.
    pub arg_start: usize,
    /// Offset just past the argument.
    pub end: usize,
}

/// Decode the opcode at `pos` if the fast path handles it and its argument is complete.
#[inline(always)]
pub(super) fn decode(data: &[u8], pos: usize) -> Option<FastOp<'_>> {
    let byte = *data.get(pos)?;
    let argpos = pos.checked_add(1)?;
    let (len_bytes, fixed) = match byte {
        // MARK, NONE, NEWTRUE, NEWFALSE, EMPTY_LIST, EMPTY_DICT, EMPTY_TUPLE, APPEND,
        // APPENDS, SETITEM, SETITEMS, MEMOIZE, TUPLE1, TUPLE2, TUPLE3
        b'(' | b'N' | 0x88 | 0x89 | b']' | b'}' | b')' | b'a' | b'e' | b's' | b'u' | 0x94
        | 0x85 | 0x86 | 0x87 => (0, 0),
        // BININT1, BINPUT, BINGET
        b'K' | b'q' | b'h' => (0, 1),
        // BININT2
        b'M' => (0, 2),
        // BININT, LONG_BINPUT, LONG_BINGET
        b'J' | b'r' | b'j' => (0, 4),
        // BINFLOAT
        b'G' => (0, 8),
        // SHORT_BINUNICODE: 1-byte length
        0x8c => (1, 0),
        // BINUNICODE: 4-byte length
        b'X' => (4, 0),
        // Protocol 0 FLOAT, PUT and GET with plain arguments; anything unusual (non-ASCII,
        // a missing newline, a literal the loader rejects) takes the general path.
        b'F' | b'p' | b'g' => return decode_line(data, byte, argpos),
        _ => return None,
    };
    let (opcode, _, proto) = lookup(byte)?;
    let (start, n) = match len_bytes {
        0 => (argpos, fixed),
        1 => (argpos.checked_add(1)?, usize::from(*data.get(argpos)?)),
        _ => {
            let raw: [u8; 4] = data.get(argpos..argpos.checked_add(4)?)?.try_into().ok()?;
            let n = usize::try_from(u32::from_le_bytes(raw)).ok()?;
            (argpos.checked_add(4)?, n)
        }
    };
    let end = start.checked_add(n)?;
    let arg = data.get(start..end)?;
    Some(FastOp {
        opcode,
        proto,
        arg,
        arg_start: start,
        end,
    })
}

/// Whitespace as `str::trim` sees it, for ASCII bytes.
#[inline(always)]
fn is_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// FLOAT / PUT / GET: a newline-terminated ASCII argument.
#[inline(always)]
fn decode_line(data: &[u8], byte: u8, argpos: usize) -> Option<FastOp<'_>> {
    let rest = data.get(argpos..)?;
    let n = memchr::memchr(b'\n', rest)?;
    let line = rest.get(..n)?;
    if !line.is_ascii() {
        return None;
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let lead = line.iter().take_while(|b| is_space(**b)).count();
    let trail = line.iter().rev().take_while(|b| is_space(**b)).count();
    let lit = line.get(lead..line.len().checked_sub(trail)?)?;
    let ok = if byte == b'F' {
        super::is_float_literal(lit)
    } else {
        !lit.is_empty() && lit.len() <= 18 && lit.iter().all(u8::is_ascii_digit)
    };
    if !ok {
        return None;
    }
    let (opcode, _, proto) = lookup(byte)?;
    Some(FastOp {
        opcode,
        proto,
        arg: lit,
        arg_start: argpos.checked_add(lead)?,
        end: argpos.checked_add(n)?.checked_add(1)?,
    })
}

/// A run of at most 18 ASCII digits (checked by [`decode_line`]).
#[inline(always)]
fn digits(d: &[u8]) -> i64 {
    d.iter().fold(0i64, |a, b| {
        a.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
    })
}

#[inline(always)]
fn le<const N: usize>(arg: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = arg.get(..N) {
        a.copy_from_slice(s);
    }
    a
}

impl Machine<'_> {
    /// Run one fast-path opcode (see [`decode`]).
    #[inline(always)]
    pub(super) fn fast_step(&mut self, op: &FastOp<'_>, off: usize) -> Step {
        use Opcode as O;
        let arg = op.arg;
        match op.opcode {
            O::MARK => self.marks.push(self.stack.len()),
            O::NONE => return self.push(Value::None),
            O::NEWTRUE => return self.push(Value::Bool(true)),
            O::NEWFALSE => return self.push(Value::Bool(false)),
            O::EMPTY_LIST => return self.push(Value::List(Vec::new())),
            O::EMPTY_DICT => return self.push(Value::Dict(Vec::new())),
            O::EMPTY_TUPLE => return self.push(Value::Tuple(Vec::new())),
            O::BININT1 => {
                let v = i64::from(arg.first().copied().unwrap_or(0));
                return self.push(Value::Int(v));
            }
            O::BININT2 => {
                let v = i64::from(u16::from_le_bytes(le(arg)));
                return self.push(Value::Int(v));
            }
            O::BININT => {
                let v = i64::from(i32::from_le_bytes(le(arg)));
                return self.push(Value::Int(v));
            }
            O::BINFLOAT => return self.push(Value::Float(f64::from_be_bytes(le(arg)))),
            O::FLOAT => {
                return self.push(Value::FloatText {
                    start: op.arg_start,
                    end: op.arg_start.saturating_add(arg.len()),
                });
            }
            O::BINPUT | O::LONG_BINPUT | O::PUT => {
                let idx = match op.opcode {
                    O::BINPUT => i64::from(arg.first().copied().unwrap_or(0)),
                    O::PUT => digits(arg),
                    _ => i64::from(u32::from_le_bytes(le(arg))),
                };
                let v = self.top()?;
                self.memo_put(idx, v)?;
            }
            O::BINGET | O::LONG_BINGET | O::GET => {
                let idx = match op.opcode {
                    O::BINGET => i64::from(arg.first().copied().unwrap_or(0)),
                    O::GET => digits(arg),
                    _ => i64::from(u32::from_le_bytes(le(arg))),
                };
                let v = self
                    .memo
                    .get(idx)
                    .ok_or_else(|| loader(format!("memo value not found at index {idx}")))?;
                self.stack.push(v);
            }
            O::MEMOIZE => {
                let v = self.top()?;
                let idx = i64::try_from(self.memo.len()).unwrap_or(i64::MAX);
                self.memo_put(idx, v)?;
            }
            O::APPEND => self.append_one(off)?,
            O::APPENDS => {
                let (mark, target) = self.mark_and_target(0)?;
                if let Some(Value::List(l)) = self.values.get_mut(target) {
                    l.extend(self.stack.drain(mark..));
                } else {
                    let items = self.stack.split_off(mark);
                    self.extend_list(off, target, items, "extend")?;
                }
            }
            O::SETITEM => {
                let v = self.pop()?;
                let k = self.pop()?;
                let target = self.top()?;
                if let Some(Value::Dict(d)) = self.values.get_mut(target) {
                    d.push((k, v));
                } else {
                    self.set_items(off, target, vec![(k, v)])?;
                }
            }
            O::SETITEMS => {
                let (mark, target) = self.mark_and_target(2)?;
                if let Some(Value::Dict(d)) = self.values.get_mut(target) {
                    let items = self.stack.get(mark..).unwrap_or_default();
                    d.extend(
                        items
                            .chunks_exact(2)
                            .filter_map(|c| Some((*c.first()?, *c.get(1)?))),
                    );
                    self.stack.truncate(mark);
                } else {
                    let items = self.stack.split_off(mark);
                    let kv = items
                        .chunks_exact(2)
                        .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
                        .collect();
                    self.set_items(off, target, kv)?;
                }
            }
            O::TUPLE1 => return self.tuple_of(1),
            O::TUPLE2 => return self.tuple_of(2),
            O::TUPLE3 => return self.tuple_of(3),
            O::SHORT_BINUNICODE | O::BINUNICODE => {
                // The loader's `utf-8`/`surrogatepass` decoding (see `pickle::text`).
                let s = crate::pickle::text::decode_surrogatepass(arg)
                    .ok_or_else(|| loader("BINUNICODE payload is not valid UTF-8"))?;
                return self.push(Value::Str(s.into_owned()));
            }
            // `decode` yields no other opcode.
            _ => return Err(loader("internal: opcode outside the fast path")),
        }
        Ok(Flow::Continue)
    }

    /// For APPENDS/SETITEMS: pop the mark and find the target below it, with the loader's
    /// checks in the loader's order (missing mark, then for SETITEMS an odd item count, then
    /// an empty stack under the mark). The items stay on the stack above `mark`.
    #[inline(always)]
    fn mark_and_target(&mut self, pairs: usize) -> Result<(usize, ValueId), super::Stop> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| loader("could not find MARK"))?;
        if mark > self.stack.len() {
            return Err(loader("could not find MARK"));
        }
        if pairs == 2 && !(self.stack.len() - mark).is_multiple_of(2) {
            return Err(loader("odd number of items for SETITEMS"));
        }
        let floor = self.marks.last().copied().unwrap_or(0);
        if mark <= floor {
            return Err(loader("unpickling stack underflow"));
        }
        let target = mark
            .checked_sub(1)
            .and_then(|i| self.stack.get(i).copied())
            .ok_or_else(|| loader("unpickling stack underflow"))?;
        Ok((mark, target))
    }
}
