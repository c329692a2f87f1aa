//! Every fixture in `tests/fixtures/scan/MANIFEST.json` gives exactly the rule codes its
//! manifest line lists (an empty list means: clean verdict, no finding above info).

use modelgate_core::{Limits, Severity, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan")
}

#[test]
fn every_fixture_gives_its_expected_codes() {
    let dir = fixtures_dir();
    let manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap()).unwrap();
    assert!(manifest.len() >= 50, "manifest too small");
    let mut failures = Vec::new();
    for (name, expected) in &manifest {
        let report = modelgate_rules::scan(
            &[dir.join(name)],
            &modelgate_rules::ScanOptions {
                limits: Limits::default(),
                threads: Some(1),
                progress: None,
            },
        );
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        let file = &report.files[0];
        let got: BTreeSet<String> = file
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info || expected.contains(&f.code))
            .map(|f| f.code.clone())
            .collect();
        let want: BTreeSet<String> = expected.iter().cloned().collect();
        if got != want {
            failures.push(format!(
                "{name}: expected {want:?}, got {got:?}\n{:#?}",
                file.findings
                    .iter()
                    .map(|f| format!("{} {} {}", f.code, f.location, f.message))
                    .collect::<Vec<_>>()
            ));
        }
        let clean = expected.iter().all(|c| c == "TCH001");
        if clean && file.verdict != Verdict::Clean {
            failures.push(format!(
                "{name}: expected a clean verdict, got {}",
                file.verdict
            ));
        }
        if name.starts_with("mal_") && file.verdict == Verdict::Clean {
            failures.push(format!("{name}: malicious fixture scanned clean"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
