//! `PKL005` pickle-embedded-payload: the pickle deserialises an embedded payload (pickle.loads, marshal, torch.load of bytes).

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL005",
    name: "pickle-embedded-payload",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The pickle deserialises a payload embedded in its own arguments",
    doc: include_str!("../../../../../docs/rules/PKL005.md"),
    references: &["CWE-502"],
    since: "0.1.0",
};
use super::model::PickleModel;
use super::policy::{Class, Danger};
use modelgate_core::Finding;
use modelgate_formats::pickle::{Value, ValueId};

/// An embedded payload to scan: where it is referenced and its bytes.
pub struct Embedded {
    pub offset: usize,
    pub loader: String,
    pub bytes: Vec<u8>,
}

const MAX_EMBEDDED: usize = 64 << 20;

/// Bytes passed (directly, base64-encoded, or wrapped in `io.BytesIO`) to a nested loader.
pub fn embedded_payloads(m: &PickleModel<'_>) -> Vec<Embedded> {
    let mut out = Vec::new();
    for c in &m.calls {
        if c.class != Class::Dangerous(Danger::NestedLoad) {
            continue;
        }
        let Some(first) = c.eff.args.first() else {
            continue;
        };
        if let Some(bytes) = payload_bytes(m, *first, 0) {
            out.push(Embedded {
                offset: c.offset,
                loader: c.target_name().unwrap_or("?").to_string(),
                bytes,
            });
        }
    }
    out
}

fn payload_bytes(m: &PickleModel<'_>, id: ValueId, depth: usize) -> Option<Vec<u8>> {
    if depth > 8 {
        return None;
    }
    let values = &m.program.values;
    if let Some(b) = values.as_bytes(id, m.data) {
        return (b.len() <= MAX_EMBEDDED).then(|| b.to_vec());
    }
    match values.get(id) {
        Value::Str(s) => Some(s.as_bytes().to_vec()),
        Value::Call { callee, args, .. } => {
            let name = match values.get(*callee) {
                Value::Global { module, name } => format!("{module}.{name}"),
                _ => return None,
            };
            let inner = *values.items(*args)?.first()?;
            let raw = payload_bytes(m, inner, depth + 1)?;
            match name.as_str() {
                "io.BytesIO" | "_io.BytesIO" | "builtins.bytes" | "builtins.bytearray"
                | "_codecs.encode" | "codecs.encode" => {
                    if name.ends_with("encode") {
                        // _codecs.encode(str, "latin1"): protocol-2 bytes.
                        let s = String::from_utf8(raw).ok()?;
                        Some(
                            s.chars()
                                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                                .collect(),
                        )
                    } else {
                        Some(raw)
                    }
                }
                "base64.b64decode"
                | "base64.standard_b64decode"
                | "base64.decodebytes"
                | "base64.urlsafe_b64decode" => {
                    use base64::Engine as _;
                    let text: Vec<u8> = raw
                        .into_iter()
                        .filter(|b| !b.is_ascii_whitespace())
                        .collect();
                    base64::engine::general_purpose::STANDARD
                        .decode(&text)
                        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&text))
                        .ok()
                }
                "zlib.decompress" => modelgate_formats::compress::decompress(
                    modelgate_formats::compress::Method::Zlib,
                    &raw,
                    MAX_EMBEDDED as u64,
                    1000,
                )
                .ok(),
                "gzip.decompress" => modelgate_formats::compress::decompress(
                    modelgate_formats::compress::Method::Gzip,
                    &raw,
                    MAX_EMBEDDED as u64,
                    1000,
                )
                .ok(),
                "bz2.decompress" => modelgate_formats::compress::decompress(
                    modelgate_formats::compress::Method::Bzip2,
                    &raw,
                    MAX_EMBEDDED as u64,
                    1000,
                )
                .ok(),
                "lzma.decompress" => modelgate_formats::compress::decompress(
                    modelgate_formats::compress::Method::Xz,
                    &raw,
                    MAX_EMBEDDED as u64,
                    1000,
                )
                .ok(),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for e in embedded_payloads(m) {
        out.push(
            META.finding(
                m.at(e.offset),
                format!(
                    "the pickle passes a {}-byte embedded payload to {}; it was scanned as {}",
                    e.bytes.len(),
                    e.loader,
                    nested_name(&e)
                ),
            )
            .with("loader", e.loader.clone())
            .with("payload-bytes", e.bytes.len().to_string()),
        );
    }
}

/// The virtual path segment under which an embedded payload is scanned.
pub fn nested_name(e: &Embedded) -> String {
    format!("{}@{:#x}", e.loader, e.offset)
}
