//! Bytecode: which CPython version the instructions are for, and a small symbolic stack
//! walk that resolves what is imported and called (`__import__("os").system("echo")`).
//! Straight-line only: jumps are not followed, and any instruction whose stack effect is
//! not modelled clears the stack, so a call is reported only when its callee is known.

use super::objects::{CodeLayout, Id, RawCode};
use super::{Budget, PyVersion, View};
use std::collections::HashMap;

/// A call found in the bytecode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Dotted callee (`os.system`, `subprocess.run`, `builtins.__import__`).
    pub target: String,
    /// Rendered positional arguments, `?` where unknown.
    pub args: Vec<String>,
    /// Name of the code object the call is in.
    pub function: String,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.target, self.args.join(", "))
    }
}

/// What an instruction does to the symbolic stack, independent of its number (which
/// changes between CPython versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// No stack effect that matters here (CACHE, NOP, RESUME, PUSH_NULL, PRECALL, TO_BOOL,
    /// KW_NAMES, MAKE_CELL, COPY_FREE_VARS).
    Skip,
    /// Pops one value (POP_TOP, RETURN_VALUE, conditional jumps that pop).
    Pop,
    StoreName,
    LoadConst,
    LoadName,
    BuildTuple,
    BuildList,
    /// LOAD_ATTR, with the shift that gives the name index.
    LoadAttr(u32),
    LoadMethod,
    ImportName,
    ImportFrom,
    /// LOAD_GLOBAL, with the shift that gives the name index.
    LoadGlobal(u32),
    Copy,
    LoadFast,
    StoreFast,
    /// 3.13 superinstructions: two locals packed in the argument (high and low nibble).
    LoadFastLoadFast,
    StoreFastStoreFast,
    StoreFastLoadFast,
    /// Pushes a value the walk does not know (LOAD_CLOSURE, LOAD_DEREF).
    PushUnknown,
    /// A call taking `arg` positional and keyword values (CALL_FUNCTION, CALL_METHOD, CALL).
    Call,
    /// A call whose keyword names are on top of the stack (CALL_FUNCTION_KW, CALL_KW).
    CallKw,
    CallEx,
    /// Anything else: its stack effect is not modelled, the stack is cleared.
    Other,
}

/// EXTENDED_ARG before CPython 3.13.
const EXTENDED_ARG: u8 = 144;
/// EXTENDED_ARG in CPython 3.13.
const EXTENDED_ARG_313: u8 = 71;
const RESUME: u8 = 151;
/// MAKE_CELL, COPY_FREE_VARS, RETURN_GENERATOR, POP_TOP in 3.11 and 3.12 (COPY_FREE_VARS
/// is RESUME's number in 3.13).
const PRELUDE: [u8; 4] = [135, 149, 75, 1];
const RESUME_313: u8 = 149;
/// MAKE_CELL, COPY_FREE_VARS, RETURN_GENERATOR, POP_TOP in 3.13.
const PRELUDE_313: [u8; 4] = [94, 62, 35, 32];
/// RESUME in CPython 3.14 and later (renumbered in 3.14a6, magic number 3619).
const RESUME_314: u8 = 128;
const PRECALL: u8 = 166;
const LOAD_GLOBAL: u8 = 116;
const LOAD_ATTR: u8 = 106;
const CALL: u8 = 171;
const RETURN_CONST: u8 = 121;

/// The opcode numbers of CPython 3.8-3.10 (Lib/opcode.py of those versions).
fn op_38(op: u8) -> Op {
    match op {
        0 | 9 => Op::Skip,
        1 | 83 | 111 | 112 | 114 | 115 => Op::Pop,
        90 | 97 => Op::StoreName,
        100 => Op::LoadConst,
        101 => Op::LoadName,
        102 => Op::BuildTuple,
        103 => Op::BuildList,
        106 => Op::LoadAttr(0),
        108 => Op::ImportName,
        109 => Op::ImportFrom,
        116 => Op::LoadGlobal(0),
        124 => Op::LoadFast,
        125 => Op::StoreFast,
        135 | 136 => Op::PushUnknown,
        131 | 161 => Op::Call,
        141 => Op::CallKw,
        142 => Op::CallEx,
        160 => Op::LoadMethod,
        _ => Op::Other,
    }
}

/// The opcode numbers of CPython 3.11 and 3.12 (Lib/opcode.py of those versions); the two
/// differ in LOAD_ATTR's argument, LOAD_METHOD (3.11 only), RETURN_CONST and the
/// LOAD_FAST variants (3.12 only).
fn op_311(op: u8, v312: bool) -> Op {
    match op {
        0 | 2 | 9 | 151 | 166 | 172 => Op::Skip,
        1 | 83 | 111 | 112 | 114 | 115 => Op::Pop,
        90 | 97 => Op::StoreName,
        100 => Op::LoadConst,
        101 => Op::LoadName,
        102 => Op::BuildTuple,
        103 => Op::BuildList,
        106 => Op::LoadAttr(u32::from(v312)),
        108 => Op::ImportName,
        109 => Op::ImportFrom,
        116 => Op::LoadGlobal(1),
        120 => Op::Copy,
        121 if v312 => Op::Skip,
        124 => Op::LoadFast,
        127 | 143 if v312 => Op::LoadFast,
        125 => Op::StoreFast,
        136 | 137 => Op::PushUnknown,
        142 => Op::CallEx,
        160 if !v312 => Op::LoadMethod,
        171 => Op::Call,
        _ => Op::Other,
    }
}

/// The opcode numbers of CPython 3.13 (Include/opcode_ids.h of 3.13). LOAD_CLOSURE is a
/// pseudo-instruction there (emitted as LOAD_FAST); keyword calls are CALL_KW with the
/// names tuple on the stack instead of KW_NAMES.
fn op_313(op: u8) -> Op {
    match op {
        // CACHE, NOP, PUSH_NULL, TO_BOOL, COPY_FREE_VARS, MAKE_CELL, RETURN_CONST, RESUME
        0 | 30 | 34 | 40 | 62 | 94 | 103 | 149 => Op::Skip,
        // POP_TOP, RETURN_VALUE, POP_JUMP_IF_FALSE / _NONE / _NOT_NONE / _TRUE
        32 | 36 | 97..=100 => Op::Pop,
        113 | 114 => Op::StoreName,
        83 => Op::LoadConst,
        92 => Op::LoadName,
        52 => Op::BuildTuple,
        47 => Op::BuildList,
        82 => Op::LoadAttr(1),
        75 => Op::ImportName,
        74 => Op::ImportFrom,
        91 => Op::LoadGlobal(1),
        61 => Op::Copy,
        // LOAD_FAST, LOAD_FAST_AND_CLEAR, LOAD_FAST_CHECK
        85..=87 => Op::LoadFast,
        88 => Op::LoadFastLoadFast,
        110 => Op::StoreFast,
        111 => Op::StoreFastLoadFast,
        112 => Op::StoreFastStoreFast,
        84 => Op::PushUnknown,
        53 => Op::Call,
        57 => Op::CallKw,
        54 => Op::CallEx,
        _ => Op::Other,
    }
}

fn decode(version: PyVersion, op: u8) -> Op {
    match version {
        PyVersion::Py38To310 => op_38(op),
        PyVersion::Py311 => op_311(op, false),
        PyVersion::Py312 => op_311(op, true),
        PyVersion::Py313 => op_313(op),
        PyVersion::Py314Plus | PyVersion::Unknown => Op::Other,
    }
}

/// (opcode, argument) pairs with EXTENDED_ARG folded in.
fn instructions(code: &[u8], extended_arg: u8) -> Vec<(u8, u32)> {
    let mut out = Vec::with_capacity(code.len() / 2);
    let mut ext: u32 = 0;
    for pair in code.chunks_exact(2) {
        let (op, arg) = match pair {
            [op, arg] => (*op, u32::from(*arg)),
            _ => continue,
        };
        let full = (ext << 8) | arg;
        if op == extended_arg {
            ext = full & 0x00ff_ffff;
            continue;
        }
        ext = 0;
        out.push((op, full));
    }
    out
}

/// Count inline cache entries (`CACHE` = opcode 0) after each instruction.
fn cache_runs(code: &[u8]) -> Vec<(u8, usize)> {
    let pairs: Vec<(u8, u8)> = code
        .chunks_exact(2)
        .map(|p| {
            (
                p.first().copied().unwrap_or(0),
                p.get(1).copied().unwrap_or(0),
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&(op, _)) = pairs.get(i) {
        let mut n = 0;
        while pairs.get(i + 1 + n).is_some_and(|p| p.0 == 0) {
            n += 1;
        }
        if op != 0 {
            out.push((op, n));
        }
        i += 1 + n;
    }
    out
}

/// Whether the code starts with `resume` after the prelude every 3.11+ code object may
/// have: MAKE_CELL / COPY_FREE_VARS for cell and free variables, then RETURN_GENERATOR and
/// POP_TOP for generators and coroutines (`prelude` lists those opcodes' numbers).
fn starts_with_resume(code: &[u8], prelude: [u8; 4], resume: u8) -> bool {
    code.chunks_exact(2)
        .filter_map(|p| p.first().copied())
        .find(|op| !prelude.contains(op))
        == Some(resume)
}

/// Tell 3.11, 3.12 and 3.13 apart (same marshal layout) by the number RESUME has at the
/// start of the code (after the cell prelude), then 3.11 from 3.12 by inline-cache sizes.
pub(crate) fn detect_version(view: &View<'_, '_>, top: Id, layout: CodeLayout) -> PyVersion {
    if layout == CodeLayout::Py38 {
        return PyVersion::Py38To310;
    }
    let Some(c) = view.code(top) else {
        return PyVersion::Unknown;
    };
    let code = view.bytecode(c);
    if !starts_with_resume(code, PRELUDE, RESUME) {
        // 3.14's cell prelude opcodes are not checked here: RESUME within the first
        // instructions (one per cell or free variable, then RESUME) is enough to tell.
        let prelude = view.items(c.locals).len().saturating_add(1).min(256);
        return if starts_with_resume(code, PRELUDE_313, RESUME_313) {
            PyVersion::Py313
        } else if code
            .chunks_exact(2)
            .take(prelude)
            .any(|p| p.first() == Some(&RESUME_314))
        {
            PyVersion::Py314Plus
        } else {
            PyVersion::Unknown
        };
    }
    let (mut v311, mut v312) = (0, 0);
    for (op, caches) in cache_runs(code) {
        match (op, caches) {
            (PRECALL, _) | (LOAD_GLOBAL, 5) | (LOAD_ATTR, 4) | (CALL, 4) => v311 += 1,
            (RETURN_CONST, _) | (LOAD_GLOBAL, 4) | (LOAD_ATTR, 9) | (CALL, 3) => v312 += 1,
            _ => {}
        }
    }
    if v312 > v311 {
        PyVersion::Py312
    } else {
        PyVersion::Py311
    }
}

/// A symbolic stack value.
#[derive(Debug, Clone)]
enum Sym {
    /// A dotted name (global, module, attribute chain).
    Name(String),
    /// A constant, rendered.
    Const(String),
    /// The result of a call.
    Result(String),
    Unknown,
}

impl Sym {
    fn render(&self) -> String {
        match self {
            Sym::Name(n) | Sym::Const(n) => n.clone(),
            Sym::Result(c) => c.clone(),
            Sym::Unknown => "?".into(),
        }
    }
}

pub(crate) struct Scan {
    pub(crate) imports: Vec<String>,
    pub(crate) calls: Vec<Call>,
}

/// Most stack entries tracked.
const MAX_STACK: usize = 256;
/// Most arguments rendered per call.
const MAX_ARGS: usize = 8;

/// Names that resolve to built-in functions when not assigned in the code.
fn qualify(name: &str) -> String {
    const BUILTINS: &[&str] = &[
        "__import__",
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "globals",
        "locals",
        "vars",
        "input",
        "breakpoint",
        "print",
        "delattr",
    ];
    if BUILTINS.contains(&name) {
        format!("builtins.{name}")
    } else {
        name.to_string()
    }
}

pub(crate) fn scan(
    view: &View<'_, '_>,
    c: &RawCode,
    version: PyVersion,
    budget: &mut Budget,
) -> Scan {
    let mut out = Scan {
        imports: Vec::new(),
        calls: Vec::new(),
    };
    if matches!(version, PyVersion::Py314Plus | PyVersion::Unknown) {
        return out;
    }
    let extended_arg = if version == PyVersion::Py313 {
        EXTENDED_ARG_313
    } else {
        EXTENDED_ARG
    };
    let names = view.strings(c.names);
    let mut locals_names = view.strings(c.locals);
    for extra in &c.extra_locals {
        locals_names.extend(view.strings(*extra));
    }
    let consts = view.items(c.consts);
    let function = view.str(c.name).unwrap_or_default();
    let name = |i: u32| names.get(i as usize).cloned();
    let mut stack: Vec<Sym> = Vec::new();
    let mut locals: HashMap<String, Sym> = HashMap::new();
    let pop = |s: &mut Vec<Sym>| s.pop().unwrap_or(Sym::Unknown);
    let load = |locals: &HashMap<String, Sym>, i: u32| {
        locals_names
            .get(i as usize)
            .and_then(|n| locals.get(n).cloned())
            .unwrap_or(Sym::Unknown)
    };
    let store = |locals: &mut HashMap<String, Sym>, i: u32, v: Sym| {
        if let Some(n) = locals_names.get(i as usize) {
            locals.insert(n.clone(), v);
        }
    };
    for (raw, arg) in instructions(view.bytecode(c), extended_arg) {
        if budget.instructions == 0 {
            budget.truncated = true;
            break;
        }
        budget.instructions -= 1;
        if stack.len() > MAX_STACK {
            stack.clear();
        }
        let op = decode(version, raw);
        match op {
            Op::Skip => {}
            Op::LoadConst => stack.push(
                consts
                    .get(arg as usize)
                    .map_or(Sym::Unknown, |k| Sym::Const(view.render(*k))),
            ),
            Op::LoadName => stack.push(name(arg).map_or(Sym::Unknown, |n| {
                locals
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| Sym::Name(qualify(&n)))
            })),
            Op::LoadGlobal(shift) => {
                stack.push(name(arg >> shift).map_or(Sym::Unknown, |n| Sym::Name(qualify(&n))))
            }
            Op::LoadFast => stack.push(load(&locals, arg)),
            Op::LoadFastLoadFast => {
                stack.push(load(&locals, arg >> 4));
                stack.push(load(&locals, arg & 15));
            }
            Op::StoreFast => {
                let v = pop(&mut stack);
                store(&mut locals, arg, v);
            }
            Op::StoreFastStoreFast => {
                let first = pop(&mut stack);
                store(&mut locals, arg >> 4, first);
                let second = pop(&mut stack);
                store(&mut locals, arg & 15, second);
            }
            Op::StoreFastLoadFast => {
                let v = pop(&mut stack);
                store(&mut locals, arg >> 4, v);
                stack.push(load(&locals, arg & 15));
            }
            Op::StoreName => {
                let v = pop(&mut stack);
                if let Some(n) = name(arg) {
                    locals.insert(n, v);
                }
            }
            Op::PushUnknown => stack.push(Sym::Unknown),
            Op::LoadAttr(_) | Op::LoadMethod => {
                let shift = if let Op::LoadAttr(s) = op { s } else { 0 };
                let base = pop(&mut stack);
                let attr = name(arg >> shift).unwrap_or_else(|| "?".into());
                stack.push(match base {
                    Sym::Name(b) => Sym::Name(format!("{b}.{attr}")),
                    Sym::Result(r) => Sym::Name(format!("{r}.{attr}")),
                    _ => Sym::Name(format!("?.{attr}")),
                });
            }
            Op::ImportName => {
                let fromlist = pop(&mut stack);
                let _level = pop(&mut stack);
                let module = name(arg).unwrap_or_else(|| "?".into());
                if !out.imports.contains(&module) {
                    out.imports.push(module.clone());
                }
                if let Sym::Const(list) = fromlist
                    && list != "None"
                {
                    let inner = list.trim_start_matches('(').trim_end_matches(')');
                    for n in inner.split(',').map(|s| s.trim().trim_matches(['\'', '"'])) {
                        if !n.is_empty() && n != "*" {
                            let full = format!("{module}.{n}");
                            if !out.imports.contains(&full) {
                                out.imports.push(full);
                            }
                        }
                    }
                }
                // `import a.b` binds `a`; the module object is what later attributes start from.
                stack.push(Sym::Name(module));
            }
            Op::ImportFrom => {
                let base = stack.last().map(Sym::render).unwrap_or_else(|| "?".into());
                let attr = name(arg).unwrap_or_else(|| "?".into());
                stack.push(Sym::Name(format!("{base}.{attr}")));
            }
            Op::BuildTuple | Op::BuildList => {
                let n = arg as usize;
                let take = n.min(stack.len());
                let items: Vec<String> = stack
                    .drain(stack.len() - take..)
                    .map(|s| s.render())
                    .collect();
                let (open, close) = if op == Op::BuildTuple {
                    ("(", ")")
                } else {
                    ("[", "]")
                };
                stack.push(if take == n {
                    Sym::Const(format!("{open}{}{close}", items.join(", ")))
                } else {
                    Sym::Unknown
                });
            }
            Op::Copy => {
                let v = stack
                    .len()
                    .checked_sub(arg as usize)
                    .and_then(|i| stack.get(i))
                    .cloned()
                    .unwrap_or(Sym::Unknown);
                stack.push(v);
            }
            Op::Pop => {
                stack.pop();
            }
            Op::Call => call(&mut stack, arg as usize, &function, &mut out.calls),
            Op::CallKw => {
                stack.pop(); // tuple of keyword names
                call(&mut stack, arg as usize, &function, &mut out.calls);
            }
            Op::CallEx => {
                let n = 1 + (arg as usize & 1);
                for _ in 0..n {
                    stack.pop();
                }
                call(&mut stack, 0, &function, &mut out.calls);
                if let Some(c) = out.calls.last_mut()
                    && c.args.is_empty()
                {
                    c.args.push("*args".into());
                }
            }
            Op::Other => stack.clear(),
        }
    }
    out
}

fn call(stack: &mut Vec<Sym>, argc: usize, function: &str, calls: &mut Vec<Call>) {
    let take = argc.min(stack.len());
    let args: Vec<Sym> = stack.drain(stack.len() - take..).collect();
    let callee = stack.pop().unwrap_or(Sym::Unknown);
    let target = match &callee {
        Sym::Name(n) => n.clone(),
        _ => {
            stack.push(Sym::Unknown);
            return;
        }
    };
    let rendered: Vec<String> = args.iter().take(MAX_ARGS).map(Sym::render).collect();
    // `__import__("os")` / `importlib.import_module("os")` evaluate to the module.
    let result = if (target == "builtins.__import__" || target == "importlib.import_module")
        && let Some(Sym::Const(m)) = args.first()
    {
        Sym::Name(m.trim_matches(['\'', '"']).to_string())
    } else {
        Sym::Result(format!("{target}()"))
    };
    calls.push(Call {
        target,
        args: rendered,
        function: function.to_string(),
    });
    stack.push(result);
}
