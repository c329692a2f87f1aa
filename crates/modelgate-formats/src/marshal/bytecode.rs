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

/// Opcode numbers that differ between versions.
struct Ops {
    load_closure: u8,
    load_deref: u8,
    /// Shift applied to LOAD_GLOBAL's argument to get the name index.
    global_shift: u32,
    /// Shift applied to LOAD_ATTR's argument.
    attr_shift: u32,
}

const POP_TOP: u8 = 1;
const PUSH_NULL: u8 = 2;
const NOP: u8 = 9;
const RETURN_VALUE: u8 = 83;
const STORE_NAME: u8 = 90;
const STORE_GLOBAL: u8 = 97;
const LOAD_CONST: u8 = 100;
const LOAD_NAME: u8 = 101;
const BUILD_TUPLE: u8 = 102;
const BUILD_LIST: u8 = 103;
const LOAD_ATTR: u8 = 106;
const IMPORT_NAME: u8 = 108;
const IMPORT_FROM: u8 = 109;
const JUMP_IF_FALSE_OR_POP: u8 = 111;
const JUMP_IF_TRUE_OR_POP: u8 = 112;
const POP_JUMP_IF_FALSE: u8 = 114;
const POP_JUMP_IF_TRUE: u8 = 115;
const LOAD_GLOBAL: u8 = 116;
const COPY: u8 = 120;
const RETURN_CONST: u8 = 121;
const LOAD_FAST: u8 = 124;
const STORE_FAST: u8 = 125;
const LOAD_FAST_CHECK: u8 = 127;
const CALL_FUNCTION: u8 = 131;
const CALL_FUNCTION_KW: u8 = 141;
const CALL_FUNCTION_EX: u8 = 142;
const LOAD_FAST_AND_CLEAR: u8 = 143;
const EXTENDED_ARG: u8 = 144;
const RESUME: u8 = 151;
const LOAD_METHOD: u8 = 160;
const CALL_METHOD: u8 = 161;
const PRECALL: u8 = 166;
const CALL: u8 = 171;
const KW_NAMES: u8 = 172;
/// RESUME in CPython 3.13 (renumbered opcodes).
const RESUME_313: u8 = 149;

/// (opcode, argument) pairs with EXTENDED_ARG folded in.
fn instructions(code: &[u8]) -> Vec<(u8, u32)> {
    let mut out = Vec::with_capacity(code.len() / 2);
    let mut ext: u32 = 0;
    for pair in code.chunks_exact(2) {
        let (op, arg) = match pair {
            [op, arg] => (*op, u32::from(*arg)),
            _ => continue,
        };
        let full = (ext << 8) | arg;
        if op == EXTENDED_ARG {
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

/// Tell 3.11, 3.12 and 3.13+ apart (same marshal layout).
pub(crate) fn detect_version(view: &View<'_, '_>, top: Id, layout: CodeLayout) -> PyVersion {
    if layout == CodeLayout::Py38 {
        return PyVersion::Py38To310;
    }
    let Some(c) = view.code(top) else {
        return PyVersion::Py311;
    };
    let code = view.bytecode(c);
    // Every 3.11+ code object starts with RESUME, after at most MAKE_CELL / COPY_FREE_VARS
    // (COPY_FREE_VARS is 149 in 3.11 and 3.12, which is RESUME's number in 3.13).
    let head: Vec<u8> = code
        .chunks_exact(2)
        .take(4)
        .filter_map(|p| p.first().copied())
        .collect();
    if !head.contains(&RESUME) && head.first() == Some(&RESUME_313) {
        return PyVersion::Py313Plus;
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

fn ops(version: PyVersion) -> Ops {
    match version {
        PyVersion::Py38To310 => Ops {
            load_closure: 135,
            load_deref: 136,
            global_shift: 0,
            attr_shift: 0,
        },
        PyVersion::Py311 => Ops {
            load_closure: 136,
            load_deref: 137,
            global_shift: 1,
            attr_shift: 0,
        },
        PyVersion::Py312 | PyVersion::Py313Plus => Ops {
            load_closure: 136,
            load_deref: 137,
            global_shift: 1,
            attr_shift: 1,
        },
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
    if version == PyVersion::Py313Plus {
        return out;
    }
    let o = ops(version);
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
    for (op, arg) in instructions(view.bytecode(c)) {
        if budget.instructions == 0 {
            budget.truncated = true;
            break;
        }
        budget.instructions -= 1;
        if stack.len() > MAX_STACK {
            stack.clear();
        }
        match op {
            0 | NOP | RESUME | PUSH_NULL | PRECALL | KW_NAMES => {}
            LOAD_CONST => stack.push(
                consts
                    .get(arg as usize)
                    .map_or(Sym::Unknown, |k| Sym::Const(view.render(*k))),
            ),
            LOAD_NAME => stack.push(name(arg).map_or(Sym::Unknown, |n| {
                locals
                    .get(&n)
                    .cloned()
                    .unwrap_or_else(|| Sym::Name(qualify(&n)))
            })),
            LOAD_GLOBAL => stack
                .push(name(arg >> o.global_shift).map_or(Sym::Unknown, |n| Sym::Name(qualify(&n)))),
            LOAD_FAST | LOAD_FAST_CHECK | LOAD_FAST_AND_CLEAR
                if op == LOAD_FAST || version == PyVersion::Py312 =>
            {
                let v = locals_names
                    .get(arg as usize)
                    .and_then(|n| locals.get(n).cloned())
                    .unwrap_or(Sym::Unknown);
                stack.push(v);
            }
            STORE_FAST => {
                let v = pop(&mut stack);
                if let Some(n) = locals_names.get(arg as usize) {
                    locals.insert(n.clone(), v);
                }
            }
            STORE_NAME | STORE_GLOBAL => {
                let v = pop(&mut stack);
                if let Some(n) = name(arg) {
                    locals.insert(n, v);
                }
            }
            x if x == o.load_closure || x == o.load_deref => stack.push(Sym::Unknown),
            LOAD_ATTR | LOAD_METHOD if op == LOAD_ATTR || version != PyVersion::Py312 => {
                let shift = if op == LOAD_ATTR { o.attr_shift } else { 0 };
                let base = pop(&mut stack);
                let attr = name(arg >> shift).unwrap_or_else(|| "?".into());
                stack.push(match base {
                    Sym::Name(b) => Sym::Name(format!("{b}.{attr}")),
                    Sym::Result(r) => Sym::Name(format!("{r}.{attr}")),
                    _ => Sym::Name(format!("?.{attr}")),
                });
            }
            IMPORT_NAME => {
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
            IMPORT_FROM => {
                let base = stack.last().map(Sym::render).unwrap_or_else(|| "?".into());
                let attr = name(arg).unwrap_or_else(|| "?".into());
                stack.push(Sym::Name(format!("{base}.{attr}")));
            }
            BUILD_TUPLE | BUILD_LIST => {
                let n = arg as usize;
                let take = n.min(stack.len());
                let items: Vec<String> = stack
                    .drain(stack.len() - take..)
                    .map(|s| s.render())
                    .collect();
                let (open, close) = if op == BUILD_TUPLE {
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
            COPY if version != PyVersion::Py38To310 => {
                let v = stack
                    .len()
                    .checked_sub(arg as usize)
                    .and_then(|i| stack.get(i))
                    .cloned()
                    .unwrap_or(Sym::Unknown);
                stack.push(v);
            }
            POP_TOP | RETURN_VALUE | JUMP_IF_FALSE_OR_POP | JUMP_IF_TRUE_OR_POP
            | POP_JUMP_IF_FALSE | POP_JUMP_IF_TRUE => {
                stack.pop();
            }
            RETURN_CONST if version == PyVersion::Py312 => {}
            CALL_FUNCTION | CALL_METHOD | CALL_FUNCTION_KW if version == PyVersion::Py38To310 => {
                if op == CALL_FUNCTION_KW {
                    stack.pop(); // tuple of keyword names
                }
                call(&mut stack, arg as usize, &function, &mut out.calls);
            }
            CALL if version != PyVersion::Py38To310 => {
                call(&mut stack, arg as usize, &function, &mut out.calls);
            }
            CALL_FUNCTION_EX => {
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
            _ => stack.clear(),
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
