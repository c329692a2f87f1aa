//! `KRS`: Keras model configs (Lambda layers, modules outside Keras, custom objects,
//! embedded models, file references).

pub mod custom_object;
pub mod dangerous_module;
pub mod external_model;
pub mod file_reference;
pub mod lambda_code;
pub mod lambda_layer;

use crate::engine::ScanCx;
use modelgate_core::{Blob, VirtualPath};
use modelgate_formats::keras::{KerasObject, LambdaFunction, objects};
use serde_json::Value;

/// Top-level packages a Keras config may import from without being a custom object.
pub const KERAS_PACKAGES: &[&str] = &[
    "keras",
    "keras_hub",
    "keras_nlp",
    "keras_cv",
    "keras_core",
    "tf_keras",
    "tensorflow",
];

/// Modules that run commands, import or execute code, or reach the network.
pub const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "builtins",
    "__builtin__",
    "sys",
    "importlib",
    "runpy",
    "shutil",
    "socket",
    "pty",
    "ctypes",
    "pickle",
    "marshal",
    "code",
    "codeop",
    "webbrowser",
    "multiprocessing",
    "urllib",
    "requests",
    "http",
    "ftplib",
    "telnetlib",
    "smtplib",
    "commands",
    "platform",
    "pdb",
    "timeit",
    "dill",
    "cloudpickle",
    "torch.hub",
];

/// Top-level package of a dotted name (`os.path` -> `os`).
fn top(name: &str) -> &str {
    name.trim().split(['.', '>']).next().unwrap_or("")
}

fn is_dangerous(name: &str) -> bool {
    let t = top(name);
    DANGEROUS_MODULES.contains(&t) || (name.trim().starts_with("torch.hub"))
}

/// Most custom objects listed individually.
const MAX_CUSTOM: usize = 32;

/// Run the Keras rules over a parsed config document.
pub fn check(cx: &mut ScanCx, path: &VirtualPath, doc: &Value) {
    let objs = objects(doc);
    let mut custom = 0usize;
    for o in &objs {
        lambda(cx, path, o);
        dangerous(cx, path, o);
        if !is_builtin(o) {
            custom += 1;
            if custom <= MAX_CUSTOM && !is_dangerous_object(o) {
                let what = format!("{}.{}", o.module.as_deref().unwrap_or("?"), o.class_name);
                cx.emit(
                    custom_object::META
                        .finding(path.clone(), format!("custom object {what} at {}", o.path))
                        .with("object", what)
                        .with("json_path", o.path.clone())
                        .with(
                            "registered_name",
                            o.registered_name.clone().unwrap_or_default(),
                        ),
                );
            }
        }
        external(cx, path, o);
        for (field, value) in &o.file_refs {
            cx.emit(
                file_reference::META
                    .finding(
                        path.clone(),
                        format!(
                            "{} at {} reads {field} from {value:?}",
                            o.class_name, o.path
                        ),
                    )
                    .with("json_path", o.path.clone())
                    .with("field", field.clone())
                    .with("value", value.clone()),
            );
        }
    }
    if custom > MAX_CUSTOM {
        cx.emit(custom_object::META.finding(
            path.clone(),
            format!("{} further custom objects not listed", custom - MAX_CUSTOM),
        ));
    }
}

/// An object whose `module`/`registered_name` are Keras' own (or absent, as in Keras 2).
fn is_builtin(o: &KerasObject) -> bool {
    let module_ok = o
        .module
        .as_deref()
        .is_none_or(|m| KERAS_PACKAGES.contains(&top(m)));
    // Keras 3 writes registered_name null for built-ins, "function" for functions and
    // "package>Name" for registered custom objects.
    let reg_ok = o.registered_name.as_deref().is_none_or(|r| {
        r == o.class_name || r == "function" || !r.contains('>') || KERAS_PACKAGES.contains(&top(r))
    });
    module_ok && reg_ok
}

fn is_dangerous_object(o: &KerasObject) -> bool {
    o.module.as_deref().is_some_and(is_dangerous)
        || o.registered_name
            .as_deref()
            .is_some_and(|r| r.contains('>') && is_dangerous(r))
        || (o.class_name.contains('.') && is_dangerous(&o.class_name))
        || o.function
            .as_deref()
            .is_some_and(|f| f.contains('.') && is_dangerous(f))
        || matches!(&o.lambda, Some(LambdaFunction::Named { module: Some(m), .. }) if is_dangerous(m))
}

fn dangerous(cx: &mut ScanCx, path: &VirtualPath, o: &KerasObject) {
    if !is_dangerous_object(o) {
        return;
    }
    let target = match (&o.lambda, &o.function) {
        (
            Some(LambdaFunction::Named {
                module: Some(m),
                name,
            }),
            _,
        ) => format!("{m}.{name}"),
        (_, Some(f)) if f.contains('.') => f.clone(),
        (_, Some(f)) => format!("{}.{f}", o.module.as_deref().unwrap_or("?")),
        _ => match &o.module {
            Some(m) if is_dangerous(m) => format!("{m}.{}", o.class_name),
            _ => o
                .registered_name
                .clone()
                .filter(|r| r.contains('>'))
                .unwrap_or_else(|| o.class_name.clone()),
        },
    };
    cx.emit(
        dangerous_module::META
            .finding(
                path.clone(),
                format!("config object at {} imports {target}", o.path),
            )
            .with("call", target)
            .with("json_path", o.path.clone())
            .with("class_name", o.class_name.clone())
            .with("module", o.module.clone().unwrap_or_default())
            .help("Do not load this model; Keras >= 3.9 with safe_mode=True refuses it"),
    );
}

fn lambda(cx: &mut ScanCx, path: &VirtualPath, o: &KerasObject) {
    let Some(l) = &o.lambda else { return };
    let name = o.name.clone().unwrap_or_default();
    let mut f = match l {
        LambdaFunction::Code {
            base64_len,
            decoded_len,
            strings,
            disassembly,
        } => {
            let mut f = match disassembly {
                Some(Ok(d)) => lambda_code::describe(path, &name, &o.path, d),
                _ => {
                    let shown: Vec<&str> = strings.iter().map(String::as_str).take(24).collect();
                    let mut f = lambda_layer::META
                        .finding(path.clone(), format!("Lambda layer {name:?} at {} stores Python bytecode ({base64_len} bytes base64); strings: {}", o.path, shown.join(", ")));
                    if let Some(Err(e)) = disassembly {
                        f = f.with("disassembly_error", e.to_string());
                    }
                    f
                }
            };
            f = f.with("code_base64_len", base64_len.to_string());
            if let Some(n) = decoded_len {
                f = f.with("code_bytes", n.to_string());
            }
            for s in strings.iter().take(24) {
                f = f.with("code_string", s.as_str());
            }
            f
        }
        LambdaFunction::Named { module, name: func } => lambda_layer::META
            .finding(
                path.clone(),
                format!(
                    "Lambda layer {name:?} at {} calls {}.{func}",
                    o.path,
                    module.as_deref().unwrap_or("?")
                ),
            )
            .with(
                "function",
                format!("{}.{func}", module.as_deref().unwrap_or("?")),
            ),
        LambdaFunction::Unknown => {
            lambda_layer::META.finding(path.clone(), format!("Lambda layer {name:?} at {}", o.path))
        }
    };
    f = f.with("json_path", o.path.clone()).with("layer", name);
    cx.emit(f);
}

fn external(cx: &mut ScanCx, path: &VirtualPath, o: &KerasObject) {
    match o.class_name.as_str() {
        "TorchModuleWrapper" => {
            let n = o.embedded.as_ref().map_or(0, Vec::len);
            cx.emit(
                external_model::META
                    .finding(
                        path.clone(),
                        format!(
                            "TorchModuleWrapper at {} embeds a pickled PyTorch module ({n} bytes)",
                            o.path
                        ),
                    )
                    .with("json_path", o.path.clone()),
            );
            if let Some(bytes) = &o.embedded {
                cx.descend(
                    path.join(format!("<torch-module {}>", o.path)),
                    Blob::from_vec(bytes.clone()),
                );
            }
        }
        "TFSMLayer" => {
            cx.emit(
                external_model::META
                    .finding(
                        path.clone(),
                        format!("TFSMLayer at {} loads a TensorFlow SavedModel", o.path),
                    )
                    .with("json_path", o.path.clone()),
            );
        }
        _ => {}
    }
}
