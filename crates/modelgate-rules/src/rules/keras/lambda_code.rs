//! What a Lambda layer's disassembled bytecode imports and calls, for `KRS001`: the
//! finding names the calls (`os.system('echo hi')`) and is raised to critical when the code
//! reaches a module or builtin that runs commands, loads code or opens the network.

use super::lambda_layer;
use crate::rules::pickle::policy::{Class, classify};
use modelgate_core::{Finding, Severity, VirtualPath};
use modelgate_formats::marshal::Disassembly;

/// Most calls and imports listed as evidence.
const MAX_LISTED: usize = 16;

/// The first dangerous thing the code reaches: (what, why).
fn first_danger(d: &Disassembly) -> Option<(String, &'static str)> {
    let check = |name: &str| match classify(name) {
        Class::Dangerous(why) => Some((name.to_string(), why.describe())),
        _ => None,
    };
    // The most specific call first: `os.system` rather than the `__import__` that reached it.
    d.calls
        .iter()
        .filter(|c| c.target != "builtins.__import__")
        .find_map(|c| check(&c.target))
        .or_else(|| d.calls.iter().find_map(|c| check(&c.target)))
        .or_else(|| d.imports.iter().find_map(|i| check(i)))
        // Names the stack walk could not tie to a call: bare builtins and dotted globals.
        .or_else(|| {
            d.code_objects().iter().find_map(|c| {
                c.names.iter().find_map(|n| {
                    check(&format!("builtins.{n}")).filter(|_| {
                        matches!(
                            n.as_str(),
                            "__import__" | "eval" | "exec" | "compile" | "open" | "getattr"
                        )
                    })
                })
            })
        })
}

/// The `KRS001` finding for a Lambda whose code disassembled.
pub fn describe(path: &VirtualPath, layer: &str, json_path: &str, d: &Disassembly) -> Finding {
    let calls: Vec<String> = d
        .calls
        .iter()
        .take(MAX_LISTED)
        .map(ToString::to_string)
        .collect();
    let mut msg = format!(
        "Lambda layer {layer:?} at {json_path} stores Python bytecode ({}, function {})",
        d.version.as_str(),
        d.code.name
    );
    if !d.imports.is_empty() {
        msg.push_str(&format!("; imports {}", d.imports.join(", ")));
    }
    if !calls.is_empty() {
        msg.push_str(&format!("; calls {}", calls.join(", ")));
    }
    let mut f = lambda_layer::META
        .finding(path.clone(), msg)
        .with("python", d.version.as_str())
        .with("code_name", d.code.name.clone())
        .with("code_filename", d.code.filename.clone());
    for c in &calls {
        f = f.with("call", c.clone());
    }
    for i in d.imports.iter().take(MAX_LISTED) {
        f = f.with("import", i.clone());
    }
    for n in d
        .code_objects()
        .iter()
        .flat_map(|c| c.names.iter())
        .take(32)
    {
        f = f.with("code_name_ref", n.clone());
    }
    if d.truncated {
        f = f.with("analysis", "truncated by budget");
    }
    if let Some((what, why)) = first_danger(d) {
        f = f
            .severity(Severity::Critical)
            .with("dangerous", what.clone())
            .help(format!(
                "The Lambda's code reaches {what}, which {why}: do not load this model"
            ));
    }
    f
}
