//! `modelgate scan` end to end: exit codes, JSON contract, SARIF, rule docs.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_modelgate"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/scan")
        .join(name)
}

#[test]
fn exit_codes_follow_the_threshold() {
    let clean = bin()
        .args(["scan", "--quiet"])
        .arg(fixture("ok_torch_state_dict.pt"))
        .output()
        .unwrap();
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let bad = bin()
        .args(["scan", "--quiet"])
        .arg(fixture("mal_p0_os_system.pkl"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    // PKL009 is low: below a high threshold only the critical call counts.
    let low = bin()
        .args(["scan", "--quiet", "--fail-on", "critical"])
        .arg(fixture("ok_torchscript.pt"))
        .output()
        .unwrap();
    assert_eq!(low.status.code(), Some(0));
    let missing = bin()
        .args(["scan", "--quiet", "/nonexistent/model.pt"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn directory_scan_by_content_and_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("mal_p0_os_system.pkl"),
        dir.path().join("notes.txt"),
    )
    .unwrap();
    std::fs::copy(fixture("mal_object_array.npy"), dir.path().join("emb.npy")).unwrap();
    std::fs::copy(fixture("mal_p0_os_system.pkl"), dir.path().join("README")).unwrap();
    std::fs::copy(fixture("ok_array.npy"), dir.path().join("ok.npy")).unwrap();
    let out = bin()
        .args(["scan", "--quiet", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let verdict = |n: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(n))
            .unwrap()["verdict"]
            .clone()
    };
    assert_eq!(verdict("notes.txt"), "malicious");
    assert_eq!(verdict("README"), "malicious");
    assert_eq!(verdict("emb.npy"), "malicious");
    assert_eq!(verdict("ok.npy"), "clean");
    let f = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("emb.npy"))
        .unwrap();
    let codes: Vec<&str> = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"PKL001") && codes.contains(&"NPY001"),
        "{codes:?}"
    );
    let loc = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "PKL001")
        .unwrap()["location"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(loc.contains("emb.npy!<object-array-pickle>@0x"), "{loc}");
}

#[test]
fn sarif_output_has_rules_and_results() {
    let out = bin()
        .args(["scan", "--quiet", "--format", "sarif"])
        .arg(fixture("mal_torch_bad_crc.pt"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.len() >= 30);
    let ids: Vec<&str> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"ZIP002") && ids.contains(&"PKL001"),
        "{ids:?}"
    );
}

#[test]
fn rule_docs_are_printed() {
    let out = bin().args(["rule", "PKL001"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("## Why it matters"));
    let out = bin().args(["rules"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for code in ["PKL001", "ZIP001", "GRA001", "STN001", "ONX002"] {
        assert!(text.contains(code), "{code} missing from `modelgate rules`");
    }
    assert_eq!(
        bin()
            .args(["rule", "NOPE999"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn without_paths_the_local_model_caches_are_scanned() {
    let home = tempfile::tempdir().unwrap();
    let snap = home.path().join("hub/models--acme--tiny/snapshots/abc123");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::copy(
        fixture("mal_reduce_downloader.pkl"),
        snap.join("pytorch_model.bin"),
    )
    .unwrap();
    let out = bin()
        .args(["scan", "--format", "json"])
        .env("HOME", home.path())
        .env("HF_HUB_CACHE", home.path().join("hub"))
        .env_remove("HF_HOME")
        .env_remove("TORCH_HOME")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scanning model cache") && stderr.contains("hub"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"][0]["verdict"], "malicious");
}
