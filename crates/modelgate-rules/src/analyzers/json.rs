//! JSON and template text: chat templates in `tokenizer_config.json` (and standalone
//! `chat_template.jinja` files), and Keras model configs (`config.json` of `.keras`). Cheap for other JSON: a substring probe decides whether the
//! document is parsed at all.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::{keras, template};
use modelgate_core::FormatId;
use serde_json::Value;

pub struct JsonAnalyzer;

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Chat templates of a `tokenizer_config.json`-style document: `chat_template` as a string,
/// or as a list of `{"name": ..., "template": ...}`.
pub fn chat_templates(doc: &Value) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    match doc.get("chat_template") {
        Some(Value::String(s)) => out.push(("chat_template".to_string(), s.as_str())),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_string);
                if let Some(t) = item.get("template").and_then(Value::as_str) {
                    out.push((format!("chat_template[{name}]"), t));
                }
            }
        }
        _ => {}
    }
    out
}

impl Analyzer for JsonAnalyzer {
    fn id(&self) -> &'static str {
        "json"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(format, FormatId::Json | FormatId::Text | FormatId::Unknown)
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        // Content matched no model format, but the name claims one whose header is so damaged
        // that sniffing missed it: validate it as that format so it is reported malformed.
        let lower = art.name.to_ascii_lowercase();
        if lower.ends_with(".safetensors") {
            return crate::analyzers::safetensors::SafetensorsAnalyzer.analyze(cx, art);
        }
        if lower.ends_with(".gguf") {
            return crate::analyzers::gguf::GgufAnalyzer.analyze(cx, art);
        }
        // Template files: `{{` makes them sniff as JSON, plain text otherwise, and unknown
        // when they are not UTF-8 (checked all the same, invalid bytes replaced).
        if lower.ends_with(".jinja") || lower.ends_with(".jinja2") || lower.ends_with(".j2") {
            if !d.is_empty() {
                let text = String::from_utf8_lossy(d);
                template::check(cx, &art.path, Some(0), &art.name, &text);
            }
            return;
        }
        if art.format == FormatId::Unknown {
            return;
        }
        if art.format == FormatId::Text {
            return;
        }
        let templates = contains(d, b"\"chat_template\"");
        let keras_like = contains(d, b"\"class_name\"");
        if !templates && !keras_like {
            return;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(d) else {
            return;
        };
        for (source, text) in chat_templates(&doc) {
            template::check(cx, &art.path, None, &source, text);
        }
        if keras_like && modelgate_formats::keras::is_keras_config(&doc) {
            if let Some(inv) = cx.inventory_mut(&art.path) {
                inv.notes.push("Keras model config".into());
            }
            keras::check(cx, &art.path, &doc);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::engine::scan_bytes;
    use modelgate_core::{Blob, Limits, Verdict};

    fn codes(name: &str, data: &str) -> (Vec<String>, Verdict) {
        let r = scan_bytes(
            name,
            Blob::from_vec(data.as_bytes().to_vec()),
            &Limits::default(),
        );
        // Information-level findings (the template inventory) are not listed.
        let mut c: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.severity > modelgate_core::Severity::Info)
            .map(|f| f.code.clone())
            .collect();
        c.sort();
        c.dedup();
        (c, r.verdict)
    }

    #[test]
    fn tokenizer_config_templates() {
        let benign = r#"{"bos_token": "<s>", "chat_template": "{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% endfor %}"}"#;
        assert_eq!(
            codes("tokenizer_config.json", benign),
            (vec![], Verdict::Clean)
        );
        let evil = r#"{"chat_template": [{"name": "default", "template": "{{ m }}"}, {"name": "rag", "template": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}]}"#;
        let (c, v) = codes("tokenizer_config.json", evil);
        assert_eq!(c, vec!["TPL001"]);
        assert_eq!(v, Verdict::Malicious);
    }

    #[test]
    fn jinja_file_and_unrelated_text() {
        let (c, _) = codes(
            "chat_template.jinja",
            "{{ joiner.__init__.__globals__['os'].system('id') }}",
        );
        assert_eq!(c, vec!["TPL001", "TPL002", "TPL003"]);
        assert!(codes("notes.txt", "{{ ''.__class__ }}").0.is_empty());
        assert!(
            codes(
                "config.json",
                r#"{"architectures": ["LlamaForCausalLM"], "x": "__class__"}"#
            )
            .0
            .is_empty()
        );
    }

    fn scan_fixture(name: &str, data: &[u8]) -> modelgate_core::FileReport {
        scan_bytes(name, Blob::from_vec(data.to_vec()), &Limits::default())
    }

    fn code_set(r: &modelgate_core::FileReport) -> Vec<String> {
        let mut c: Vec<String> = r.findings.iter().map(|f| f.code.clone()).collect();
        c.sort();
        c.dedup();
        c
    }

    /// Hand-made `.keras` archives in Keras 3's layout (tests/fixtures/gen/keras.py).
    #[test]
    fn keras_archives() {
        let r = scan_fixture(
            "benign.keras",
            include_bytes!("../../../../tests/fixtures/keras/benign.keras"),
        );
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.verdict, Verdict::Clean);

        let r = scan_fixture(
            "lambda.keras",
            include_bytes!("../../../../tests/fixtures/keras/lambda.keras"),
        );
        assert_eq!(code_set(&r), vec!["KRS001"]);
        let f = &r.findings[0];
        assert_eq!(f.location.to_string(), "lambda.keras!config.json");
        assert_eq!(
            f.evidence_value("json_path"),
            Some("config.layers[2].config.layer")
        );
        let strings: Vec<&str> = f
            .evidence
            .iter()
            .filter(|e| e.key == "code_string")
            .map(|e| e.value.as_str())
            .collect();
        assert!(
            strings.contains(&"os")
                && strings.contains(&"system")
                && strings.iter().any(|s| s.contains("203.0.113.7")),
            "{strings:?}"
        );
        assert_eq!(r.verdict, Verdict::Malicious);

        let r = scan_fixture(
            "m.keras",
            include_bytes!("../../../../tests/fixtures/keras/module_injection.keras"),
        );
        assert_eq!(code_set(&r), vec!["KRS002"]);
        assert_eq!(r.findings[0].evidence_value("call"), Some("os.system"));
        assert_eq!(r.verdict, Verdict::Malicious);
    }

    #[test]
    fn keras_config_rules() {
        let cfg = r#"{"module": "keras", "class_name": "Functional", "config": {"layers": [
            {"module": "my_lab.layers", "class_name": "Attention", "config": {"name": "att"}, "registered_name": "my_lab>Attention"},
            {"module": "keras.layers", "class_name": "StringLookup", "config": {"name": "s", "vocabulary": "../../../etc/passwd"}},
            {"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "t", "filepath": "saved"}},
            {"module": "keras.layers", "class_name": "Dense", "config": {"activation": {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}}},
            {"module": "keras.layers", "class_name": "Dense", "config": {"activation": {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "function"}}},
            {"class_name": "Lambda", "config": {"name": "k2", "function": "system", "function_type": "function", "module": "os"}}
        ]}}"#;
        let r = scan_fixture("config.json", cfg.as_bytes());
        let c = code_set(&r);
        assert_eq!(
            c,
            vec!["KRS001", "KRS002", "KRS003", "KRS004", "KRS005"],
            "{:?}",
            r.findings
        );
        let calls: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.code == "KRS002")
            .filter_map(|f| f.evidence_value("call"))
            .collect();
        assert_eq!(calls, vec!["builtins.exec", "os.system"]);
        let custom: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.code == "KRS003")
            .filter_map(|f| f.evidence_value("object"))
            .collect();
        assert_eq!(custom, vec!["my_lab.layers.Attention"]);
    }

    #[test]
    fn torch_module_wrapper_payload_is_scanned() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"cos\nsystem\n(S'id'\ntR.");
        let cfg = format!(
            r#"{{"module": "keras", "class_name": "Sequential", "config": {{"layers": [{{"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {{"name": "tw", "module": "{b64}"}}}}]}}}}"#
        );
        let r = scan_fixture("config.json", cfg.as_bytes());
        assert!(r.findings.iter().any(|f| f.code == "KRS004"));
        assert!(
            r.findings.iter().any(|f| f.code.starts_with("PKL")
                && f.location
                    .to_string()
                    .contains("<torch-module config.layers[0]>")),
            "{:?}",
            r.findings
        );
        assert_eq!(r.verdict, Verdict::Malicious);
    }

    #[test]
    fn damaged_headers_are_validated_by_name() {
        // Header length past the end: sniffing cannot call it safetensors.
        let mut st = 0x4000u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"a\": 1}");
        let r = scan_fixture("model.safetensors", &st);
        assert_eq!(code_set(&r), vec!["STN001"]);
        assert_eq!(r.verdict, Verdict::Malformed);
        let r = scan_fixture("model.gguf", b"GGUX\x03\x00\x00\x00");
        assert_eq!(code_set(&r), vec!["GGF001"]);
        assert_eq!(r.verdict, Verdict::Malformed);
        assert!(scan_fixture("blob.bin", &st).findings.is_empty());
    }
}
