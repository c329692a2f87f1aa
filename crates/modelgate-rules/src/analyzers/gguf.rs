//! GGUF: bounded header/metadata/tensor-info validation, chat templates checked for Jinja
//! sandbox escapes, and bytes after the last tensor scanned by content.

use crate::analyzers::safetensors::{decodings, is_payload};
use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::gguf::{hidden_payload, invalid_tensor, malformed, trailing_data};
use crate::rules::template;
use modelgate_core::{Blob, FormatId, Severity};
use modelgate_formats::gguf::{Value, parse};

pub struct GgufAnalyzer;

const MAX_ISSUES: usize = 64;

impl Analyzer for GgufAnalyzer {
    fn id(&self) -> &'static str {
        "gguf"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Gguf
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        let g = match parse(d) {
            Ok(g) => g,
            Err(e) => {
                cx.emit(malformed::META.finding(art.path.clone(), format!("GGUF: {e}")));
                return;
            }
        };
        let arch = g
            .get("general.architecture")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.notes.push(format!(
                "GGUF v{}{}: architecture {arch}, {} tensor(s), {} metadata key(s), alignment {}",
                g.version,
                if g.big_endian { " (big-endian)" } else { "" },
                g.tensors.len(),
                g.kvs.len(),
                g.alignment
            ));
        }
        for issue in g.issues.iter().take(MAX_ISSUES) {
            cx.emit(invalid_tensor::META.finding(art.path.clone(), issue.to_string()));
        }
        if g.issues.len() > MAX_ISSUES {
            cx.emit(invalid_tensor::META.finding(
                art.path.clone(),
                format!(
                    "{} further tensor problems not listed",
                    g.issues.len() - MAX_ISSUES
                ),
            ));
        }
        for kv in &g.kvs {
            if let Value::String {
                valid_utf8: false, ..
            } = kv.value
            {
                cx.emit(
                    malformed::META
                        .finding(
                            art.path.at(kv.offset as u64),
                            format!("metadata value {:?} is not UTF-8", kv.key),
                        )
                        .severity(Severity::Low)
                        .with("key", kv.key.clone()),
                );
            }
        }
        let len_width = if g.version >= 2 { 8 } else { 4 };
        for (text, kv) in g.chat_templates() {
            let base = match kv.value {
                Value::String {
                    offset,
                    valid_utf8: true,
                    ..
                } => offset.checked_add(len_width).map(|o| o as u64),
                _ => None,
            };
            template::check(cx, &art.path, base, &kv.key, text);
        }
        for kv in &g.kvs {
            if kv.key.starts_with("tokenizer.chat_template") {
                continue;
            }
            let Value::String {
                text: Some(text),
                len,
                ..
            } = &kv.value
            else {
                continue;
            };
            if *len < 16 {
                continue;
            }
            for (how, bytes) in decodings(text) {
                let format = modelgate_formats::sniff(&bytes, "");
                if !is_payload(format) {
                    continue;
                }
                let msg = if how == "raw" {
                    format!("metadata value {:?} is a {format}", kv.key)
                } else {
                    format!("metadata value {:?} decodes ({how}) to a {format}", kv.key)
                };
                cx.emit(
                    hidden_payload::META
                        .finding(art.path.at(kv.offset as u64), msg)
                        .with("key", kv.key.clone())
                        .with("encoding", how)
                        .with("format", format.name()),
                );
                let member = if how == "raw" {
                    kv.key.clone()
                } else {
                    format!("{} ({how})", kv.key)
                };
                cx.descend_as(art.path.join(member), Blob::from_vec(bytes), format);
                break;
            }
        }
        if !g.tensors.is_empty() && g.data_end < d.len() as u64 {
            let start = usize::try_from(g.data_end).unwrap_or(d.len());
            let Some(blob) = art.data.slice(start..d.len()) else {
                return;
            };
            let format = modelgate_formats::sniff(blob.as_slice(), "");
            let payload = is_payload(format);
            let mut f = trailing_data::META
                .finding(
                    art.path.at(g.data_end),
                    format!(
                        "{} byte(s) after the last tensor belong to no tensor{}",
                        blob.len(),
                        if payload {
                            format!(" and hold a {format}")
                        } else {
                            String::new()
                        }
                    ),
                )
                .with("offset", g.data_end.to_string())
                .with("length", blob.len().to_string());
            if payload {
                f = f.severity(Severity::High).with("format", format.name());
            }
            cx.emit(f);
            cx.descend_as(art.path.join("<trailing bytes>"), blob, format);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::engine::scan_bytes;
    use modelgate_core::{Blob, Limits, Verdict};
    use modelgate_formats::gguf::Builder;

    fn scan(data: Vec<u8>) -> (Vec<String>, Verdict, Vec<modelgate_core::Finding>) {
        let r = scan_bytes("m.gguf", Blob::from_vec(data), &Limits::default());
        // Information-level findings (the template inventory) are not listed.
        let mut c: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.severity > modelgate_core::Severity::Info)
            .map(|f| f.code.clone())
            .collect();
        c.sort();
        c.dedup();
        (c, r.verdict, r.findings)
    }

    const QWEN: &str = "{%- set ns = namespace(found=false) %}{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

    #[test]
    fn benign_model_is_clean() {
        let f = Builder::default()
            .kv_str("general.architecture", "qwen2")
            .kv_str("tokenizer.chat_template", QWEN)
            .tensor("w", &[8], 0, 0)
            .data(&[0u8; 32])
            .build();
        let (c, v, _) = scan(f);
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(v, Verdict::Clean);
    }

    #[test]
    fn malicious_template_points_at_its_bytes() {
        let evil = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
        let f = Builder::default()
            .kv_str("tokenizer.chat_template.tool_use", evil)
            .build();
        let (c, v, findings) = scan(f.clone());
        assert_eq!(c, vec!["TPL001", "TPL002", "TPL003"]);
        assert_eq!(v, Verdict::Malicious);
        let tpl = findings.iter().find(|f| f.code == "TPL002").unwrap();
        let off = tpl.location.offset.unwrap() as usize;
        assert!(f[off..].starts_with(b"cycler"), "{tpl:?}");
        assert_eq!(
            tpl.evidence_value("template"),
            Some("tokenizer.chat_template.tool_use")
        );
    }

    #[test]
    fn malformed_and_invalid_tensors() {
        let (c, v, _) = scan(
            b"GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"
                .to_vec(),
        );
        assert_eq!(c, vec!["GGF001"]);
        assert_eq!(v, Verdict::Malformed);
        let f = Builder::default()
            .tensor("w", &[8], 0, 8)
            .data(&[0u8; 32])
            .build();
        let (c, _, _) = scan(f);
        assert_eq!(c, vec!["GGF002"]);
    }

    #[test]
    fn trailing_pickle_is_scanned() {
        let mut data = vec![0u8; 32];
        data.extend_from_slice(b"cos\nsystem\n(S'id'\ntR.");
        let f = Builder::default()
            .tensor("w", &[8], 0, 0)
            .data(&data)
            .build();
        let (c, v, findings) = scan(f);
        assert!(c.contains(&"GGF003".to_string()), "{c:?}");
        assert!(
            findings.iter().any(|f| f.code.starts_with("PKL")
                && f.location.to_string().contains("<trailing bytes>"))
        );
        assert_eq!(v, Verdict::Malicious);
    }

    /// Files written by llama.cpp's `gguf` 0.19.0 (tests/fixtures/gen/gguf.py).
    #[test]
    fn real_library_fixtures() {
        let benign = include_bytes!("../../../../tests/fixtures/gguf/benign.gguf").to_vec();
        let g = modelgate_formats::gguf::parse(&benign).unwrap();
        assert_eq!(g.tensors.len(), 3);
        assert!(g.issues.is_empty(), "{:?}", g.issues);
        assert_eq!(g.chat_templates().count(), 1);
        let (c, v, _) = scan(benign);
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(v, Verdict::Clean);
        let (c, v, _) =
            scan(include_bytes!("../../../../tests/fixtures/gguf/evil_template.gguf").to_vec());
        assert_eq!(c, vec!["TPL001", "TPL003"]);
        assert_eq!(v, Verdict::Malicious);
    }

    #[test]
    fn pickle_in_metadata_is_scanned() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"cos\nsystem\n(S'id'\ntR.");
        let f = Builder::default()
            .kv_str("general.architecture", "llama")
            .kv_str("general.notes", &b64)
            .build();
        let (c, v, findings) = scan(f);
        assert!(c.contains(&"GGF004".to_string()), "{c:?}");
        assert!(
            findings.iter().any(|f| f.code.starts_with("PKL")
                && f.location.to_string().contains("general.notes (base64)")),
            "{findings:?}"
        );
        assert_eq!(v, Verdict::Malicious);
    }
}
