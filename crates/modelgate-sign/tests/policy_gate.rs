//! Gate signature rules at the library level: co-signing (min_signers), certificate identity
//! globs, and which bundle proves what.

use modelgate_sign::keys::PrivateKey;
use modelgate_sign::policy::{GateInput, Policy, evaluate};
use modelgate_sign::sign::{self, ManifestOptions, SigningMaterial};
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing")
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

const TWO_SIGNERS: &str = r#"
[signature]
min_signers = 2
bundles = ["publisher.sig", "reviewer.sig"]
[[signature.keys]]
name = "publisher"
public_key = "keys/p256.pub.pem"
[[signature.keys]]
name = "reviewer"
public_key = "keys/p384.pub.pem"
"#;

#[test]
fn co_signing_needs_two_distinct_trusted_signers() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let m = tmp.path().join("model");
    copy_dir(&fx().join("model"), &m)?;
    let key = |n: &str| -> Result<PrivateKey, Box<dyn std::error::Error>> {
        Ok(PrivateKey::from_pem(
            &std::fs::read(fx().join(format!("keys/{n}.key.pem")))?,
            None,
        )?)
    };
    // both sign the pristine model, then the bundles are stored inside it
    let a = sign::sign_model(
        &m,
        &SigningMaterial::Key(key("p256")?),
        &ManifestOptions::default(),
    )?;
    let b = sign::sign_model(
        &m,
        &SigningMaterial::Key(key("p384")?),
        &ManifestOptions::default(),
    )?;
    let policy = Policy::from_toml(TWO_SIGNERS, &fx())?;
    let input = GateInput {
        model: m.clone(),
        ..GateInput::default()
    };

    std::fs::write(m.join("publisher.sig"), &a.bundle)?;
    let r = evaluate(&policy, &input)?;
    assert!(!r.passed());
    let text = format!("{:?}", r.checks);
    assert!(
        text.contains("1 distinct trusted signer(s), the policy needs 2"),
        "{text}"
    );

    std::fs::write(m.join("reviewer.sig"), &b.bundle)?;
    let r = evaluate(&policy, &input)?;
    assert!(r.passed(), "{:?}", r.checks);
    assert_eq!(
        r.root_digest.as_deref(),
        Some("84c8c974227b154153a48f728330b5b4a78ae0c599041d6ead5f4b2f1308978e")
    );

    // the same signer twice does not count as two
    std::fs::write(m.join("reviewer.sig"), &a.bundle)?;
    let r = evaluate(&policy, &input)?;
    assert!(!r.passed(), "{:?}", r.checks);

    // a trusted signature over different content fails even with enough signers
    std::fs::write(m.join("reviewer.sig"), &b.bundle)?;
    std::fs::write(m.join("config.json"), "{}")?;
    let r = evaluate(&policy, &input)?;
    assert!(!r.passed());
    assert!(format!("{:?}", r.checks).contains("config.json: content changed"));
    Ok(())
}

#[test]
fn untrusted_signer_is_named_in_the_report() -> TestResult {
    let policy = Policy::from_toml(
        r#"
[signature]
[[signature.keys]]
name = "publisher"
public_key = "keys/other-p256.pub.pem"
"#,
        &fx(),
    )?;
    let r = evaluate(
        &policy,
        &GateInput {
            model: fx().join("model"),
            bundles: vec![fx().join("signatures/key-p256.sig")],
            ..GateInput::default()
        },
    )?;
    assert!(!r.passed());
    let text = format!("{:?}", r.checks);
    assert!(text.contains("not signed by a trusted signer"), "{text}");
    assert!(text.contains("publisher: wrong key"), "{text}");
    Ok(())
}
