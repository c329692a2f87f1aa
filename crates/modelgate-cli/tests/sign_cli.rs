//! `modelgate keygen | sign | verify` end to end: exit codes 0/1/2 and interop with the
//! model-signing fixtures (copied into modelgate-sign's tests).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../modelgate-sign/tests/fixtures/signing")
}

fn mg(args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_modelgate"))
        .args(args)
        .output()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[test]
fn verify_exit_codes() -> TestResult {
    let f = fx();
    let ok = mg(&[
        "verify",
        s(&f.join("model")),
        "--signature",
        s(&f.join("signatures/key-p256.sig")),
        "--public_key",
        s(&f.join("keys/p256.pub.pem")),
    ])?;
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Verification succeeded"));

    let bad = mg(&[
        "verify",
        s(&f.join("tampered/renamed-file")),
        "--signature",
        s(&f.join("signatures/key-p256.sig")),
        "--public-key",
        s(&f.join("keys/p256.pub.pem")),
    ])?;
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("tokenizer_config.json -> tokenizer_cfg.json: file renamed"),
        "{out}"
    );

    let cert = mg(&[
        "verify",
        s(&f.join("model")),
        "--signature",
        s(&f.join("signatures/cert-leaf.sig")),
        "--certificate-chain",
        s(&f.join("pki/root-ca.cert.pem")),
        "--identity",
        "release-bot@publisher.example",
        "--json",
    ])?;
    assert_eq!(cert.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&cert.stdout)?;
    assert_eq!(v["valid"], true);

    let usage = mg(&[
        "verify",
        s(&f.join("model")),
        "--signature",
        "/nonexistent.sig",
        "--public-key",
        s(&f.join("keys/p256.pub.pem")),
    ])?;
    assert_eq!(usage.status.code(), Some(2));
    let nokey = mg(&[
        "verify",
        s(&f.join("model")),
        "--signature",
        s(&f.join("signatures/key-p256.sig")),
    ])?;
    assert_eq!(nokey.status.code(), Some(2));
    Ok(())
}

#[test]
fn keygen_sign_verify_and_byte_identical_fixture() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let f = fx();
    // canonical P-256 signature, byte for byte, through the CLI
    let sig = tmp.path().join("p256.sig");
    let o = mg(&[
        "sign",
        s(&f.join("model")),
        "--private-key",
        s(&f.join("keys/p256.key.pem")),
        "--signature",
        s(&sig),
    ])?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read(&sig)?,
        std::fs::read(f.join("signatures/indep-key-p256.sig"))?
    );

    // fresh P-521 key pair
    let k = tmp.path().join("k.pem");
    let p = tmp.path().join("p.pem");
    let o = mg(&[
        "keygen",
        "--curve",
        "p521",
        "--private-key",
        s(&k),
        "--public-key",
        s(&p),
    ])?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let again = mg(&["keygen", "--private-key", s(&k), "--public-key", s(&p)])?;
    assert_eq!(again.status.code(), Some(2), "keygen overwrote a key");
    let sig2 = tmp.path().join("p521.sig");
    let o = mg(&[
        "sign",
        s(&f.join("model")),
        "--private-key",
        s(&k),
        "--signature",
        s(&sig2),
        "--ignore-paths",
        "README.md",
    ])?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mg(&[
        "verify",
        s(&f.join("tampered/readme-edited")),
        "--signature",
        s(&sig2),
        "--public-key",
        s(&p),
    ])?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = mg(&[
        "verify",
        s(&f.join("tampered/config-edited")),
        "--signature",
        s(&sig2),
        "--public-key",
        s(&p),
    ])?;
    assert_eq!(o.status.code(), Some(1));

    // certificate method through the CLI
    let sig3 = tmp.path().join("cert.sig");
    let o = mg(&[
        "sign",
        s(&f.join("model")),
        "--private-key",
        s(&f.join("pki/leaf.key.pem")),
        "--signing-certificate",
        s(&f.join("pki/leaf.cert.pem")),
        "--certificate-chain",
        s(&f.join("pki/intermediate-ca.cert.pem")),
        "--signature",
        s(&sig3),
    ])?;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = mg(&[
        "verify",
        s(&f.join("model")),
        "--signature",
        s(&sig3),
        "--certificate-chain",
        s(&f.join("pki/other-root-ca.cert.pem")),
    ])?;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("untrusted-root"));
    Ok(())
}
