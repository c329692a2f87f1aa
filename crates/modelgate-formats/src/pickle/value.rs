//! Symbolic values built by the pickle machine, kept in an arena so that memo sharing,
//! DUP and self-referencing containers cost nothing and cannot blow up.

use super::opcodes::Opcode;
use std::fmt::Write as _;

pub type ValueId = u32;

/// A value on the symbolic pickle stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64, as decimal (or `0x…` for LONG1/LONG4 payloads).
    BigInt(String),
    Float(f64),
    /// A protocol-0 `FLOAT` literal, already checked to be a float literal, kept as its
    /// text `data[start..end]` and only converted when rendered (converting every
    /// literal of a large text pickle costs more than the rest of its opcode).
    FloatText {
        start: usize,
        end: usize,
    },
    Str(String),
    /// Bytes stored in the stream: `data[start..end]`.
    DataBytes {
        start: usize,
        end: usize,
    },
    /// Bytes computed or unescaped (`STRING`, `_codecs.encode`, base64 folding).
    Bytes(Vec<u8>),
    Tuple(Vec<ValueId>),
    List(Vec<ValueId>),
    Dict(Vec<(ValueId, ValueId)>),
    Set(Vec<ValueId>),
    FrozenSet(Vec<ValueId>),
    /// A global imported by GLOBAL / STACK_GLOBAL / INST / EXT.
    Global {
        module: String,
        name: String,
    },
    /// An attribute of another value, produced by the machine itself (e.g. the `extend`
    /// method APPENDS calls on a non-list object).
    Attr {
        obj: ValueId,
        name: String,
    },
    /// The result of calling `callee` with `args` (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST).
    Call {
        callee: ValueId,
        args: ValueId,
        kwargs: Option<ValueId>,
        via: Opcode,
        offset: usize,
    },
    /// `persistent_load(pid)`.
    PersId(ValueId),
    /// An out-of-band buffer (NEXT_BUFFER) or a read-only view of one.
    Buffer,
    /// Something the machine could not model; the reason is kept.
    Unknown(&'static str),
}

/// The value arena.
#[derive(Debug, Default, Clone)]
pub struct Values {
    items: Vec<Value>,
}

impl Values {
    /// An empty arena with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Values {
            items: Vec::with_capacity(n),
        }
    }

    #[inline]
    pub fn push(&mut self, v: Value) -> ValueId {
        let id = ValueId::try_from(self.items.len()).unwrap_or(ValueId::MAX);
        if id != ValueId::MAX {
            self.items.push(v);
        }
        id
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, id: ValueId) -> &Value {
        const UNKNOWN: Value = Value::Unknown("dangling value");
        self.items
            .get(usize::try_from(id).unwrap_or(usize::MAX))
            .unwrap_or(&UNKNOWN)
    }

    pub fn get_mut(&mut self, id: ValueId) -> Option<&mut Value> {
        self.items.get_mut(usize::try_from(id).ok()?)
    }

    /// The text of a string value.
    pub fn as_str(&self, id: ValueId) -> Option<&str> {
        match self.get(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a bytes value (`data` is the stream the offsets refer to).
    pub fn as_bytes<'a>(&'a self, id: ValueId, data: &'a [u8]) -> Option<&'a [u8]> {
        match self.get(id) {
            Value::DataBytes { start, end } => data.get(*start..*end),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Elements of a tuple or list.
    pub fn items(&self, id: ValueId) -> Option<&[ValueId]> {
        match self.get(id) {
            Value::Tuple(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// Python-like rendering, bounded in depth and length.
    pub fn render(&self, id: ValueId, data: &[u8]) -> String {
        self.render_limited(id, data, MAX_RENDER)
    }

    /// Python-like rendering cut at about `limit` bytes (rendering stops early).
    pub fn render_limited(&self, id: ValueId, data: &[u8], limit: usize) -> String {
        let mut out = String::new();
        self.render_into(id, data, 0, limit, &mut out);
        if out.len() > limit {
            let mut cut = limit;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
        }
        out
    }

    fn render_into(&self, id: ValueId, data: &[u8], depth: usize, limit: usize, out: &mut String) {
        if depth > 8 || out.len() > limit {
            out.push('…');
            return;
        }
        match self.get(id) {
            Value::None => out.push_str("None"),
            Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::BigInt(s) => out.push_str(s),
            Value::Float(f) => {
                let _ = write!(out, "{f:?}");
            }
            Value::FloatText { start, end } => {
                let text = data
                    .get(*start..*end)
                    .and_then(|b| std::str::from_utf8(b).ok());
                match text.and_then(|t| t.parse::<f64>().ok()) {
                    Some(f) => {
                        let _ = write!(out, "{f:?}");
                    }
                    None => out.push_str(text.unwrap_or("float")),
                }
            }
            Value::Str(s) => render_str(s, out),
            Value::DataBytes { start, end } => {
                render_bytes(data.get(*start..*end).unwrap_or(&[]), out)
            }
            Value::Bytes(b) => render_bytes(b, out),
            Value::Tuple(v) => {
                out.push('(');
                self.render_seq(v, data, depth, limit, out);
                if v.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Value::List(v) => {
                out.push('[');
                self.render_seq(v, data, depth, limit, out);
                out.push(']');
            }
            Value::Set(v) => {
                out.push('{');
                self.render_seq(v, data, depth, limit, out);
                out.push('}');
            }
            Value::FrozenSet(v) => {
                out.push_str("frozenset({");
                self.render_seq(v, data, depth, limit, out);
                out.push_str("})");
            }
            Value::Dict(kv) => {
                out.push('{');
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if i >= 16 {
                        out.push('…');
                        break;
                    }
                    self.render_into(*k, data, depth + 1, limit, out);
                    out.push_str(": ");
                    self.render_into(*v, data, depth + 1, limit, out);
                }
                out.push('}');
            }
            Value::Global { module, name } => {
                out.push_str(module);
                out.push('.');
                out.push_str(name);
            }
            Value::Attr { obj, name } => {
                self.render_into(*obj, data, depth + 1, limit, out);
                out.push('.');
                out.push_str(name);
            }
            Value::Call {
                callee,
                args,
                kwargs,
                ..
            } => {
                self.render_into(*callee, data, depth + 1, limit, out);
                out.push('(');
                match self.get(*args) {
                    Value::Tuple(v) | Value::List(v) => self.render_seq(v, data, depth, limit, out),
                    _ => {
                        out.push('*');
                        self.render_into(*args, data, depth + 1, limit, out);
                    }
                }
                if let Some(kw) = kwargs {
                    out.push_str(", **");
                    self.render_into(*kw, data, depth + 1, limit, out);
                }
                out.push(')');
            }
            Value::PersId(p) => {
                out.push_str("persistent_load(");
                self.render_into(*p, data, depth + 1, limit, out);
                out.push(')');
            }
            Value::Buffer => out.push_str("<buffer>"),
            Value::Unknown(why) => {
                let _ = write!(out, "<{why}>");
            }
        }
    }

    fn render_seq(&self, v: &[ValueId], data: &[u8], depth: usize, limit: usize, out: &mut String) {
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if i >= 16 || out.len() > limit {
                let _ = write!(out, "… {} more", v.len() - i);
                break;
            }
            self.render_into(*x, data, depth + 1, limit, out);
        }
    }
}

const MAX_RENDER: usize = 400;

fn render_str(s: &str, out: &mut String) {
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i >= 200 {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn render_bytes(b: &[u8], out: &mut String) {
    out.push_str("b\"");
    for (i, &c) in b.iter().enumerate() {
        if i >= 120 {
            let _ = write!(out, "…({} bytes)", b.len());
            break;
        }
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(char::from(c)),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('"');
}
