//! Real models shipped inside PyPI packages (tests/fixtures/pypi, provenance in its
//! PROVENANCE.md, re-fetched by tests/fixtures/gen/fetch_pypi_models.py): every one is
//! detected as the format its manifest names and scans clean, with no finding above low.

use modelgate_core::{Limits, Severity, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Entry {
    format: String,
    package: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pypi")
}

#[test]
fn real_pypi_models_are_detected_and_clean() {
    let root = dir();
    let manifest: BTreeMap<String, Entry> =
        serde_json::from_str(&std::fs::read_to_string(root.join("MANIFEST.json")).unwrap())
            .unwrap();
    let mut on_disk = BTreeSet::new();
    let mut dirs = vec![root.clone()];
    while let Some(at) = dirs.pop() {
        for e in std::fs::read_dir(&at).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel != "MANIFEST.json" && rel != "PROVENANCE.md" {
                on_disk.insert(rel);
            }
        }
    }
    let listed: BTreeSet<String> = manifest.keys().cloned().collect();
    assert_eq!(
        on_disk, listed,
        "MANIFEST.json and the files on disk differ"
    );

    // Every format the issue asks for is represented.
    let formats: BTreeSet<&str> = manifest
        .values()
        .map(|e| e.format.split(' ').next().unwrap_or(""))
        .collect();
    for f in [
        "onnx",
        "tflite",
        "gguf",
        "safetensors",
        "joblib",
        "pickle",
        "pytorch-legacy",
        "numpy-npy",
        "numpy-npz",
    ] {
        assert!(formats.contains(f), "no real {f} file: {formats:?}");
    }

    let mut failures = Vec::new();
    for (rel, want) in &manifest {
        let report = modelgate_rules::scan(
            &[root.join(rel)],
            &modelgate_rules::ScanOptions {
                limits: Limits::default(),
                threads: Some(1),
                progress: None,
            },
        );
        if !report.errors.is_empty() || report.files.len() != 1 {
            failures.push(format!("{rel}: {:?}", report.errors));
            continue;
        }
        let file = &report.files[0];
        if file.format != want.format {
            failures.push(format!(
                "{rel} ({}): detected as {:?}, expected {:?}",
                want.package, file.format, want.format
            ));
        }
        let loud: Vec<String> = file
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Low)
            .map(|f| format!("{} {} {} {}", f.code, f.severity, f.location, f.message))
            .collect();
        if !loud.is_empty() || file.verdict != Verdict::Clean {
            failures.push(format!(
                "{rel} ({}): false alarm, verdict {}:\n  {}",
                want.package,
                file.verdict,
                loud.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
