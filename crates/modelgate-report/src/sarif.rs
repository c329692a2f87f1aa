//! SARIF 2.1.0 for GitHub code scanning and other consumers.

use modelgate_core::{Report, RuleMeta, Severity};
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's numeric `security-severity` (0.0-10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn first_paragraph(doc: &str, heading: &str) -> String {
    doc.split(heading)
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn render(report: &Report, rules: &[&RuleMeta], tool_version: &str) -> Value {
    let rule_index = |code: &str| rules.iter().position(|r| r.code == code);
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": first_paragraph(r.doc, "## What it detects")},
                "help": {"text": first_paragraph(r.doc, "## Remediation"), "markdown": r.doc},
                "helpUri": format!("https://github.com/modelgate/modelgate/blob/main/docs/rules/{}.md", r.code),
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "security-severity": security_severity(r.severity),
                    "tags": ["security", r.family, r.kind.as_str()],
                    "precision": match r.confidence { modelgate_core::Confidence::High => "high", modelgate_core::Confidence::Medium => "medium", modelgate_core::Confidence::Low => "low" },
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for f in report.findings() {
        let mut msg = f.message.clone();
        for e in &f.evidence {
            msg.push_str(&format!("\n{} = {}", e.key, e.value));
        }
        let mut physical =
            json!({"artifactLocation": {"uri": f.location.root().replace('\\', "/")}});
        if f.location.depth() == 0
            && let Some(off) = f.location.offset
        {
            physical["region"] = json!({"byteOffset": off, "byteLength": 1});
        }
        let mut r = json!({
            "ruleId": f.code,
            "level": level(f.severity),
            "message": {"text": msg},
            "locations": [{
                "physicalLocation": physical,
                "logicalLocations": [{"fullyQualifiedName": f.location.to_string(), "kind": "object"}],
            }],
            "partialFingerprints": {"modelgateFingerprint/v1": f.fingerprint()},
            "properties": {"severity": f.severity, "kind": f.kind, "confidence": f.confidence},
        });
        if let Some(i) = rule_index(&f.code) {
            r["ruleIndex"] = json!(i);
        }
        results.push(r);
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({"level": "error", "message": {"text": format!("{}: {}", e.path, e.error)}}))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "modelgate",
                "version": tool_version,
                "semanticVersion": tool_version,
                "informationUri": "https://github.com/modelgate/modelgate",
                "rules": rules_json,
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
        }],
    })
}
