//! Disassembly of a Python `marshal`-serialised code object (as Keras stores Lambda layers,
//! base64 in the model config) without running or importing anything: its names,
//! constants (nested code objects included), local variable names, file and function name,
//! and a best-effort list of what the bytecode imports and calls (`os.system("echo hi")`).
//!
//! Code-object layouts of CPython 3.8-3.10 and 3.11+ are told apart by which one parses the
//! whole stream; 3.11, 3.12 and 3.13 bytecode (same layout, different opcode numbers and
//! semantics) by the number of the RESUME instruction every code object starts with, then
//! 3.11 from 3.12 by their inline-cache sizes and version-only opcodes. Bytecode that starts
//! like none of them (3.14+) is listed by names and constants only. Bounded: nesting depth, object count, code
//! objects, rendered text.

mod bytecode;
mod objects;

pub use bytecode::Call;
pub use objects::CodeLayout;
use objects::{Id, Obj, RawCode, Reader, SeqKind};

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated {what} at byte {at}")]
    Truncated { at: usize, what: &'static str },
    #[error("invalid marshal data at byte {at}: {what}")]
    Invalid { at: usize, what: String },
    #[error("{what} exceed the limit of {limit}")]
    Limit { what: &'static str, limit: usize },
    #[error("not a code object (top-level type {0:?})")]
    NotCode(char),
}

/// Budgets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_objects: usize,
    pub max_depth: usize,
    pub max_code_objects: usize,
    /// Most instructions interpreted per code object.
    pub max_instructions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_objects: 200_000,
            max_depth: 200,
            max_code_objects: 1024,
            max_instructions: 200_000,
        }
    }
}

/// Which interpreter the bytecode is for, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyVersion {
    /// 3.8, 3.9 or 3.10 (same layout and the same opcodes for what is read here).
    Py38To310,
    Py311,
    Py312,
    /// 3.13 (renumbered opcodes, CALL_KW, superinstructions).
    Py313,
    /// 3.14 or later (RESUME renumbered to 128, opcodes renumbered again): names and
    /// constants are listed, calls are not (no 3.14 interpreter was available to check
    /// an opcode table against).
    Py314Plus,
    /// The 3.11+ layout with bytecode that does not start like any version known here
    /// (3.14 and later renumbered the opcodes again): names and constants are listed,
    /// calls are not.
    Unknown,
}

impl PyVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            PyVersion::Py38To310 => "CPython 3.8-3.10",
            PyVersion::Py311 => "CPython 3.11",
            PyVersion::Py312 => "CPython 3.12",
            PyVersion::Py313 => "CPython 3.13",
            PyVersion::Py314Plus => "CPython 3.14+ (opcodes not decoded)",
            PyVersion::Unknown => "CPython 3.11+ (unknown opcode numbering; opcodes not decoded)",
        }
    }
}

/// One code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeObject {
    pub name: String,
    pub qualname: Option<String>,
    pub filename: String,
    pub firstlineno: i64,
    pub argcount: i64,
    /// `co_names`: globals, attributes and modules the code refers to.
    pub names: Vec<String>,
    /// Local, cell and free variable names.
    pub varnames: Vec<String>,
    /// Constants, rendered like Python's `repr` (bounded).
    pub consts: Vec<String>,
    /// Code objects among the constants (nested functions, lambdas, comprehensions).
    pub nested: Vec<CodeObject>,
    pub bytecode_len: usize,
}

/// A disassembled code object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disassembly {
    pub layout: CodeLayout,
    pub version: PyVersion,
    pub code: CodeObject,
    /// Modules imported (`IMPORT_NAME`), and `module.name` for `from module import name`.
    pub imports: Vec<String>,
    /// Calls found in the bytecode, all code objects included, in order.
    pub calls: Vec<Call>,
    /// Set when the instruction budget cut the analysis short.
    pub truncated: bool,
}

impl Disassembly {
    /// Every code object, depth first.
    pub fn code_objects(&self) -> Vec<&CodeObject> {
        let mut out = Vec::new();
        let mut stack = vec![&self.code];
        while let Some(c) = stack.pop() {
            out.push(c);
            stack.extend(c.nested.iter().rev());
        }
        out
    }
}

/// Deepest nesting of code objects followed.
const MAX_CODE_NESTING: usize = 32;

/// Most characters of one rendered constant.
const MAX_RENDER: usize = 200;

/// Disassemble `data`, a marshal stream whose top-level object is a code object.
pub fn disassemble(data: &[u8], limits: &Limits) -> Result<Disassembly, Error> {
    let top = data.first().copied().unwrap_or(0) & 0x7f;
    if top != b'c' {
        return Err(Error::NotCode(char::from(top)));
    }
    let mut first_err = None;
    for layout in [CodeLayout::Py311, CodeLayout::Py38] {
        let mut r = Reader::new(data, layout, *limits);
        match r.object(0) {
            Ok(id) if r.at_end() => return Ok(build(&r.arena, id, layout, limits)),
            Ok(_) => {
                first_err.get_or_insert(Error::Invalid {
                    at: 0,
                    what: "bytes left after the code object".into(),
                });
            }
            Err(e @ Error::Limit { .. }) => return Err(e),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(Error::NotCode('c')))
}

pub(crate) struct View<'x, 'a> {
    pub(crate) arena: &'x [Obj<'a>],
}

impl View<'_, '_> {
    pub(crate) fn str(&self, id: Id) -> Option<String> {
        match self.arena.get(id) {
            Some(Obj::Str(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    pub(crate) fn items(&self, id: Id) -> &[Id] {
        match self.arena.get(id) {
            Some(Obj::Seq { items, .. }) => items,
            _ => &[],
        }
    }

    pub(crate) fn strings(&self, id: Id) -> Vec<String> {
        self.items(id)
            .iter()
            .map(|i| self.str(*i).unwrap_or_else(|| "?".into()))
            .collect()
    }

    pub(crate) fn code(&self, id: Id) -> Option<&RawCode> {
        match self.arena.get(id) {
            Some(Obj::Code(c)) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn bytecode(&self, c: &RawCode) -> &[u8] {
        match self.arena.get(c.code) {
            Some(Obj::Bytes(b)) => b,
            _ => &[],
        }
    }

    /// Python-like `repr`, bounded in length and depth.
    pub(crate) fn render(&self, id: Id) -> String {
        let mut s = String::new();
        self.render_into(id, &mut s, 0);
        if s.len() > MAX_RENDER {
            let mut cut = MAX_RENDER;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push_str("...");
        }
        s
    }

    fn render_into(&self, id: Id, s: &mut String, depth: usize) {
        if s.len() > MAX_RENDER || depth > 8 {
            s.push_str("...");
            return;
        }
        match self.arena.get(id) {
            None | Some(Obj::Unresolved) => s.push_str("<recursive>"),
            Some(Obj::Null) => s.push_str("<NULL>"),
            Some(Obj::None) => s.push_str("None"),
            Some(Obj::Bool(b)) => s.push_str(if *b { "True" } else { "False" }),
            Some(Obj::Ellipsis) => s.push_str("Ellipsis"),
            Some(Obj::StopIteration) => s.push_str("StopIteration"),
            Some(Obj::Int(v)) => s.push_str(&v.to_string()),
            Some(Obj::BigInt) => s.push_str("<big int>"),
            Some(Obj::Float(v)) => s.push_str(&format!("{v:?}")),
            Some(Obj::Complex) => s.push_str("<complex>"),
            Some(Obj::Str(b)) => s.push_str(&format!("{:?}", String::from_utf8_lossy(b))),
            Some(Obj::Bytes(b)) => {
                let shown = b.get(..64).unwrap_or(b);
                s.push('b');
                s.push_str(&format!("{:?}", String::from_utf8_lossy(shown)));
            }
            Some(Obj::Seq { kind, items }) => {
                let (open, close) = match kind {
                    SeqKind::Tuple => ("(", ")"),
                    SeqKind::List => ("[", "]"),
                    SeqKind::Set => ("{", "}"),
                    SeqKind::FrozenSet => ("frozenset({", "})"),
                    SeqKind::Slice => ("slice(", ")"),
                };
                s.push_str(open);
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    self.render_into(*it, s, depth + 1);
                    if s.len() > MAX_RENDER {
                        break;
                    }
                }
                if *kind == SeqKind::Tuple && items.len() == 1 {
                    s.push(',');
                }
                s.push_str(close);
            }
            Some(Obj::Dict(pairs)) => {
                s.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    self.render_into(*k, s, depth + 1);
                    s.push_str(": ");
                    self.render_into(*v, s, depth + 1);
                    if s.len() > MAX_RENDER {
                        break;
                    }
                }
                s.push('}');
            }
            Some(Obj::Code(c)) => {
                s.push_str(&format!("<code {}>", self.str(c.name).unwrap_or_default()));
            }
        }
    }
}

fn build(arena: &[Obj<'_>], top: Id, layout: CodeLayout, limits: &Limits) -> Disassembly {
    let view = View { arena };
    let version = bytecode::detect_version(&view, top, layout);
    let mut imports = Vec::new();
    let mut calls = Vec::new();
    let mut budget = Budget {
        visits: limits.max_code_objects,
        instructions: limits.max_instructions,
        truncated: false,
    };
    let code = code_object(
        &view,
        top,
        version,
        &mut budget,
        &mut imports,
        &mut calls,
        0,
    );
    let truncated = budget.truncated;
    Disassembly {
        layout,
        version,
        code,
        imports,
        calls,
        truncated,
    }
}

/// Work left for the analysis of one stream (shared code objects are visited once per
/// reference, so visits are bounded, not just distinct objects).
pub(crate) struct Budget {
    pub(crate) visits: usize,
    pub(crate) instructions: usize,
    pub(crate) truncated: bool,
}

fn code_object(
    view: &View<'_, '_>,
    id: Id,
    version: PyVersion,
    budget: &mut Budget,
    imports: &mut Vec<String>,
    calls: &mut Vec<Call>,
    depth: usize,
) -> CodeObject {
    budget.visits = budget.visits.saturating_sub(1);
    let Some(c) = view.code(id) else {
        return CodeObject {
            name: "?".into(),
            qualname: None,
            filename: String::new(),
            firstlineno: 0,
            argcount: 0,
            names: Vec::new(),
            varnames: Vec::new(),
            consts: Vec::new(),
            nested: Vec::new(),
            bytecode_len: 0,
        };
    };
    let mut varnames = view.strings(c.locals);
    for extra in &c.extra_locals {
        varnames.extend(view.strings(*extra));
    }
    let scan = bytecode::scan(view, c, version, budget);
    for i in scan.imports {
        if !imports.contains(&i) {
            imports.push(i);
        }
    }
    calls.extend(scan.calls);
    let mut nested = Vec::new();
    let mut consts = Vec::new();
    for k in view.items(c.consts) {
        consts.push(view.render(*k));
        // The arena is acyclic for code objects (a code object cannot contain itself), and
        // the reader bounded the nesting; the depth check is a second guard.
        if view.code(*k).is_some() && *k != id {
            if budget.visits == 0 || depth >= MAX_CODE_NESTING {
                budget.truncated = true;
                continue;
            }
            nested.push(code_object(
                view,
                *k,
                version,
                budget,
                imports,
                calls,
                depth + 1,
            ));
        }
    }
    CodeObject {
        name: view.str(c.name).unwrap_or_default(),
        qualname: c.qualname.and_then(|q| view.str(q)),
        filename: view.str(c.filename).unwrap_or_default(),
        firstlineno: c.firstlineno,
        argcount: c.argcount,
        names: view.strings(c.names),
        varnames,
        consts,
        nested,
        bytecode_len: view.bytecode(c).len(),
    }
}

#[cfg(test)]
mod tests;
