//! The model pickle rules inspect: one pickle stream after symbolic execution, with every
//! import and call classified and every call resolved through indirection.

use super::policy::{Class, Danger, classify, is_higher_order};
use modelgate_core::VirtualPath;
use modelgate_formats::pickle::resolve::{EffectiveCall, Target, effective_call};
use modelgate_formats::pickle::symbolic::{EventKind, Program};
use modelgate_formats::pickle::{Opcode, Value, ValueId};

/// One import.
#[derive(Debug, Clone)]
pub struct ImportSite {
    pub offset: usize,
    /// `module.name`.
    pub full: String,
    pub via: Opcode,
    pub computed: bool,
    pub class: Class,
    /// Whether some call in the stream invokes it (or something reached from it).
    pub called: bool,
}

/// One call, as the loader performs it.
#[derive(Debug, Clone)]
pub struct CallSite {
    pub offset: usize,
    pub value: ValueId,
    pub eff: EffectiveCall,
    /// Classification of the effective target (Unknown when unresolved).
    pub class: Class,
    /// Python-like rendering: `os.system("id")`.
    pub rendered: String,
    /// Dangerous callables handed to a higher-order function (`map(os.system, [...])`).
    pub passed_callables: Vec<(String, Danger)>,
    /// Strings among the arguments (for indicators).
    pub strings: Vec<String>,
}

impl CallSite {
    pub fn target_name(&self) -> Option<&str> {
        self.eff.target.name()
    }

    /// The call merely instantiates a class without running its `__init__`
    /// (NEWOBJ / `copyreg._reconstructor`).
    pub fn is_reconstruction(&self) -> bool {
        matches!(self.eff.via, Opcode::NEWOBJ | Opcode::NEWOBJ_EX)
    }
}

/// A stream ready for rules.
pub struct PickleModel<'a> {
    pub path: VirtualPath,
    pub data: &'a [u8],
    pub program: Program,
    pub imports: Vec<ImportSite>,
    pub calls: Vec<CallSite>,
    /// Index of this stream in its member (0 = first pickle).
    pub stream_index: usize,
    /// Legacy torch.save layout: stacked pickles followed by raw storages are expected.
    pub legacy_torch: bool,
}

/// Names that only resolve or wrap other callables.
pub const INDIRECTION: &[&str] = &[
    "builtins.getattr",
    "operator.getattr",
    "builtins.__import__",
    "importlib.import_module",
    "importlib.__import__",
    "pkgutil.resolve_name",
    "pydoc.locate",
    "operator.attrgetter",
    "_operator.attrgetter",
    "operator.methodcaller",
    "_operator.methodcaller",
    "operator.getitem",
    "_operator.getitem",
    "functools.partial",
    "_functools.partial",
    "builtins.vars",
    "builtins.globals",
];

impl<'a> PickleModel<'a> {
    pub fn build(
        path: VirtualPath,
        data: &'a [u8],
        program: Program,
        stream_index: usize,
        legacy_torch: bool,
    ) -> Self {
        let values = &program.values;
        let mut calls = Vec::new();
        for ev in &program.events {
            let EventKind::Call { value } = ev.kind else {
                continue;
            };
            let Some(eff) = effective_call(values, data, value) else {
                continue;
            };
            let class = match &eff.target {
                Target::Name(n) => classify(n),
                Target::Unresolved(_) => {
                    container_method_class(values, data, eff_callee(values, value))
                }
            };
            let mut passed = Vec::new();
            let mut strings = Vec::new();
            // Safe, direct calls are never reported: skip the argument walk and rendering.
            let interesting = class != Class::Safe
                || !eff.through.is_empty()
                || eff.target.name().is_some_and(is_higher_order);
            if interesting {
                for a in eff.args.iter().copied().chain(eff.kwargs) {
                    collect_args(values, data, a, 0, &mut passed, &mut strings);
                }
            }
            if !eff.target.name().is_some_and(is_higher_order) {
                // Dangerous callables passed to arbitrary callees are also reachable, but
                // only higher-order builtins are known to call them.
                passed.retain(|_| false);
            }
            let rendered = if interesting {
                render_call(values, data, &eff)
            } else {
                String::new()
            };
            calls.push(CallSite {
                offset: ev.offset,
                value,
                eff,
                class,
                rendered,
                passed_callables: passed,
                strings,
            });
        }
        let mut imports = Vec::new();
        for ev in &program.events {
            if let EventKind::Import {
                module,
                name,
                via,
                computed,
                ..
            } = &ev.kind
            {
                let full = format!("{module}.{name}");
                let called = calls.iter().any(|c| {
                    c.target_name().is_some_and(|t| {
                        t == full
                            || t.strip_prefix(full.as_str())
                                .is_some_and(|r| r.starts_with('.'))
                    }) || c.passed_callables.iter().any(|(n, _)| *n == full)
                });
                imports.push(ImportSite {
                    offset: ev.offset,
                    class: classify(&full),
                    full,
                    via: *via,
                    computed: *computed,
                    called,
                });
            }
        }
        PickleModel {
            path,
            data,
            program,
            imports,
            calls,
            stream_index,
            legacy_torch,
        }
    }

    pub fn at(&self, offset: usize) -> VirtualPath {
        self.path.at(offset as u64)
    }
}

fn eff_callee(values: &modelgate_formats::pickle::Values, call: ValueId) -> ValueId {
    match values.get(call) {
        Value::Call { callee, .. } => *callee,
        _ => call,
    }
}

/// APPENDS/SETITEMS/ADDITEMS on an instance of an allowlisted container class call that
/// class's own `append`/`extend`/`__setitem__`/`add`: as safe as the class.
fn container_method_class(
    values: &modelgate_formats::pickle::Values,
    data: &[u8],
    callee: ValueId,
) -> Class {
    let Value::Attr { obj, name } = values.get(callee) else {
        return Class::Unknown;
    };
    if !matches!(name.as_str(), "append" | "extend" | "__setitem__" | "add") {
        return Class::Unknown;
    }
    let Value::Call { callee: cls, .. } = values.get(*obj) else {
        return Class::Unknown;
    };
    let cls = match values.get(*cls) {
        // copyreg._reconstructor(cls, base, state) builds an instance of cls.
        Value::Global { module, name } if module == "copyreg" && name == "_reconstructor" => {
            match values.get(*obj) {
                Value::Call { args, .. } => values
                    .items(*args)
                    .and_then(|a| a.first().copied())
                    .unwrap_or(*cls),
                _ => *cls,
            }
        }
        _ => *cls,
    };
    match modelgate_formats::pickle::resolve::resolve(values, data, cls) {
        Target::Name(n) if classify(&n) == Class::Safe => Class::Safe,
        _ => Class::Unknown,
    }
}

fn collect_args(
    values: &modelgate_formats::pickle::Values,
    data: &[u8],
    id: ValueId,
    depth: usize,
    passed: &mut Vec<(String, Danger)>,
    strings: &mut Vec<String>,
) {
    if depth > 6 || strings.len() > 64 {
        return;
    }
    match values.get(id) {
        Value::Str(s) => strings.push(s.clone()),
        Value::Bytes(_) | Value::DataBytes { .. } => {
            if let Some(b) = values.as_bytes(id, data)
                && b.len() <= 4096
                && let Ok(s) = std::str::from_utf8(b)
            {
                strings.push(s.to_string());
            }
        }
        Value::Global { module, name } => {
            let full = format!("{module}.{name}");
            if let Class::Dangerous(d) = classify(&full) {
                passed.push((full, d));
            }
        }
        Value::Tuple(v) | Value::List(v) | Value::Set(v) | Value::FrozenSet(v) => {
            for x in v.iter().take(64) {
                collect_args(values, data, *x, depth + 1, passed, strings);
            }
        }
        Value::Dict(kv) => {
            for (k, v) in kv.iter().take(64) {
                collect_args(values, data, *k, depth + 1, passed, strings);
                collect_args(values, data, *v, depth + 1, passed, strings);
            }
        }
        _ => {}
    }
}

fn render_call(
    values: &modelgate_formats::pickle::Values,
    data: &[u8],
    eff: &EffectiveCall,
) -> String {
    let callee = match &eff.target {
        Target::Name(n) => n.clone(),
        Target::Unresolved(r) => r.clone(),
    };
    let mut args: Vec<String> = eff
        .args
        .iter()
        .take(8)
        .map(|a| values.render(*a, data))
        .collect();
    if eff.args.len() > 8 {
        args.push(format!("… {} more", eff.args.len() - 8));
    }
    if let Some(kw) = eff.kwargs {
        args.push(format!("**{}", values.render(kw, data)));
    }
    let mut s = format!("{callee}({})", args.join(", "));
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
