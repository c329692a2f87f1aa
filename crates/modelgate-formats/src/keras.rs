//! Keras model configs (`config.json` of a Keras v3 `.keras` archive, or any JSON Keras
//! config): every serialized object in the tree (`{"class_name": ..., "config": ...}`, with
//! `module`/`registered_name` in Keras 3), with what matters for safety pulled out: Lambda
//! code, imported modules, embedded models and file references.
//!
//! Lambda bytecode is `marshal` data: it is disassembled by [`crate::marshal`] (names,
//! constants, imports and calls; nothing is executed). [`marshal_strings`] is the fallback
//! for streams that do not disassemble: the string records found in the bytes.

use crate::marshal::{self, Disassembly};
use base64::Engine as _;
use serde_json::Value;

/// Deepest JSON nesting walked (serde_json already refuses more than 128).
const MAX_DEPTH: usize = 256;
/// Most objects reported from one config.
pub const MAX_OBJECTS: usize = 100_000;

/// A Lambda layer's function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LambdaFunction {
    /// Python bytecode, base64 `marshal` data.
    Code {
        base64_len: usize,
        decoded_len: Option<usize>,
        strings: Vec<String>,
        /// The disassembled code object, or why it could not be read.
        disassembly: Option<Result<Box<Disassembly>, marshal::Error>>,
    },
    /// A function referenced by name (`module.function`).
    Named {
        module: Option<String>,
        name: String,
    },
    /// Anything else (missing, unexpected shape).
    Unknown,
}

/// One serialized object of the config tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerasObject {
    /// JSON path from the root (`config.layers[2].config.layer`).
    pub path: String,
    pub class_name: String,
    pub module: Option<String>,
    pub registered_name: Option<String>,
    /// `config.name`, when present.
    pub name: Option<String>,
    /// For `class_name: "function"` objects: the function named by `config`.
    pub function: Option<String>,
    pub lambda: Option<LambdaFunction>,
    /// String config fields naming files or URLs: (field, value).
    pub file_refs: Vec<(String, String)>,
    /// Decoded bytes of an embedded model (`TorchModuleWrapper`'s base64 `torch.save`).
    pub embedded: Option<Vec<u8>>,
}

/// Whether a JSON document looks like a Keras config: an object with a string `class_name`
/// and a `config`, at the root or under `model_config`.
pub fn is_keras_config(v: &Value) -> bool {
    let probe =
        |o: &Value| o.get("class_name").is_some_and(Value::is_string) && o.get("config").is_some();
    probe(v) || v.get("model_config").is_some_and(probe)
}

fn str_field(o: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(str::to_string)
}

/// Every serialized object in the tree, in document order.
pub fn objects(root: &Value) -> Vec<KerasObject> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Value, String, usize)> = vec![(root, String::new(), 0)];
    while let Some((v, path, depth)) = stack.pop() {
        if depth > MAX_DEPTH || out.len() >= MAX_OBJECTS {
            continue;
        }
        match v {
            Value::Object(o) => {
                if let Some(class_name) = str_field(o, "class_name") {
                    out.push(object(o, &path, class_name));
                }
                // Push in reverse so that children come out in document order.
                for (k, child) in o.iter().rev() {
                    if matches!(child, Value::Object(_) | Value::Array(_)) {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        stack.push((child, p, depth + 1));
                    }
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate().rev() {
                    if matches!(child, Value::Object(_) | Value::Array(_)) {
                        stack.push((child, format!("{path}[{i}]"), depth + 1));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn object(o: &serde_json::Map<String, Value>, path: &str, class_name: String) -> KerasObject {
    let config = o.get("config");
    let cfg = config.and_then(Value::as_object);
    let name = cfg.and_then(|c| str_field(c, "name"));
    let function = if class_name == "function" {
        config.and_then(Value::as_str).map(str::to_string)
    } else {
        None
    };
    let lambda = (class_name == "Lambda").then(|| lambda_function(cfg));
    let mut file_refs = Vec::new();
    let mut embedded = None;
    if let Some(c) = cfg {
        for (k, v) in c {
            let Some(s) = v.as_str() else { continue };
            let key = k.to_ascii_lowercase();
            if (key.contains("path")
                || key.contains("file")
                || key == "origin"
                || key == "vocabulary")
                && is_outside_reference(s)
            {
                file_refs.push((k.clone(), s.to_string()));
            }
        }
        if class_name == "TorchModuleWrapper"
            && let Some(m) = c.get("module").and_then(Value::as_str)
        {
            embedded = base64::engine::general_purpose::STANDARD
                .decode(m.trim())
                .ok();
        }
    }
    KerasObject {
        path: if path.is_empty() {
            "<root>".to_string()
        } else {
            path.to_string()
        },
        class_name,
        module: str_field(o, "module"),
        registered_name: str_field(o, "registered_name"),
        name,
        function,
        lambda,
        file_refs,
        embedded,
    }
}

fn lambda_function(cfg: Option<&serde_json::Map<String, Value>>) -> LambdaFunction {
    let Some(c) = cfg else {
        return LambdaFunction::Unknown;
    };
    let code = |b64: &str| {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.trim().replace(['\n', '\r'], ""))
            .ok();
        LambdaFunction::Code {
            base64_len: b64.len(),
            decoded_len: decoded.as_ref().map(Vec::len),
            strings: decoded.as_deref().map(marshal_strings).unwrap_or_default(),
            disassembly: decoded
                .as_deref()
                .map(|d| marshal::disassemble(d, &marshal::Limits::default()).map(Box::new)),
        }
    };
    match c.get("function") {
        // Keras 3: {"class_name": "__lambda__", "config": {"code": "<base64>", ...}}
        Some(Value::Object(f)) => match f
            .get("config")
            .and_then(|x| x.get("code"))
            .and_then(Value::as_str)
        {
            Some(b64) => code(b64),
            None => LambdaFunction::Unknown,
        },
        // Keras 2: ["<base64>", defaults, closure] with function_type "lambda".
        Some(Value::Array(a)) => match a.first().and_then(Value::as_str) {
            Some(b64) => code(b64),
            None => LambdaFunction::Unknown,
        },
        // Keras 2: function_type "function", a name in `module`.
        Some(Value::String(s))
            if c.get("function_type").and_then(Value::as_str) == Some("lambda") =>
        {
            code(s)
        }
        Some(Value::String(s)) => LambdaFunction::Named {
            module: str_field(c, "module"),
            name: s.clone(),
        },
        _ => LambdaFunction::Unknown,
    }
}

/// An absolute path, a parent-directory climb or a URL.
pub fn is_outside_reference(s: &str) -> bool {
    let t = s.trim();
    let b = t.as_bytes();
    t.starts_with('/')
        || t.starts_with('\\')
        || t.starts_with('~')
        || (b.len() > 2
            && b.get(1) == Some(&b':')
            && matches!(b.get(2), Some(b'\\' | b'/'))
            && b.first().is_some_and(u8::is_ascii_alphabetic))
        || t.split(['/', '\\']).any(|seg| seg == "..")
        || t.contains("://")
}

/// String records of a `marshal` stream (short/long ASCII, unicode, interned), in order,
/// deduplicated, printable only, at most 64. A heuristic scan, not an unmarshal: bytes of
/// `co_code` that happen to look like a record can add a few extra strings.
pub fn marshal_strings(d: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0usize;
    while let Some(&t) = d.get(i) {
        if out.len() >= 64 {
            break;
        }
        let ty = t & 0x7f; // FLAG_REF
        let (len, header) = match ty {
            b'z' | b'Z' => (d.get(i + 1).map(|n| usize::from(*n)), 2),
            b'a' | b'A' | b'u' | b't' => (
                d.get(i + 1..i + 5)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(|b| u32::from_le_bytes(b) as usize)
                    .filter(|n| *n <= 4096),
                5,
            ),
            _ => (None, 0),
        };
        if let Some(n) = len
            && n >= 2
            && let Some(bytes) = i
                .checked_add(header)
                .and_then(|s| d.get(s..s.checked_add(n)?))
            && let Ok(s) = std::str::from_utf8(bytes)
            && s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
        {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
            i += header + n;
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn walks_nested_models_and_wrappers() {
        let cfg = json!({
            "module": "keras", "class_name": "Sequential", "registered_name": null,
            "config": {"name": "seq", "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "in"}},
                {"module": "keras.layers", "class_name": "TimeDistributed", "config": {"name": "td", "layer":
                    {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lam", "function":
                        {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAMAAAADAAAA80YAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAFMAKQNO2gJvc9oCaWQpAtoKX19pbXBvcnRfX9oGc3lzdGVtKQHaAXhzAQAAACD6CDxzdHJpbmc++gg8bGFtYmRhPnIIAAAAAwAAAHMcAAAAgACNSpB00Qwc1Awc1wwj0gwjoETRDCnUDCmAAPMAAAAA", "defaults": null, "closure": null}}}}}},
                {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}
            ]}
        });
        assert!(is_keras_config(&cfg));
        let objs = objects(&cfg);
        let names: Vec<&str> = objs.iter().map(|o| o.class_name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "Sequential",
                "InputLayer",
                "TimeDistributed",
                "Lambda",
                "__lambda__",
                "function"
            ]
        );
        let lam = &objs[3];
        assert_eq!(lam.path, "config.layers[1].config.layer");
        assert_eq!(lam.name.as_deref(), Some("lam"));
        match lam.lambda.as_ref().unwrap() {
            LambdaFunction::Code {
                strings,
                decoded_len,
                ..
            } => {
                assert!(decoded_len.is_some());
                assert!(
                    strings.iter().any(|s| s == "os") && strings.iter().any(|s| s == "system"),
                    "{strings:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(objs[5].function.as_deref(), Some("exec"));
        assert_eq!(objs[5].module.as_deref(), Some("builtins"));
    }

    #[test]
    fn keras2_lambda_forms_and_file_refs() {
        let cfg = json!({"class_name": "Model", "config": {"layers": [
            {"class_name": "Lambda", "config": {"name": "a", "function": ["YQ==", null, null], "function_type": "lambda"}},
            {"class_name": "Lambda", "config": {"name": "b", "function": "system", "function_type": "function", "module": "os"}},
            {"class_name": "StringLookup", "config": {"name": "s", "vocabulary": "/etc/passwd"}},
            {"class_name": "TextVectorization", "config": {"vocabulary": "vocab.txt"}},
            {"class_name": "TFSMLayer", "config": {"filepath": "../../other_model"}}
        ]}});
        let objs = objects(&cfg);
        assert!(matches!(
            objs[1].lambda,
            Some(LambdaFunction::Code { base64_len: 4, .. })
        ));
        assert_eq!(
            objs[2].lambda,
            Some(LambdaFunction::Named {
                module: Some("os".into()),
                name: "system".into()
            })
        );
        assert_eq!(
            objs[3].file_refs,
            vec![("vocabulary".to_string(), "/etc/passwd".to_string())]
        );
        assert!(objs[4].file_refs.is_empty());
        assert_eq!(objs[5].file_refs.len(), 1);
        assert!(
            is_outside_reference("C:\\Windows\\x")
                && is_outside_reference("https://x/y")
                && !is_outside_reference("assets/vocab.txt")
        );
    }

    #[test]
    fn torch_module_wrapper_is_decoded() {
        let cfg = json!({"class_name": "TorchModuleWrapper", "config": {"module": "UEsDBA=="}});
        assert_eq!(
            objects(&cfg)[0].embedded.as_deref(),
            Some(&b"PK\x03\x04"[..])
        );
        assert!(!is_keras_config(&json!({"architectures": ["X"]})));
        assert!(is_keras_config(
            &json!({"model_config": {"class_name": "X", "config": {}}})
        ));
    }

    #[test]
    fn marshal_strings_never_panic() {
        let mut seed = 0xdead_beef_u64;
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let v: Vec<u8> = (0..(seed % 64))
                .map(|i| [b'z', b'a', 0xda, 3, 0xff, b'o', b's'][((seed >> i) % 7) as usize])
                .collect();
            let _ = marshal_strings(&v);
        }
        assert_eq!(
            marshal_strings(b"\xda\x02os\xda\x06system"),
            vec!["os", "system"]
        );
    }

    #[test]
    fn deep_garbage_json_never_panics() {
        let mut s = String::new();
        for _ in 0..100 {
            s.push_str("{\"class_name\": \"Lambda\", \"config\": [");
        }
        let v: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
        let _ = objects(&v);
        let mut deep =
            json!({"class_name": "Lambda", "config": {"function": {"config": {"code": 5}}}});
        for _ in 0..100 {
            deep = json!({"class_name": "Wrapper", "config": {"layer": deep}});
        }
        assert_eq!(objects(&deep).len(), 101);
    }
}
