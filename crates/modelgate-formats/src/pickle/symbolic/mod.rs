//! The symbolic pickle machine: interprets opcodes without importing or calling anything,
//! recording every import, call, BUILD and persistent load with its byte offset.
//!
//! It models the real loader closely enough that what it reports is what `pickle.load`
//! would do, including on damaged streams: events before the damage are kept (the loader
//! already ran them) and the damage is reported in [`StreamEnd`].

use super::disasm::{Arg, DisasmError, Disassembler};
use super::memo::Memo;
use super::opcodes::Opcode;
use super::value::{Value, ValueId, Values};

mod fast;
use std::collections::HashMap;

/// Budgets for one run of the machine.
#[derive(Debug, Clone, Copy)]
pub struct VmLimits {
    pub max_ops: usize,
    pub max_values: usize,
    pub max_memo: usize,
    /// Nested object-array pickles inside a joblib stream.
    pub max_nesting: usize,
}

impl Default for VmLimits {
    fn default() -> Self {
        VmLimits {
            max_ops: 20_000_000,
            max_values: 10_000_000,
            max_memo: 2_000_000,
            max_nesting: 16,
        }
    }
}

/// What the loader does, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A global is imported (`GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT*`).
    Import {
        module: String,
        name: String,
        via: Opcode,
        /// The module/name strings were computed, not literal (STACK_GLOBAL on call results).
        computed: bool,
        value: ValueId,
    },
    /// A call (the `Value::Call` node).
    Call { value: ValueId },
    /// `BUILD`: `obj.__setstate__(state)` or a `__dict__` update.
    Build { obj: ValueId, state: ValueId },
    /// `persistent_load(pid)`.
    PersistentLoad { pid: ValueId },
    /// A joblib `NumpyArrayWrapper` whose raw array bytes were skipped.
    JoblibArray { bytes: usize, object_dtype: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub offset: usize,
    pub kind: EventKind,
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// A `STOP` opcode at this offset; the stream is complete.
    Stop { offset: usize },
    /// Undecodable bytes (unknown opcode, truncated argument).
    Damaged(DisasmError),
    /// The data ended without `STOP`.
    NoStop { offset: usize },
    /// The loader would raise here (stack underflow, missing mark, unknown memo key,
    /// unregistered extension code, non-string STACK_GLOBAL operands ...).
    LoaderError { offset: usize, what: String },
    /// A budget was exhausted.
    Budget { offset: usize, what: &'static str },
}

impl StreamEnd {
    pub fn is_complete(&self) -> bool {
        matches!(self, StreamEnd::Stop { .. })
    }
}

/// A FRAME whose declared length disagrees with where the next frame or STOP is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameIssue {
    pub offset: usize,
    pub declared: u64,
    pub actual: u64,
}

/// The result of running one pickle stream.
#[derive(Debug, Clone)]
pub struct Program {
    pub values: Values,
    pub events: Vec<Event>,
    /// Offset of the first opcode.
    pub start: usize,
    /// Offset just past the last opcode consumed (past STOP when complete).
    pub end_offset: usize,
    pub end: StreamEnd,
    /// Highest protocol announced by PROTO (0 when absent).
    pub protocol: u8,
    pub ops: usize,
    pub frame_issues: Vec<FrameIssue>,
    /// Opcodes newer than the announced protocol (`(offset, opcode)`), a sign of hand-made pickles.
    pub protocol_violations: Vec<(usize, Opcode)>,
    /// The value left on the stack at STOP.
    pub result: Option<ValueId>,
}

struct Saved {
    stack: Vec<ValueId>,
    marks: Vec<usize>,
    memo: Memo,
    wrapper_result: ValueId,
}

struct Machine<'a> {
    data: &'a [u8],
    limits: VmLimits,
    values: Values,
    events: Vec<Event>,
    stack: Vec<ValueId>,
    marks: Vec<usize>,
    memo: Memo,
    ext_registry: HashMap<i64, (String, String)>,
    protocol: u8,
    frame: Option<(usize, u64, usize)>,
    frame_issues: Vec<FrameIssue>,
    protocol_violations: Vec<(usize, Opcode)>,
    saved: Vec<Saved>,
}

/// Run the machine over one pickle stream starting at `start`.
pub fn run_stream(data: &[u8], start: usize, limits: VmLimits) -> Program {
    run(data, start, limits, false, true)
}

/// Like [`run_stream`], but stop (with [`StreamEnd::Budget`]) once the stream has imported
/// something and run at least three opcodes without the loader failing: that is all content
/// sniffing needs to know.
pub fn probe_stream(data: &[u8], start: usize, limits: VmLimits) -> Program {
    run(data, start, limits, true, true)
}

/// [`run_stream`] with every opcode through the general decoder and dispatcher: the
/// reference the fast path is tested against. Not for production use (slower).
#[doc(hidden)]
pub fn run_stream_reference(data: &[u8], start: usize, limits: VmLimits) -> Program {
    run(data, start, limits, false, false)
}

fn run(
    data: &[u8],
    start: usize,
    limits: VmLimits,
    stop_at_import: bool,
    fast_path: bool,
) -> Program {
    let mut m = Machine {
        data,
        limits,
        // Most opcodes make one value, about one per 6 bytes of a typical pickle (a memoized
        // short string and an int); reserving up front avoids copying the arena as it grows
        // (untouched capacity costs no memory).
        values: Values::with_capacity((data.len().saturating_sub(start) / 6).clamp(16, 1 << 20)),
        events: Vec::new(),
        stack: Vec::with_capacity(32),
        marks: Vec::new(),
        memo: Memo::default(),
        ext_registry: HashMap::new(),
        protocol: 0,
        frame: None,
        frame_issues: Vec::new(),
        protocol_violations: Vec::new(),
        saved: Vec::new(),
    };
    let mut dis = Disassembler::at(data, start);
    let mut ops = 0usize;
    let mut imported = false;
    let mut result = None;
    let end = loop {
        let pos = dis.offset();
        // The fast path takes the common fixed-width opcodes straight from the bytes; the
        // general path decodes an `Op` (and reports damaged or truncated arguments).
        let fast = if fast_path {
            fast::decode(data, pos)
        } else {
            None
        };
        let (off, flow) = if let Some(fop) = fast {
            dis.seek(fop.end);
            ops += 1;
            if ops > m.limits.max_ops {
                break StreamEnd::Budget {
                    offset: pos,
                    what: "pickle opcode budget",
                };
            }
            if m.values.len() > m.limits.max_values {
                break StreamEnd::Budget {
                    offset: pos,
                    what: "pickle value budget",
                };
            }
            if fop.proto > m.protocol {
                m.protocol_violations.push((pos, fop.opcode));
            }
            (pos, m.fast_step(&fop, pos))
        } else {
            let op = match dis.next_op() {
                None => break StreamEnd::NoStop { offset: pos },
                Some(Err(e)) => break StreamEnd::Damaged(e),
                Some(Ok(op)) => op,
            };
            ops += 1;
            if ops > m.limits.max_ops {
                break StreamEnd::Budget {
                    offset: op.offset,
                    what: "pickle opcode budget",
                };
            }
            if m.values.len() > m.limits.max_values {
                break StreamEnd::Budget {
                    offset: op.offset,
                    what: "pickle value budget",
                };
            }
            if op.proto > m.protocol && op.opcode != Opcode::PROTO {
                m.protocol_violations.push((op.offset, op.opcode));
            }
            m.check_frame_boundary(op.offset, op.opcode);
            (op.offset, m.step(&op, &mut dis))
        };
        match flow {
            Ok(Flow::Continue) => {
                imported |= stop_at_import
                    && m.events
                        .last()
                        .is_some_and(|e| matches!(e.kind, EventKind::Import { .. }));
                if imported && ops >= 3 {
                    break StreamEnd::Budget {
                        offset: off,
                        what: "probe stops at the first import",
                    };
                }
            }
            Ok(Flow::Stop(v)) => {
                if let Some(s) = m.saved.pop() {
                    // End of a nested object-array pickle inside joblib: resume the outer one.
                    m.stack = s.stack;
                    m.marks = s.marks;
                    m.memo = s.memo;
                    m.stack.push(s.wrapper_result);
                    continue;
                }
                result = Some(v);
                break StreamEnd::Stop { offset: off };
            }
            Err(Stop::Loader(what)) => {
                break StreamEnd::LoaderError { offset: off, what };
            }
            Err(Stop::Budget(what)) => {
                break StreamEnd::Budget { offset: off, what };
            }
        }
    };
    if let Some((off, declared, fstart)) = m.frame.take() {
        let actual = dis.offset().saturating_sub(fstart) as u64;
        if end.is_complete() && actual != declared {
            m.frame_issues.push(FrameIssue {
                offset: off,
                declared,
                actual,
            });
        }
    }
    Program {
        values: m.values,
        events: m.events,
        start,
        end_offset: dis.offset(),
        end,
        protocol: m.protocol,
        ops,
        frame_issues: m.frame_issues,
        protocol_violations: m.protocol_violations,
        result,
    }
}

/// Whether `s` is a float literal as `f64::from_str` accepts it (and hence as the loader's
/// `float()` accepts it, apart from underscores): optional sign, then `inf`, `infinity` or
/// `nan` in any case, or digits with an optional point and fraction (at least one digit)
/// and an optional exponent. Checked without converting.
fn is_float_literal(s: &[u8]) -> bool {
    let s = match s.first() {
        Some(b'+' | b'-') => s.get(1..).unwrap_or_default(),
        _ => s,
    };
    if s.first().is_some_and(u8::is_ascii_alphabetic) {
        return s.eq_ignore_ascii_case(b"inf")
            || s.eq_ignore_ascii_case(b"infinity")
            || s.eq_ignore_ascii_case(b"nan");
    }
    let n = s.len();
    let mut i = 0;
    while i < n && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i;
    if i < n && s[i] == b'.' {
        i += 1;
        let f = i;
        while i < n && s[i].is_ascii_digit() {
            i += 1;
        }
        mantissa_digits += i - f;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if i < n && (s[i] == b'e' || s[i] == b'E') {
        i += 1;
        if i < n && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < n && s[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == n
}

enum Flow {
    Continue,
    Stop(ValueId),
}

enum Stop {
    Loader(String),
    Budget(&'static str),
}

type Step = Result<Flow, Stop>;

fn loader(what: impl Into<String>) -> Stop {
    Stop::Loader(what.into())
}

impl<'a> Machine<'a> {
    /// Frames: a FRAME opcode announces the length of the following opcodes. We check that
    /// frames end on opcode boundaries at the next FRAME (or STOP).
    fn check_frame_boundary(&mut self, offset: usize, opcode: Opcode) {
        if opcode == Opcode::FRAME
            && let Some((off, declared, fstart)) = self.frame.take()
        {
            let actual = offset.saturating_sub(fstart) as u64;
            if actual != declared {
                self.frame_issues.push(FrameIssue {
                    offset: off,
                    declared,
                    actual,
                });
            }
        }
    }

    #[inline(always)]
    fn new_value(&mut self, v: Value) -> Result<ValueId, Stop> {
        if self.values.len() >= self.limits.max_values {
            return Err(Stop::Budget("pickle value budget"));
        }
        Ok(self.values.push(v))
    }

    #[inline(always)]
    fn push(&mut self, v: Value) -> Step {
        let id = self.new_value(v)?;
        self.stack.push(id);
        Ok(Flow::Continue)
    }

    fn pop(&mut self) -> Result<ValueId, Stop> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(loader("unpickling stack underflow"));
        }
        self.stack
            .pop()
            .ok_or_else(|| loader("unpickling stack underflow"))
    }

    fn top(&self) -> Result<ValueId, Stop> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(loader("unpickling stack underflow"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| loader("unpickling stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<ValueId>, Stop> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| loader("could not find MARK"))?;
        if m > self.stack.len() {
            return Err(loader("could not find MARK"));
        }
        Ok(self.stack.split_off(m))
    }

    #[inline]
    fn memo_put(&mut self, idx: i64, v: ValueId) -> Result<(), Stop> {
        if idx < 0 {
            return Err(loader("negative PUT argument"));
        }
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains(idx) {
            return Err(Stop::Budget("pickle memo budget"));
        }
        self.memo.insert(idx, v);
        Ok(())
    }

    #[inline]
    fn int_arg(op: &super::disasm::Op<'_>) -> Result<i64, Stop> {
        match &op.arg {
            Arg::Int(i) => Ok(*i),
            // PUT/GET: Python's `int(s, 10)` (whitespace, `+`, `_` separators).
            Arg::Text(t) => match super::pyint::python_int(t, 10) {
                Some(super::pyint::PyInt::Small(i)) => Ok(i),
                _ => Err(loader(format!("invalid integer argument {t:?}"))),
            },
            _ => Err(loader("missing integer argument")),
        }
    }

    fn record(&mut self, offset: usize, kind: EventKind) {
        self.events.push(Event { offset, kind });
    }

    fn import(
        &mut self,
        offset: usize,
        module: String,
        name: String,
        via: Opcode,
        computed: bool,
    ) -> Result<ValueId, Stop> {
        // The loader imports `module` and walks `name`: anything that is not a dotted Python
        // identifier fails there (ModuleNotFoundError / AttributeError) before any effect.
        if !is_dotted_identifier(&module) || !is_dotted_identifier(&name) {
            return Err(loader(format!(
                "cannot import {module:?}.{name:?}: not a Python name"
            )));
        }
        let (module, name) = normalize_py2(module, name);
        let id = self.new_value(Value::Global {
            module: module.clone(),
            name: name.clone(),
        })?;
        self.record(
            offset,
            EventKind::Import {
                module,
                name,
                via,
                computed,
                value: id,
            },
        );
        Ok(id)
    }

    fn call(
        &mut self,
        offset: usize,
        callee: ValueId,
        args: ValueId,
        kwargs: Option<ValueId>,
        via: Opcode,
    ) -> Result<ValueId, Stop> {
        let id = self.new_value(Value::Call {
            callee,
            args,
            kwargs,
            via,
            offset,
        })?;
        self.record(offset, EventKind::Call { value: id });
        self.register_extension(callee, args);
        Ok(id)
    }

    /// `copyreg.add_extension(module, name, code)` inside the pickle registers an EXT code.
    fn register_extension(&mut self, callee: ValueId, args: ValueId) {
        let is_add = matches!(self.values.get(callee),
            Value::Global { module, name } if module == "copyreg" && name == "add_extension");
        if !is_add {
            return;
        }
        let Some(items) = self.values.items(args) else {
            return;
        };
        let (Some(m), Some(n), Some(c)) = (items.first(), items.get(1), items.get(2)) else {
            return;
        };
        let (Some(m), Some(n)) = (self.values.as_str(*m), self.values.as_str(*n)) else {
            return;
        };
        if let Value::Int(code) = self.values.get(*c) {
            let entry = (m.to_string(), n.to_string());
            self.ext_registry.insert(*code, entry);
        }
    }

    fn step(&mut self, op: &super::disasm::Op<'a>, dis: &mut Disassembler<'a>) -> Step {
        use Opcode as O;
        let off = op.offset;
        match op.opcode {
            O::MARK => {
                self.marks.push(self.stack.len());
            }
            O::STOP => {
                let v = self.pop()?;
                return Ok(Flow::Stop(v));
            }
            O::POP => {
                let floor = self.marks.last().copied().unwrap_or(0);
                if self.stack.len() <= floor && !self.marks.is_empty() {
                    // CPython pops the mark when the stack above it is empty.
                    self.marks.pop();
                } else {
                    self.pop()?;
                }
            }
            O::POP_MARK => {
                self.pop_mark()?;
            }
            O::DUP => {
                let v = self.top()?;
                self.stack.push(v);
            }
            O::FLOAT => {
                let Arg::Text(t) = &op.arg else {
                    return Err(loader("FLOAT without argument"));
                };
                let lead = t.len() - t.trim_start().len();
                let lit = t.trim();
                if !is_float_literal(lit.as_bytes()) {
                    return Err(loader(format!("could not convert string to float: {t:?}")));
                }
                // The argument is the line after the opcode byte, so it starts at offset + 1.
                let start = off.saturating_add(1).saturating_add(lead);
                let end = start.saturating_add(lit.len());
                return self.push(Value::FloatText { start, end });
            }
            O::BINFLOAT => {
                let Arg::Float(f) = op.arg else {
                    return Err(loader("BINFLOAT without argument"));
                };
                return self.push(Value::Float(f));
            }
            O::INT => {
                let Arg::Text(t) = &op.arg else {
                    return Err(loader("INT without argument"));
                };
                let v = match t.trim() {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    s => super::pyint::int_opcode(s)
                        .map(int_value)
                        .ok_or_else(|| loader(format!("invalid literal for int(): {t:?}")))?,
                };
                return self.push(v);
            }
            O::LONG => {
                let Arg::Text(t) = &op.arg else {
                    return Err(loader("LONG without argument"));
                };
                // `_pickle` drops one `L` just before the newline, then `int(s, 0)`.
                let s = t.strip_suffix('L').unwrap_or(t);
                let v = super::pyint::python_int(s, 0)
                    .map(int_value)
                    .ok_or_else(|| loader(format!("invalid literal for int(): {t:?}")))?;
                return self.push(v);
            }
            O::BININT | O::BININT1 | O::BININT2 => {
                let i = Self::int_arg(op)?;
                return self.push(Value::Int(i));
            }
            O::LONG1 | O::LONG4 => {
                let Arg::LongBytes(b) = op.arg else {
                    return Err(loader("LONG1 without argument"));
                };
                return self.push(decode_long(b));
            }
            O::NONE => return self.push(Value::None),
            O::NEWTRUE => return self.push(Value::Bool(true)),
            O::NEWFALSE => return self.push(Value::Bool(false)),
            O::PERSID => {
                let Arg::Text(t) = &op.arg else {
                    return Err(loader("PERSID without argument"));
                };
                let pid = self.new_value(Value::Str(t.to_string()))?;
                self.record(off, EventKind::PersistentLoad { pid });
                return self.push(Value::PersId(pid));
            }
            O::BINPERSID => {
                let pid = self.pop()?;
                self.record(off, EventKind::PersistentLoad { pid });
                return self.push(Value::PersId(pid));
            }
            O::REDUCE => {
                let args = self.pop()?;
                let callee = self.pop()?;
                let id = self.call(off, callee, args, None, O::REDUCE)?;
                self.stack.push(id);
            }
            O::STRING | O::BINSTRING | O::SHORT_BINSTRING => {
                // Python 3 decodes protocol 0-2 strings as ASCII by default; keep text
                // when it is valid UTF-8 so names used by STACK_GLOBAL resolve.
                let bytes: Vec<u8> = match &op.arg {
                    Arg::Escaped(b) => b.clone(),
                    Arg::Bytes(b) => b.to_vec(),
                    _ => return Err(loader("STRING without argument")),
                };
                let v = match String::from_utf8(bytes) {
                    Ok(s) => Value::Str(s),
                    Err(e) => Value::Bytes(e.into_bytes()),
                };
                return self.push(v);
            }
            O::UNICODE => {
                let Arg::Text(t) = &op.arg else {
                    return Err(loader("UNICODE without argument"));
                };
                return self.push(Value::Str(t.to_string()));
            }
            O::BINUNICODE | O::SHORT_BINUNICODE | O::BINUNICODE8 => {
                let Arg::Bytes(b) = op.arg else {
                    return Err(loader("BINUNICODE without argument"));
                };
                // The loader's `utf-8`/`surrogatepass` decoding (see `pickle::text`).
                let s = crate::pickle::text::decode_surrogatepass(b)
                    .ok_or_else(|| loader("BINUNICODE payload is not valid UTF-8"))?;
                return self.push(Value::Str(s.into_owned()));
            }
            O::BINBYTES | O::SHORT_BINBYTES | O::BINBYTES8 | O::BYTEARRAY8 => {
                let Arg::Bytes(b) = op.arg else {
                    return Err(loader("BINBYTES without argument"));
                };
                let start = op.end.saturating_sub(b.len());
                return self.push(Value::DataBytes { start, end: op.end });
            }
            O::APPEND => self.append_one(off)?,
            O::APPENDS => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.extend_list(off, target, items, "extend")?;
            }
            O::BUILD => {
                let state = self.pop()?;
                let obj = self.top()?;
                self.record(off, EventKind::Build { obj, state });
                self.after_build(off, obj, state, dis)?;
            }
            O::GLOBAL => {
                let Arg::Pair(m, n) = &op.arg else {
                    return Err(loader("GLOBAL without argument"));
                };
                let id = self.import(off, m.clone(), n.clone(), O::GLOBAL, false)?;
                self.stack.push(id);
            }
            O::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let literal = matches!(self.values.get(name), Value::Str(_))
                    && matches!(self.values.get(module), Value::Str(_));
                let n = fold_str(&self.values, name, 0);
                let m = fold_str(&self.values, module, 0);
                let (Some(m), Some(n)) = (m, n) else {
                    return Err(loader("STACK_GLOBAL requires str"));
                };
                let id = self.import(off, m, n, O::STACK_GLOBAL, !literal)?;
                self.stack.push(id);
            }
            O::DICT => {
                let items = self.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(loader("odd number of items for DICT"));
                }
                let kv = items
                    .chunks(2)
                    .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
                    .collect();
                return self.push(Value::Dict(kv));
            }
            O::EMPTY_DICT => return self.push(Value::Dict(Vec::new())),
            O::EMPTY_LIST => return self.push(Value::List(Vec::new())),
            O::EMPTY_TUPLE => return self.push(Value::Tuple(Vec::new())),
            O::EMPTY_SET => return self.push(Value::Set(Vec::new())),
            O::LIST => {
                let items = self.pop_mark()?;
                return self.push(Value::List(items));
            }
            O::TUPLE => {
                let items = self.pop_mark()?;
                return self.push(Value::Tuple(items));
            }
            O::TUPLE1 => return self.tuple_of(1),
            O::TUPLE2 => return self.tuple_of(2),
            O::TUPLE3 => return self.tuple_of(3),
            O::FROZENSET => {
                let items = self.pop_mark()?;
                return self.push(Value::FrozenSet(items));
            }
            O::ADDITEMS => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.add_items(off, target, items)?;
            }
            O::GET | O::BINGET | O::LONG_BINGET => {
                let idx = Self::int_arg(op)?;
                let v = self
                    .memo
                    .get(idx)
                    .ok_or_else(|| loader(format!("memo value not found at index {idx}")))?;
                self.stack.push(v);
            }
            O::PUT | O::BINPUT | O::LONG_BINPUT => {
                let idx = Self::int_arg(op)?;
                let v = self.top()?;
                self.memo_put(idx, v)?;
            }
            O::MEMOIZE => {
                let v = self.top()?;
                let idx = i64::try_from(self.memo.len()).unwrap_or(i64::MAX);
                self.memo_put(idx, v)?;
            }
            O::INST => {
                let Arg::Pair(m, n) = &op.arg else {
                    return Err(loader("INST without argument"));
                };
                let args = self.pop_mark()?;
                let cls = self.import(off, m.clone(), n.clone(), O::INST, false)?;
                let args = self.new_value(Value::Tuple(args))?;
                let id = self.call(off, cls, args, None, O::INST)?;
                self.stack.push(id);
            }
            O::OBJ => {
                let mut items = self.pop_mark()?;
                if items.is_empty() {
                    return Err(loader("OBJ without class"));
                }
                let cls = items.remove(0);
                let args = self.new_value(Value::Tuple(items))?;
                let id = self.call(off, cls, args, None, O::OBJ)?;
                self.stack.push(id);
            }
            O::NEWOBJ => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let id = self.call(off, cls, args, None, O::NEWOBJ)?;
                self.stack.push(id);
            }
            O::NEWOBJ_EX => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let id = self.call(off, cls, args, Some(kwargs), O::NEWOBJ_EX)?;
                self.stack.push(id);
            }
            O::SETITEM => {
                let v = self.pop()?;
                let k = self.pop()?;
                let target = self.top()?;
                self.set_items(off, target, vec![(k, v)])?;
            }
            O::SETITEMS => {
                let items = self.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(loader("odd number of items for SETITEMS"));
                }
                let target = self.top()?;
                let kv = items
                    .chunks(2)
                    .filter_map(|c| Some((*c.first()?, *c.get(1)?)))
                    .collect();
                self.set_items(off, target, kv)?;
            }
            O::PROTO => {
                let p = Self::int_arg(op)?;
                if !(0..=5).contains(&p) {
                    return Err(loader(format!("unsupported pickle protocol: {p}")));
                }
                self.protocol = u8::try_from(p).unwrap_or(5);
            }
            O::EXT1 | O::EXT2 | O::EXT4 => {
                let code = Self::int_arg(op)?;
                if code <= 0 {
                    return Err(loader("EXT specifies code <= 0"));
                }
                let Some((m, n)) = self.ext_registry.get(&code).cloned() else {
                    return Err(loader(format!("unregistered extension code {code}")));
                };
                let id = self.import(off, m, n, op.opcode, false)?;
                self.stack.push(id);
            }
            O::FRAME => {
                let len = Self::int_arg(op)?;
                self.frame = Some((off, u64::try_from(len).unwrap_or(0), op.end));
            }
            O::NEXT_BUFFER => return self.push(Value::Buffer),
            O::READONLY_BUFFER => {
                self.top()?;
            }
        }
        Ok(Flow::Continue)
    }

    /// APPEND: the top value appended to the list (or `append`-called on the object) below.
    #[inline]
    fn append_one(&mut self, off: usize) -> Result<(), Stop> {
        let v = self.pop()?;
        let target = self.top()?;
        if let Some(Value::List(l)) = self.values.get_mut(target) {
            l.push(v);
            Ok(())
        } else {
            self.extend_list(off, target, vec![v], "append")
        }
    }

    /// TUPLE1/2/3: the top `n` values (popped last-first, as the loader does) as a tuple.
    #[inline]
    fn tuple_of(&mut self, n: usize) -> Step {
        let mut items = vec![0; n];
        for slot in items.iter_mut().rev() {
            *slot = self.pop()?;
        }
        self.push(Value::Tuple(items))
    }

    fn extend_list(
        &mut self,
        off: usize,
        target: ValueId,
        items: Vec<ValueId>,
        method: &str,
    ) -> Result<(), Stop> {
        if let Some(Value::List(l)) = self.values.get_mut(target) {
            l.extend(items);
            return Ok(());
        }
        // Not a list: the loader calls target.extend(items) / target.append(item).
        let attr = self.new_value(Value::Attr {
            obj: target,
            name: method.to_string(),
        })?;
        let list = self.new_value(Value::List(items))?;
        let args = self.new_value(Value::Tuple(vec![list]))?;
        self.call(off, attr, args, None, Opcode::APPENDS)?;
        Ok(())
    }

    fn add_items(&mut self, off: usize, target: ValueId, items: Vec<ValueId>) -> Result<(), Stop> {
        if let Some(Value::Set(s)) = self.values.get_mut(target) {
            s.extend(items);
            return Ok(());
        }
        let attr = self.new_value(Value::Attr {
            obj: target,
            name: "add".to_string(),
        })?;
        let list = self.new_value(Value::List(items))?;
        let args = self.new_value(Value::Tuple(vec![list]))?;
        self.call(off, attr, args, None, Opcode::ADDITEMS)?;
        Ok(())
    }

    fn set_items(
        &mut self,
        off: usize,
        target: ValueId,
        kv: Vec<(ValueId, ValueId)>,
    ) -> Result<(), Stop> {
        if let Some(Value::Dict(d)) = self.values.get_mut(target) {
            d.extend(kv);
            return Ok(());
        }
        let attr = self.new_value(Value::Attr {
            obj: target,
            name: "__setitem__".to_string(),
        })?;
        let mut flat = Vec::with_capacity(kv.len().saturating_mul(2).min(1 << 16));
        for (k, v) in kv {
            flat.push(k);
            flat.push(v);
        }
        let args = self.new_value(Value::Tuple(flat))?;
        self.call(off, attr, args, None, Opcode::SETITEMS)?;
        Ok(())
    }

    /// joblib's unpickler reads a NumpyArrayWrapper's array bytes straight from the file
    /// right after its BUILD; skip them (or run the nested object-array pickle).
    fn after_build(
        &mut self,
        off: usize,
        obj: ValueId,
        state: ValueId,
        dis: &mut Disassembler<'a>,
    ) -> Result<(), Stop> {
        let Some(info) = joblib_wrapper(&self.values, obj, state) else {
            return Ok(());
        };
        let mut pos = dis.offset();
        if info.object_dtype {
            if self.saved.len() >= self.limits.max_nesting {
                return Err(Stop::Budget("joblib nested pickle depth"));
            }
            self.record(
                off,
                EventKind::JoblibArray {
                    bytes: 0,
                    object_dtype: true,
                },
            );
            self.frame = None;
            // The object array is a complete pickle of its own; run it with a fresh stack and memo.
            let wrapper = self.pop()?;
            self.saved.push(Saved {
                stack: std::mem::take(&mut self.stack),
                marks: std::mem::take(&mut self.marks),
                memo: std::mem::take(&mut self.memo),
                wrapper_result: wrapper,
            });
            return Ok(());
        }
        if info.padded {
            let pad = usize::from(
                *self
                    .data
                    .get(pos)
                    .ok_or_else(|| loader("joblib array padding byte missing"))?,
            );
            pos = pos.saturating_add(1).saturating_add(pad);
        }
        let end = pos
            .checked_add(info.bytes)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| loader("joblib array data runs past the end of the file"))?;
        self.record(
            off,
            EventKind::JoblibArray {
                bytes: info.bytes,
                object_dtype: false,
            },
        );
        // The raw array bytes sit outside the pickle's framing: frame accounting restarts.
        self.frame = None;
        dis.seek(end);
        Ok(())
    }
}

struct JoblibInfo {
    bytes: usize,
    object_dtype: bool,
    padded: bool,
}

fn is_global(values: &Values, id: ValueId, m: &str, n: &str) -> bool {
    matches!(values.get(id), Value::Global { module, name } if module == m && name == n)
}

/// Recognise `joblib.numpy_pickle.NumpyArrayWrapper` (constructed by NEWOBJ or
/// `copyreg._reconstructor`) and compute the size of the raw array that follows.
fn joblib_wrapper(values: &Values, obj: ValueId, state: ValueId) -> Option<JoblibInfo> {
    let Value::Call { callee, args, .. } = values.get(obj) else {
        return None;
    };
    let cls = if is_global(values, *callee, "copyreg", "_reconstructor") {
        *values.items(*args)?.first()?
    } else {
        *callee
    };
    let is_wrapper = matches!(values.get(cls), Value::Global { module, name }
        if name == "NumpyArrayWrapper" && module.ends_with("numpy_pickle"));
    if !is_wrapper {
        return None;
    }
    let Value::Dict(kv) = values.get(state) else {
        return None;
    };
    let field = |key: &str| {
        kv.iter()
            .find(|(k, _)| values.as_str(*k) == Some(key))
            .map(|(_, v)| *v)
    };
    let shape = field("shape")?;
    let mut count: usize = 1;
    for d in values.items(shape)? {
        let Value::Int(n) = values.get(*d) else {
            return None;
        };
        count = count.checked_mul(usize::try_from(*n).ok()?)?;
    }
    let dtype = field("dtype")?;
    let (itemsize, object_dtype) = dtype_itemsize(values, dtype)?;
    let padded = matches!(
        field("numpy_array_alignment_bytes").map(|v| values.get(v)),
        Some(Value::Int(_))
    );
    Some(JoblibInfo {
        bytes: count.checked_mul(itemsize)?,
        object_dtype,
        padded,
    })
}

/// Item size of a `numpy.dtype(descr, ...)` call, and whether it holds Python objects.
fn dtype_itemsize(values: &Values, dtype: ValueId) -> Option<(usize, bool)> {
    let Value::Call { args, .. } = values.get(dtype) else {
        return None;
    };
    let descr = values.as_str(*values.items(*args)?.first()?)?;
    let kind = descr.chars().next()?;
    let digits: String = descr.chars().skip(1).filter(char::is_ascii_digit).collect();
    let n: usize = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    match kind {
        'O' => Some((8, true)),
        'U' => Some((n.checked_mul(4)?, false)),
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' | 'a' => Some((n, false)),
        '?' => Some((1, false)),
        _ => None,
    }
}

/// Constant-fold a value to a string: literals and the string-building calls attackers use
/// to hide names (`str.join`, `operator.add`, `getattr("", "join")`, bytes `decode`).
pub fn fold_str(values: &Values, id: ValueId, depth: usize) -> Option<String> {
    if depth > 16 {
        return None;
    }
    match values.get(id) {
        Value::Str(s) => Some(s.clone()),
        Value::Bytes(b) => String::from_utf8(b.clone()).ok(),
        Value::Call { callee, args, .. } => {
            let items = values.items(*args)?;
            let callee_v = values.get(*callee);
            let qual = match callee_v {
                Value::Global { module, name } => Some(format!("{module}.{name}")),
                _ => None,
            };
            match qual.as_deref() {
                Some("builtins.str") | Some("__builtin__.str") => {
                    fold_str(values, *items.first()?, depth + 1)
                }
                Some("operator.add")
                | Some("_operator.add")
                | Some("operator.concat")
                | Some("_operator.concat")
                | Some("builtins.str.__add__") => {
                    let a = fold_str(values, *items.first()?, depth + 1)?;
                    let b = fold_str(values, *items.get(1)?, depth + 1)?;
                    Some(a + &b)
                }
                Some("builtins.str.join") => {
                    let sep = fold_str(values, *items.first()?, depth + 1)?;
                    join(values, &sep, *items.get(1)?, depth)
                }
                _ => {
                    // getattr("sep", "join")(list) / builtins.getattr(...) bound methods.
                    if let Value::Call {
                        callee: g,
                        args: gargs,
                        ..
                    } = callee_v
                        && matches!(values.get(*g), Value::Global { name, .. } if name == "getattr")
                    {
                        let gi = values.items(*gargs)?;
                        let meth = values.as_str(*gi.get(1)?)?;
                        let recv = fold_str(values, *gi.first()?, depth + 1)?;
                        return match meth {
                            "join" => join(values, &recv, *items.first()?, depth),
                            "__add__" | "__concat__" => {
                                Some(recv + &fold_str(values, *items.first()?, depth + 1)?)
                            }
                            "lower" => Some(recv.to_lowercase()),
                            "upper" => Some(recv.to_uppercase()),
                            "strip" => Some(recv.trim().to_string()),
                            "decode" => Some(recv),
                            _ => None,
                        };
                    }
                    None
                }
            }
        }
        _ => None,
    }
}

fn join(values: &Values, sep: &str, list: ValueId, depth: usize) -> Option<String> {
    let parts: Option<Vec<String>> = values
        .items(list)?
        .iter()
        .map(|p| fold_str(values, *p, depth + 1))
        .collect();
    Some(parts?.join(sep))
}

fn int_value(i: super::pyint::PyInt) -> Value {
    match i {
        super::pyint::PyInt::Small(v) => Value::Int(v),
        super::pyint::PyInt::Big(s) => Value::BigInt(s),
    }
}

fn decode_long(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() <= 8 {
        let neg = b.last().is_some_and(|x| x & 0x80 != 0);
        let mut buf = if neg { [0xffu8; 8] } else { [0u8; 8] };
        for (i, x) in b.iter().enumerate() {
            if let Some(slot) = buf.get_mut(i) {
                *slot = *x;
            }
        }
        return Value::Int(i64::from_le_bytes(buf));
    }
    let mut hex = String::from("0x");
    for x in b.iter().rev().take(64) {
        hex.push_str(&format!("{x:02x}"));
    }
    if b.len() > 64 {
        hex.push('…');
    }
    Value::BigInt(hex)
}

/// `a.b.c` where every part is a Python identifier (ASCII or any non-ASCII letter).
fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// Python 2 module names the Python 3 loader maps to their new homes (facts from
/// `_compat_pickle`).
fn normalize_py2(module: String, name: String) -> (String, String) {
    if module == "__builtin__" {
        let renamed = match name.as_str() {
            "xrange" => Some(("builtins", "range")),
            "unicode" | "basestring" => Some(("builtins", "str")),
            "long" => Some(("builtins", "int")),
            "unichr" => Some(("builtins", "chr")),
            "reduce" => Some(("functools", "reduce")),
            "intern" => Some(("sys", "intern")),
            "raw_input" => Some(("builtins", "input")),
            "apply" => Some(("builtins", "apply")),
            _ => None,
        };
        if let Some((m, n)) = renamed {
            return (m.to_string(), n.to_string());
        }
    }
    let m = match module.as_str() {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "cPickle" => "pickle",
        "commands" => "subprocess",
        "UserDict" | "UserList" | "UserString" => "collections",
        "urllib2" => "urllib.request",
        "httplib" => "http.client",
        "SocketServer" => "socketserver",
        "Queue" => "queue",
        "thread" => "_thread",
        "cStringIO" | "StringIO" => "io",
        "__main__" if name == "__builtins__" => "builtins",
        _ => return (module, name),
    };
    (m.to_string(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_literal_check_agrees_with_from_str() {
        for t in [
            "0",
            "1.",
            ".5",
            "-0.25",
            "+3e10",
            "1E-5",
            "2.5e+3",
            "inf",
            "-Infinity",
            "NaN",
            "nan",
            "",
            ".",
            "-",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "0x10",
            "1_0",
            "in",
            "infx",
            "1 2",
            "0.8444218515250481",
            "1.7976931348623157e308",
            "5e-324",
            "--1",
            "+.e1",
        ] {
            assert_eq!(
                is_float_literal(t.as_bytes()),
                t.parse::<f64>().is_ok(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn protocol_0_floats_are_checked_and_rendered_from_their_text() {
        let p = run_stream(b"(lp0\nF0.1\naF  -2.5e3 \r\na.", 0, VmLimits::default());
        assert!(p.end.is_complete(), "{:?}", p.end);
        let data: &[u8] = b"(lp0\nF0.1\naF  -2.5e3 \r\na.";
        assert_eq!(p.values.render(p.result.unwrap(), data), "[0.1, -2500.0]");
        let bad = run_stream(b"(lp0\nFhello\na.", 0, VmLimits::default());
        assert!(
            matches!(bad.end, StreamEnd::LoaderError { .. }),
            "{:?}",
            bad.end
        );
    }

    fn run(d: &[u8]) -> Program {
        run_stream(d, 0, VmLimits::default())
    }

    fn imports(p: &Program) -> Vec<String> {
        p.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Import { module, name, .. } => Some(format!("{module}.{name}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn records_import_and_call_with_offsets() {
        let p = run(b"cos\nsystem\n(S'id'\ntR.");
        assert!(p.end.is_complete());
        assert_eq!(imports(&p), ["os.system"]);
        let call = p
            .events
            .iter()
            .find(|e| matches!(e.kind, EventKind::Call { .. }))
            .unwrap();
        assert_eq!(call.offset, 0x13);
        let EventKind::Call { value } = call.kind else {
            unreachable!()
        };
        assert_eq!(p.values.render(value, b""), "os.system(\"id\")");
    }

    #[test]
    fn stack_global_through_memo_and_join() {
        // builtins.str.join("", ["o", "s"]) used as the module name.
        let mut d = Vec::new();
        d.extend_from_slice(b"\x80\x04");
        d.extend_from_slice(b"\x8c\x08builtins\x94\x8c\x08str.join\x94\x93\x94");
        d.extend_from_slice(b"\x8c\x00\x94(\x8c\x01o\x94\x8c\x01s\x94l\x94\x86\x94R\x94");
        d.extend_from_slice(b"\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.");
        let p = run(&d);
        assert!(p.end.is_complete(), "{:?}", p.end);
        let im = imports(&p);
        assert!(im.contains(&"os.system".to_string()), "{im:?}");
        assert!(
            p.events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Import { computed: true, .. }))
        );
    }

    #[test]
    fn truncated_stream_keeps_events_before_the_break() {
        let p = run(b"cos\nsystem\n(S'id'\ntR\xff\xff");
        assert!(matches!(p.end, StreamEnd::Damaged(_)));
        assert_eq!(imports(&p), ["os.system"]);
        let p = run(b"cos\nsystem\n(S'id'\ntR");
        assert!(matches!(p.end, StreamEnd::NoStop { .. }));
    }

    #[test]
    fn loader_errors_stop_the_machine() {
        assert!(matches!(run(b"R.").end, StreamEnd::LoaderError { .. }));
        assert!(matches!(run(b"h\x05.").end, StreamEnd::LoaderError { .. }));
        assert!(matches!(
            run(b"\x82\x01.").end,
            StreamEnd::LoaderError { .. }
        ));
    }

    #[test]
    fn ext_codes_resolve_after_add_extension() {
        let d = b"ccopyreg\nadd_extension\n(S'os'\nS'system'\nK\x07tR0\x82\x07(S'id'\ntR.";
        let p = run(d);
        assert!(p.end.is_complete(), "{:?}", p.end);
        assert!(imports(&p).contains(&"os.system".to_string()));
    }

    #[test]
    fn frame_length_mismatch_is_recorded() {
        // FRAME says 2 bytes but 3 follow before STOP... then STOP.
        let d = b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N0N.";
        let p = run(d);
        assert!(p.end.is_complete());
        assert_eq!(p.frame_issues.len(), 1);
        assert_eq!(p.frame_issues[0].declared, 2);
    }

    #[test]
    fn memo_budget_is_enforced() {
        let mut d = b"N".to_vec();
        for i in 0..100u8 {
            d.extend_from_slice(&[b'q', i]);
        }
        d.push(b'.');
        let p = run_stream(
            &d,
            0,
            VmLimits {
                max_memo: 10,
                ..VmLimits::default()
            },
        );
        assert!(matches!(p.end, StreamEnd::Budget { .. }));
    }

    #[test]
    fn billion_laughs_is_cheap() {
        // Each level duplicates the previous list 10 times via memo GETs.
        let mut d = b"]q\x00".to_vec();
        for lvl in 1..30u8 {
            d.push(b'(');
            for _ in 0..10 {
                d.extend_from_slice(&[b'h', lvl - 1]);
            }
            d.extend_from_slice(&[b'l', b'q', lvl]);
        }
        d.push(b'.');
        let p = run(&d);
        assert!(p.end.is_complete());
        assert!(p.values.len() < 100);
    }
}
