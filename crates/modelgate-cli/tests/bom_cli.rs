//! `modelgate bom`: CycloneDX output with scanner facts, and `--sign`.

use std::path::{Path, PathBuf};
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../modelgate-sign/tests/fixtures/signing")
}

#[test]
fn bom_with_data_scan_facts_and_signed_attestation() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let data = tmp.path().join("train.csv");
    std::fs::write(&data, "a,b\n1,2\n3,4\n")?;
    let out = tmp.path().join("bom.json");
    let att = tmp.path().join("bom.sig");
    let o = Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(["bom"])
        .arg(fx().join("model-with-sig"))
        .arg("--training-data")
        .arg(&data)
        .args(["--no-environment", "-o"])
        .arg(&out)
        .args(["--sign", "--private-key"])
        .arg(fx().join("keys/p256.key.pem"))
        .arg("--attestation")
        .arg(&att)
        .output()?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bom: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    let model = &bom["components"][0];
    assert_eq!(model["type"], "machine-learning-model");
    let st = model["components"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "model.safetensors"))
        .ok_or("safetensors component")?;
    let props = st["properties"].to_string();
    assert!(props.contains("\"safetensors\""), "{props}");
    assert!(props.contains("modelgate:can-execute-code"), "{props}");
    let sig: serde_json::Value = serde_json::from_slice(&std::fs::read(&att)?)?;
    assert_eq!(
        sig["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    Ok(())
}
