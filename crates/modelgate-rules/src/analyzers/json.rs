//! JSON and template text: chat templates in `tokenizer_config.json` (and standalone
//! `chat_template.jinja` files). Cheap for other JSON: a substring probe decides whether the
//! document is parsed at all.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::template;
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
        matches!(format, FormatId::Json | FormatId::Text)
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        // Template files: `{{` makes them sniff as JSON, plain text otherwise.
        let lower = art.name.to_ascii_lowercase();
        if lower.ends_with(".jinja") || lower.ends_with(".jinja2") || lower.ends_with(".j2") {
            if let Ok(text) = std::str::from_utf8(d) {
                template::check(cx, &art.path, Some(0), &art.name, text);
            }
            return;
        }
        if art.format == FormatId::Text {
            return;
        }
        if !contains(d, b"\"chat_template\"") {
            return;
        }
        let Ok(doc) = serde_json::from_slice::<Value>(d) else {
            return;
        };
        for (source, text) in chat_templates(&doc) {
            template::check(cx, &art.path, None, &source, text);
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
        let mut c: Vec<String> = r.findings.iter().map(|f| f.code.clone()).collect();
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
}
