//! The stable JSON document (`--format json`). Schema: `docs/json-schema.md`.

use modelgate_core::{Report, Severity, Verdict};
use serde_json::{Value, json};

/// Version of the JSON document layout; bumped on any breaking change.
pub const SCHEMA_VERSION: u32 = 1;

pub fn render(report: &Report, tool_version: &str) -> Value {
    let count = |v: Verdict| report.files.iter().filter(|f| f.verdict == v).count();
    let mut by_sev = serde_json::Map::new();
    for s in Severity::ALL {
        by_sev.insert(
            s.as_str().into(),
            json!(report.findings().filter(|f| f.severity == s).count()),
        );
    }
    let files: Vec<Value> = report
        .files
        .iter()
        .map(|f| {
            let findings: Vec<Value> = f
                .findings
                .iter()
                .map(|x| {
                    json!({
                        "code": x.code,
                        "rule": x.rule,
                        "severity": x.severity,
                        "confidence": x.confidence,
                        "kind": x.kind,
                        "location": x.location.to_string(),
                        "message": x.message,
                        "evidence": x.evidence.iter().map(|e| json!({"key": e.key, "value": e.value})).collect::<Vec<_>>(),
                        "help": x.help,
                        "fingerprint": x.fingerprint(),
                    })
                })
                .collect();
            json!({
                "path": f.path,
                "format": f.format,
                "size": f.size,
                "verdict": f.verdict,
                "can_execute_code": f.can_execute_code,
                "findings": findings,
                "inventory": f.inventory,
                "skipped": f.skipped,
            })
        })
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "modelgate", "version": tool_version},
        "roots": report.roots,
        "summary": {
            "files": report.files.len(),
            "clean": count(Verdict::Clean),
            "suspicious": count(Verdict::Suspicious),
            "malicious": count(Verdict::Malicious),
            "malformed": count(Verdict::Malformed),
            "errors": report.errors.len(),
            "findings_by_severity": by_sev,
        },
        "files": files,
        "errors": report.errors,
    })
}
