//! Every case of `tests/fixtures/signing/cases.json` (made by model-signing 1.1.1, copied
//! from `../shared/fixtures/signing`) must give its `expect` verdict, and every rejection
//! must carry the precise problem we promise (which file, which check).

use modelgate_sign::certs::{self, CertTime};
use modelgate_sign::keys::PublicKey;
use modelgate_sign::verify::{self, Outcome, Trust, VerifyOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing")
}

/// Expected (problem code, text that must appear in one problem's message) per failing case.
fn expected_problem(id: &str) -> Option<(&'static str, &'static str)> {
    Some(match id {
        "indep-bad-root-digest" => ("root-digest-mismatch", "84c8c974227b1541"),
        "indep-p1363-sig" => ("signature-not-der", "DER"),
        "tamper-weights-byte-flip"
        | "tamper-weights-appended"
        | "tamper-weights-truncated"
        | "tamper-safetensors-header-dtype"
        | "tamper-shards-byte-flip" => ("file-modified", "model.safetensors"),
        "tamper-config-edited" => ("file-modified", "config.json"),
        "tamper-readme-edited" => ("file-modified", "README.md"),
        "tamper-added-file" => ("file-added", "extra_code.py"),
        "tamper-added-empty-file" => ("file-added", "added_tokens.json"),
        "tamper-added-dotfile" => ("file-added", ".env"),
        "tamper-removed-file" => ("file-removed", "tokenizer_config.json"),
        "tamper-removed-empty-file" => ("file-removed", "tokenizer/.keep"),
        "tamper-renamed-file" => (
            "file-renamed",
            "tokenizer_config.json -> tokenizer_cfg.json: file renamed",
        ),
        "tamper-case-renamed" => (
            "file-renamed",
            "README.md -> readme.md: file renamed (case change only)",
        ),
        "tamper-moved-file" => (
            "file-renamed",
            "config.json -> adapters/config.json: file moved",
        ),
        "tamper-swapped-contents" => (
            "files-swapped",
            "generation_config.json <-> tokenizer_config.json",
        ),
        "tamper-symlink-added" => ("symlink", "alias.safetensors"),
        "tamper-file-replaced-by-symlink" => ("symlink", "config.json"),
        "sig-wrong-public-key" | "sig-resigned-by-other-key" | "sig-hint-altered" => {
            ("wrong-key", "wrong key")
        }
        "sig-payload-digest-edited" => ("bad-signature", "bad signature"),
        "sig-signature-bit-flip" => ("bad-signature", "bad signature"),
        "sig-mediatype-v02" => ("unsupported-media-type", "version=0.2"),
        "sig-payloadtype-changed" => ("wrong-payload-type", "application/json"),
        "sig-truncated" => ("malformed-bundle", "not valid JSON"),
        "cert-wrong-root" => ("untrusted-root", "untrusted root"),
        "cert-leaf-expired" => ("cert-expired", "expired at 2025-03-01"),
        "cert-leaf-no-signing-usage" => ("cert-wrong-usage", "digitalSignature"),
        "cert-bundle-as-key" => ("method-mismatch", "certificate method"),
        "key-bundle-as-cert" => ("method-mismatch", "key method"),
        "rt-nested-git-dir" => ("file-added", "adapters/.git/config"),
        "rt-fifo-added" => ("special-file", "named pipe"),
        "rt-empty-model" => ("empty-model", "no files"),
        _ => return None,
    })
}

enum Verdict {
    Outcome(Box<Outcome>),
    /// The trusted key itself is not usable (e.g. Ed25519): a rejection with this message.
    KeyRejected(String),
}

fn run_case(case: &Value, model: &Path) -> Result<Verdict, Box<dyn std::error::Error>> {
    let get = |k: &str| {
        case.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let trust = if get("method") == "key" {
        let pem = std::fs::read(fx().join(get("public_key")))?;
        match PublicKey::from_pem(&pem) {
            Ok(k) => Trust::Key(k),
            Err(e) => return Ok(Verdict::KeyRejected(e.to_string())),
        }
    } else {
        let mut anchors = Vec::new();
        for p in case
            .get("cert_chain")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let p = p.as_str().ok_or("cert_chain entry")?;
            anchors.extend(certs::load_pem_certs(&std::fs::read(fx().join(p))?)?);
        }
        Trust::Certificates {
            anchors,
            time: CertTime::Now,
            identities: vec![],
        }
    };
    let sig_path = fx().join(get("signature"));
    let mut opts = VerifyOptions::new(trust);
    opts.signature_path = Some(sig_path.clone());
    opts.ignore_unsigned_files = case
        .get("ignore_unsigned_files")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for p in case
        .get("ignore_paths")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        opts.ignore_paths
            .push(p.as_str().unwrap_or_default().to_string());
    }
    let bundle = std::fs::read(&sig_path)?;
    Ok(Verdict::Outcome(Box::new(verify::verify(
        model, &bundle, &opts,
    )?)))
}

fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let ft = e.file_type()?;
        let to = dst.join(e.file_name());
        if ft.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

/// Build the run-time variants of check_fixtures.py (things git cannot store).
fn build_runtime(id: &str, tmp: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let d = tmp.join(id).join(if id == "rt-model-dir-renamed" {
        "renamed-model"
    } else {
        "model"
    });
    if id == "rt-empty-model" {
        std::fs::create_dir_all(&d)?;
        return Ok(d);
    }
    copy_dir(&fx().join("model"), &d)?;
    match id {
        "rt-git-dir-added" => {
            std::fs::create_dir_all(d.join(".git/objects"))?;
            std::fs::write(d.join(".git/HEAD"), "ref: refs/heads/main\n")?;
            std::fs::write(d.join(".git/objects/x"), "blob")?;
        }
        "rt-nested-git-dir" => {
            std::fs::create_dir_all(d.join("adapters/.git"))?;
            std::fs::write(d.join("adapters/.git/config"), "[core]\n")?;
        }
        "rt-empty-dir-added" => std::fs::create_dir(d.join("empty_dir"))?,
        "rt-chmod-mtime" => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                d.join("config.json"),
                std::fs::Permissions::from_mode(0o755),
            )?;
            let f = std::fs::File::options()
                .write(true)
                .open(d.join("model.safetensors"))?;
            f.set_modified(std::time::UNIX_EPOCH)?;
        }
        "rt-fifo-added" => {
            let st = std::process::Command::new("mkfifo")
                .arg(d.join("pipe"))
                .status()?;
            if !st.success() {
                return Err("mkfifo failed".into());
            }
        }
        "rt-model-dir-renamed" => {}
        other => return Err(format!("unknown runtime case {other}").into()),
    }
    Ok(d)
}

#[test]
fn every_fixture_case_gives_its_expected_verdict() -> TestResult {
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(fx().join("cases.json"))?)?;
    assert!(cases.len() >= 72, "cases.json has {} cases", cases.len());
    let tmp = tempfile::tempdir()?;
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        let id = case.get("id").and_then(Value::as_str).ok_or("case id")?;
        let expect = case.get("expect").and_then(Value::as_str).ok_or("expect")?;
        let model = case.get("model").and_then(Value::as_str).ok_or("model")?;
        let model_path = if model.starts_with("<runtime") {
            build_runtime(id, tmp.path())?
        } else {
            fx().join(model)
        };
        let verdict = run_case(case, &model_path)?;
        ran += 1;
        let (valid, messages, codes) = match &verdict {
            Verdict::Outcome(o) => (
                o.is_valid(),
                o.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                o.problems.iter().map(|p| p.code()).collect::<Vec<_>>(),
            ),
            Verdict::KeyRejected(m) => (false, vec![m.clone()], vec!["unsupported-key"]),
        };
        eprintln!("{id}: {valid} {messages:?}");
        let got = if valid { "pass" } else { "fail" };
        if got != expect {
            failures.push(format!("{id}: expected {expect}, got {got}: {messages:?}"));
            continue;
        }
        if expect == "fail" {
            if id == "indep-ed25519" {
                if !messages.iter().any(|m| m.contains("Ed25519")) {
                    failures.push(format!(
                        "{id}: rejection does not name Ed25519: {messages:?}"
                    ));
                }
                continue;
            }
            match expected_problem(id) {
                Some((code, text)) => {
                    let hit = codes
                        .iter()
                        .zip(messages.iter())
                        .any(|(c, m)| *c == code && m.contains(text));
                    if !hit {
                        failures.push(format!(
                            "{id}: expected problem {code} mentioning {text:?}, got {codes:?} {messages:?}"
                        ));
                    }
                }
                None => failures.push(format!(
                    "{id}: failing case without an expected problem in the test table"
                )),
            }
        }
    }
    assert_eq!(ran, cases.len());
    assert!(
        failures.is_empty(),
        "{} case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn copied_fixtures_match_shared_when_present() -> TestResult {
    // The committed copy must not drift from the shared original (absent on clean CI checkouts).
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/signing");
    if !shared.join("cases.json").exists() {
        eprintln!("skipped: {} not present", shared.display());
        return Ok(());
    }
    for f in [
        "cases.json",
        "signatures/indep-key-p256.sig",
        "signatures/key-p256.sig",
        "signatures/cert-leaf.sig",
        "keys/p256.pub.pem",
        "pki/root-ca.cert.pem",
        "model/model.safetensors",
    ] {
        assert_eq!(
            std::fs::read(shared.join(f))?,
            std::fs::read(fx().join(f))?,
            "{f} differs"
        );
    }
    Ok(())
}
