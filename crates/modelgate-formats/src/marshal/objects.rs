//! Reading the `marshal` object stream into an arena, without building any Python object:
//! type codes, back-references (`FLAG_REF` / `r`), and code objects in the two layouts
//! CPython 3.8-3.10 and 3.11+ write.

use super::{Error, Limits};

/// Which code-object field layout the stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeLayout {
    /// CPython 3.8, 3.9, 3.10: argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize,
    /// flags, code, consts, names, varnames, freevars, cellvars, filename, name, firstlineno,
    /// lnotab/linetable.
    Py38,
    /// CPython 3.11 and later: argcount, posonlyargcount, kwonlyargcount, stacksize, flags,
    /// code, consts, names, localsplusnames, localspluskinds, filename, name, qualname,
    /// firstlineno, linetable, exceptiontable.
    Py311,
}

pub(crate) type Id = usize;

/// Arena id of the value a back-reference to an unfinished object resolves to.
pub(crate) const UNRESOLVED: Id = 0;

#[derive(Debug, Clone)]
pub(crate) struct RawCode {
    pub(crate) argcount: i64,
    pub(crate) firstlineno: i64,
    pub(crate) code: Id,
    pub(crate) consts: Id,
    pub(crate) names: Id,
    /// varnames (3.8-3.10) or localsplusnames (3.11+).
    pub(crate) locals: Id,
    /// freevars and cellvars (3.8-3.10 only).
    pub(crate) extra_locals: Vec<Id>,
    pub(crate) filename: Id,
    pub(crate) name: Id,
    pub(crate) qualname: Option<Id>,
}

#[derive(Debug, Clone)]
pub(crate) enum Obj<'a> {
    Unresolved,
    Null,
    None,
    Bool(bool),
    Ellipsis,
    StopIteration,
    Int(i64),
    BigInt,
    Float(f64),
    Complex,
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    Seq { kind: SeqKind, items: Vec<Id> },
    Dict(Vec<(Id, Id)>),
    Code(Box<RawCode>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqKind {
    Tuple,
    List,
    Set,
    FrozenSet,
    /// A constant slice (marshal version 5, CPython 3.14): start, stop, step.
    Slice,
}

const FLAG_REF: u8 = 0x80;

pub(crate) struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
    layout: CodeLayout,
    pub(crate) arena: Vec<Obj<'a>>,
    refs: Vec<Id>,
    limits: Limits,
    pub(crate) code_objects: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(d: &'a [u8], layout: CodeLayout, limits: Limits) -> Self {
        Reader {
            d,
            pos: 0,
            layout,
            arena: vec![Obj::Unresolved],
            refs: Vec::new(),
            limits,
            code_objects: 0,
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.d.len()
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(Error::Truncated { at: self.pos, what })?;
        let s = self
            .d
            .get(self.pos..end)
            .ok_or(Error::Truncated { at: self.pos, what })?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.bytes(1, what)?.first().copied().unwrap_or(0))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, Error> {
        let b = self.bytes(4, what)?;
        Ok(i32::from_le_bytes(<[u8; 4]>::try_from(b).unwrap_or([0; 4])))
    }

    fn u32_len(&mut self, what: &'static str) -> Result<usize, Error> {
        let at = self.pos;
        let n = self.i32(what)?;
        usize::try_from(n).map_err(|_| Error::Invalid {
            at,
            what: format!("{what}: negative length {n}"),
        })
    }

    fn push(&mut self, o: Obj<'a>) -> Result<Id, Error> {
        if self.arena.len() > self.limits.max_objects {
            return Err(Error::Limit {
                what: "marshal objects",
                limit: self.limits.max_objects,
            });
        }
        self.arena.push(o);
        Ok(self.arena.len() - 1)
    }

    /// Read one object.
    pub(crate) fn object(&mut self, depth: usize) -> Result<Id, Error> {
        if depth > self.limits.max_depth {
            return Err(Error::Limit {
                what: "marshal nesting depth",
                limit: self.limits.max_depth,
            });
        }
        let at = self.pos;
        let code = self.byte("type code")?;
        let slot = if code & FLAG_REF != 0 {
            if self.refs.len() >= self.limits.max_objects {
                return Err(Error::Limit {
                    what: "marshal back-references",
                    limit: self.limits.max_objects,
                });
            }
            self.refs.push(UNRESOLVED);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let id = self.body(code & !FLAG_REF, at, depth)?;
        if let Some(s) = slot
            && let Some(r) = self.refs.get_mut(s)
        {
            *r = id;
        }
        Ok(id)
    }

    fn seq(&mut self, kind: SeqKind, n: usize, depth: usize) -> Result<Id, Error> {
        // Every element takes at least one byte: a count beyond the input is a lie.
        if n > self.d.len().saturating_sub(self.pos) {
            return Err(Error::Invalid {
                at: self.pos,
                what: format!("sequence of {n} items is longer than the data left"),
            });
        }
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            items.push(self.object(depth + 1)?);
        }
        self.push(Obj::Seq { kind, items })
    }

    fn body(&mut self, code: u8, at: usize, depth: usize) -> Result<Id, Error> {
        match code {
            b'0' => self.push(Obj::Null),
            b'N' => self.push(Obj::None),
            b'F' => self.push(Obj::Bool(false)),
            b'T' => self.push(Obj::Bool(true)),
            b'.' => self.push(Obj::Ellipsis),
            b'S' => self.push(Obj::StopIteration),
            b'i' => {
                let v = self.i32("int")?;
                self.push(Obj::Int(i64::from(v)))
            }
            b'l' => {
                let n = self.i32("long size")?;
                let digits = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
                let raw = self.bytes(digits.saturating_mul(2), "long digits")?;
                // 15-bit digits, least significant first.
                let mut v: i64 = 0;
                let mut big = digits > 4;
                for (i, d) in raw.chunks_exact(2).enumerate() {
                    let d = i64::from(u16::from_le_bytes([
                        d.first().copied().unwrap_or(0),
                        d.get(1).copied().unwrap_or(0),
                    ]));
                    match d.checked_shl(15 * i as u32).and_then(|x| v.checked_add(x)) {
                        Some(x) if !big => v = x,
                        _ => big = true,
                    }
                }
                if big {
                    self.push(Obj::BigInt)
                } else {
                    self.push(Obj::Int(if n < 0 { -v } else { v }))
                }
            }
            b'g' => {
                let b = self.bytes(8, "float")?;
                let v = f64::from_le_bytes(<[u8; 8]>::try_from(b).unwrap_or([0; 8]));
                self.push(Obj::Float(v))
            }
            b'f' => {
                let n = usize::from(self.byte("float length")?);
                let s = self.bytes(n, "float text")?;
                let v = std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN);
                self.push(Obj::Float(v))
            }
            b'y' => {
                self.bytes(16, "complex")?;
                self.push(Obj::Complex)
            }
            b'x' => {
                for _ in 0..2 {
                    let n = usize::from(self.byte("complex length")?);
                    self.bytes(n, "complex text")?;
                }
                self.push(Obj::Complex)
            }
            b's' => {
                let n = self.u32_len("bytes length")?;
                let b = self.bytes(n, "bytes")?;
                self.push(Obj::Bytes(b))
            }
            b'u' | b't' | b'a' | b'A' => {
                let n = self.u32_len("string length")?;
                let b = self.bytes(n, "string")?;
                self.push(Obj::Str(b))
            }
            b'z' | b'Z' => {
                let n = usize::from(self.byte("short string length")?);
                let b = self.bytes(n, "short string")?;
                self.push(Obj::Str(b))
            }
            b'(' => {
                let n = self.u32_len("tuple size")?;
                self.seq(SeqKind::Tuple, n, depth)
            }
            b')' => {
                let n = usize::from(self.byte("small tuple size")?);
                self.seq(SeqKind::Tuple, n, depth)
            }
            b'[' => {
                let n = self.u32_len("list size")?;
                self.seq(SeqKind::List, n, depth)
            }
            b'<' => {
                let n = self.u32_len("set size")?;
                self.seq(SeqKind::Set, n, depth)
            }
            b'>' => {
                let n = self.u32_len("frozenset size")?;
                self.seq(SeqKind::FrozenSet, n, depth)
            }
            b'{' => {
                let mut pairs = Vec::new();
                loop {
                    let k = self.object(depth + 1)?;
                    if matches!(self.arena.get(k), Some(Obj::Null)) {
                        break;
                    }
                    let v = self.object(depth + 1)?;
                    pairs.push((k, v));
                }
                self.push(Obj::Dict(pairs))
            }
            b':' => self.seq(SeqKind::Slice, 3, depth),
            b'r' => {
                let i = self.u32_len("reference index")?;
                let id = self.refs.get(i).copied().ok_or(Error::Invalid {
                    at,
                    what: format!("reference {i} to an object not read yet"),
                })?;
                Ok(id)
            }
            b'c' => self.code(depth),
            other => Err(Error::Invalid {
                at,
                what: format!("unknown marshal type code {:?}", char::from(other)),
            }),
        }
    }

    fn code(&mut self, depth: usize) -> Result<Id, Error> {
        self.code_objects += 1;
        if self.code_objects > self.limits.max_code_objects {
            return Err(Error::Limit {
                what: "code objects",
                limit: self.limits.max_code_objects,
            });
        }
        let d = depth + 1;
        let argcount = i64::from(self.i32("argcount")?);
        self.i32("posonlyargcount")?;
        self.i32("kwonlyargcount")?;
        let raw = match self.layout {
            CodeLayout::Py38 => {
                self.i32("nlocals")?;
                self.i32("stacksize")?;
                self.i32("flags")?;
                let code = self.object(d)?;
                let consts = self.object(d)?;
                let names = self.object(d)?;
                let locals = self.object(d)?;
                let freevars = self.object(d)?;
                let cellvars = self.object(d)?;
                let filename = self.object(d)?;
                let name = self.object(d)?;
                let firstlineno = i64::from(self.i32("firstlineno")?);
                self.object(d)?; // lnotab / linetable
                RawCode {
                    argcount,
                    firstlineno,
                    code,
                    consts,
                    names,
                    locals,
                    extra_locals: vec![cellvars, freevars],
                    filename,
                    name,
                    qualname: None,
                }
            }
            CodeLayout::Py311 => {
                self.i32("stacksize")?;
                self.i32("flags")?;
                let code = self.object(d)?;
                let consts = self.object(d)?;
                let names = self.object(d)?;
                let locals = self.object(d)?;
                self.object(d)?; // localspluskinds
                let filename = self.object(d)?;
                let name = self.object(d)?;
                let qualname = self.object(d)?;
                let firstlineno = i64::from(self.i32("firstlineno")?);
                self.object(d)?; // linetable
                self.object(d)?; // exceptiontable
                RawCode {
                    argcount,
                    firstlineno,
                    code,
                    consts,
                    names,
                    locals,
                    extra_locals: Vec::new(),
                    filename,
                    name,
                    qualname: Some(qualname),
                }
            }
        };
        // The fields must have the right types, or this is not a code object of this layout.
        let ok = matches!(self.arena.get(raw.code), Some(Obj::Bytes(_)))
            && self.is_tuple(raw.consts)
            && self.is_tuple(raw.names)
            && self.is_tuple(raw.locals)
            && matches!(self.arena.get(raw.name), Some(Obj::Str(_)));
        if !ok {
            return Err(Error::Invalid {
                at: self.pos,
                what: "code object fields have the wrong types for this layout".into(),
            });
        }
        self.push(Obj::Code(Box::new(raw)))
    }

    fn is_tuple(&self, id: Id) -> bool {
        matches!(
            self.arena.get(id),
            Some(Obj::Seq {
                kind: SeqKind::Tuple,
                ..
            })
        )
    }
}
