//! SARIF output validates against the official OASIS SARIF 2.1.0 JSON schema (vendored).

use modelgate_core::{
    Confidence, FileReport, Finding, Kind, Report, RuleMeta, Severity, Verdict, VirtualPath,
};

const RULE: RuleMeta = RuleMeta {
    code: "PKL001",
    name: "pickle-code-execution",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::Critical,
    confidence: Confidence::High,
    summary: "s",
    doc: "# PKL001\n\n## What it detects\n\nx\n\n## Remediation\n\ny\n",
    references: &[],
    since: "0.1.0",
};

fn report() -> Report {
    let f: Finding = RULE
        .finding(
            VirtualPath::file("m.pt").join("archive/data.pkl").at(0x1f),
            "loading calls os.system",
        )
        .with("call", "os.system(\"id\")");
    let g: Finding = RULE.finding(VirtualPath::file("x.pkl").at(3), "top-level");
    Report {
        files: vec![FileReport {
            path: "m.pt".into(),
            format: "pytorch-zip".into(),
            size: 10,
            verdict: Verdict::Malicious,
            can_execute_code: true,
            findings: vec![f, g],
            inventory: vec![],
            skipped: vec![],
        }],
        errors: vec![modelgate_core::ScanError {
            path: "gone".into(),
            error: "not found".into(),
        }],
        roots: vec!["m.pt".into()],
    }
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    // The official schema's `language` patterns have a stray `]` that strict regex engines
    // reject; they concern no field we emit. Escape it so the schema compiles.
    let text = include_str!("../schemas/sarif-schema-2.1.0.json");
    let bad = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(text.contains(bad));
    let text = text.replace(bad, r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#);
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc = modelgate_report::sarif::render(&report(), &[&RULE], "0.1.0");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert_eq!(doc["runs"][0]["results"][0]["level"], "error");
    // A deliberately broken document must fail, or the validation proves nothing.
    let mut broken = doc.clone();
    broken["version"] = serde_json::json!("9.9");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn json_contract_fields() {
    let doc = modelgate_report::json::render(&report(), "0.1.0");
    let f = &doc["files"][0];
    assert_eq!(f["path"], "m.pt");
    assert_eq!(f["verdict"], "malicious");
    let x = &f["findings"][0];
    for k in [
        "code", "severity", "kind", "location", "message", "evidence",
    ] {
        assert!(!x[k].is_null(), "missing {k}");
    }
    assert_eq!(x["location"], "m.pt!archive/data.pkl@0x1f");
    assert_eq!(x["kind"], "code-execution");
}
