//! Chat templates end to end: real published templates parse and are clean; templates from
//! public SSTI write-ups are caught with the access chain shown.

use modelgate_core::{Blob, Finding, Limits, Severity, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/templates")
        .join(sub)
}

fn scan_template(name: &str, text: &str) -> (Vec<Finding>, Verdict) {
    let r = modelgate_rules::scan_bytes(
        name,
        Blob::from_vec(text.as_bytes().to_vec()),
        &Limits::default(),
    );
    (r.findings, r.verdict)
}

#[test]
fn real_templates_parse_and_are_clean() {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir("real"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        if let Err(e) = modelgate_formats::chat_template::parse(&text) {
            failures.push(format!("{}: {e}", p.display()));
            continue;
        }
        let (findings, verdict) = scan_template("chat_template.jinja", &text);
        let loud: Vec<_> = findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| format!("{} {}", f.code, f.message))
            .collect();
        if !loud.is_empty() || verdict != Verdict::Clean {
            failures.push(format!("{}: {loud:?}", p.display()));
        }
        assert!(findings.iter().any(|f| f.code == "TPL006"));
        n += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 20, "only {n} real templates");
}

fn loud_codes(findings: &[Finding]) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| f.code.clone())
        .collect()
}

/// Templates from public SSTI write-ups (PayloadsAllTheThings' Jinja2 section, the
/// CVE-2024-34359 advisory for llama-cpp-python) and filter-bypass variants: each gives
/// exactly its manifest's codes, and one finding shows the manifest's access chain.
#[test]
fn malicious_templates_are_caught_with_their_chain() {
    #[derive(serde::Deserialize)]
    struct Expect {
        codes: Vec<String>,
        chain: String,
    }
    let manifest: BTreeMap<String, Expect> = serde_json::from_str(
        &std::fs::read_to_string(dir("malicious").join("MANIFEST.json")).unwrap(),
    )
    .unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(dir("malicious"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jinja"))
        .collect();
    assert_eq!(files, manifest.keys().cloned().collect::<BTreeSet<_>>());
    let mut failures = Vec::new();
    for (name, want) in &manifest {
        let text = std::fs::read_to_string(dir("malicious").join(name)).unwrap();
        let (findings, verdict) = scan_template("chat_template.jinja", &text);
        let got = loud_codes(&findings);
        let want_codes: BTreeSet<String> = want.codes.iter().cloned().collect();
        let chains: Vec<&str> = findings
            .iter()
            .flat_map(|f| f.evidence.iter())
            .filter(|e| e.key == "chain")
            .map(|e| e.value.as_str())
            .collect();
        if got != want_codes || !chains.iter().any(|c| c.contains(&want.chain)) {
            failures.push(format!(
                "{name}: codes {got:?} (want {want_codes:?}), chains {chains:?} (want {:?})",
                want.chain
            ));
        }
        if verdict == Verdict::Clean {
            failures.push(format!("{name}: clean verdict"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
