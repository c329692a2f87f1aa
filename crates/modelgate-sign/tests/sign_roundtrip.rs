//! Signing: byte-identical canonical output, every curve and method round-trips, our
//! own bundles catch tampering, and unsignable trees are refused with clear errors.

use modelgate_sign::certs::{self, CertTime};
use modelgate_sign::hashing::HashAlgo;
use modelgate_sign::keys::{Curve, PrivateKey, PublicKey};
use modelgate_sign::oms::{self, Method};
use modelgate_sign::sign::{self, ManifestOptions, SigningMaterial};
use modelgate_sign::verify::{self, Trust, VerifyOptions};
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fx() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/signing")
}

fn read(p: &str) -> Result<Vec<u8>, std::io::Error> {
    std::fs::read(fx().join(p))
}

fn key(name: &str) -> Result<PrivateKey, Box<dyn std::error::Error>> {
    Ok(PrivateKey::from_pem(
        &read(&format!("keys/{name}.key.pem"))?,
        None,
    )?)
}

fn pubkey(name: &str) -> Result<PublicKey, Box<dyn std::error::Error>> {
    Ok(PublicKey::from_pem(&read(&format!(
        "keys/{name}.pub.pem"
    ))?)?)
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

fn verify_key(
    model: &Path,
    bundle: &[u8],
    k: PublicKey,
) -> Result<verify::Outcome, modelgate_sign::Error> {
    verify::verify(model, bundle, &VerifyOptions::new(Trust::Key(k)))
}

#[test]
fn p256_signature_is_byte_identical_to_the_canonical_fixture() -> TestResult {
    let signed = sign::sign_model(
        &fx().join("model"),
        &SigningMaterial::Key(key("p256")?),
        &ManifestOptions::default(),
    )?;
    assert_eq!(
        signed.manifest.root_digest_hex(),
        "84c8c974227b154153a48f728330b5b4a78ae0c599041d6ead5f4b2f1308978e"
    );
    assert_eq!(
        signed.payload,
        read("payloads/indep-key-p256.payload.json")?
    );
    assert_eq!(
        String::from_utf8_lossy(&signed.bundle),
        String::from_utf8_lossy(&read("signatures/indep-key-p256.sig")?)
    );
    Ok(())
}

#[test]
fn p384_and_p521_signatures_are_deterministic_and_match_fixtures() -> TestResult {
    for curve in ["p384", "p521"] {
        let m = SigningMaterial::Key(key(curve)?);
        let a = sign::sign_model(&fx().join("model"), &m, &ManifestOptions::default())?;
        let b = sign::sign_model(&fx().join("model"), &m, &ManifestOptions::default())?;
        assert_eq!(a.bundle, b.bundle, "{curve}: not deterministic");
        assert_eq!(
            String::from_utf8_lossy(&a.bundle),
            String::from_utf8_lossy(&read(&format!("signatures/indep-key-{curve}.sig"))?),
            "{curve}"
        );
        let o = verify_key(&fx().join("model"), &a.bundle, pubkey(curve)?)?;
        assert!(o.is_valid(), "{curve}: {:?}", o.problems);
    }
    Ok(())
}

#[test]
fn public_key_hint_is_sha256_of_canonical_pem() -> TestResult {
    assert_eq!(
        pubkey("p256")?.hint()?,
        "3b8852a159181bc8be9c9b7c42c0e1053425f395f80dda5db555df0fffa94ac0"
    );
    assert_eq!(key("p256")?.public_key().hint()?, pubkey("p256")?.hint()?);
    Ok(())
}

#[test]
fn encrypted_key_needs_the_right_password() -> TestResult {
    let pem = read("keys/p256-encrypted.key.pem")?;
    let e = PrivateKey::from_pem(&pem, None).err().ok_or("no error")?;
    assert!(e.to_string().contains("--password"), "{e}");
    let e = PrivateKey::from_pem(&pem, Some(b"nope"))
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("wrong password"), "{e}");
    let k = PrivateKey::from_pem(&pem, Some(b"fixture-password"))?;
    assert_eq!(k.public_key().hint()?, pubkey("p256")?.hint()?);
    Ok(())
}

#[test]
fn bad_keys_give_clear_errors() -> TestResult {
    let e = PublicKey::from_pem(&read("keys/ed25519.pub.pem")?)
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("Ed25519"), "{e}");
    let e = PrivateKey::from_pem(&read("keys/ed25519.key.pem")?, None)
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("Ed25519"), "{e}");
    let e = PublicKey::from_pem(b"hello").err().ok_or("no error")?;
    assert!(e.to_string().contains("no PEM block"), "{e}");
    let e = PublicKey::from_pem(&read("keys/p256.key.pem")?)
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("private key"), "{e}");
    let e = PublicKey::from_pem(&read("pki/leaf.cert.pem")?)
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("certificate"), "{e}");
    let e = PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        .err()
        .ok_or("no error")?;
    assert!(e.to_string().contains("malformed"), "{e}");
    Ok(())
}

#[test]
fn generated_keys_sign_and_verify_on_every_curve() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let model = tmp.path().join("m");
    copy_dir(&fx().join("model"), &model)?;
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let k = PrivateKey::generate(curve)?;
        // PEM round trip
        let k = PrivateKey::from_pem(k.to_pkcs8_pem()?.as_bytes(), None)?;
        let pk = PublicKey::from_pem(k.public_key().to_pem()?.as_bytes())?;
        assert_eq!(pk.curve(), curve);
        let s = sign::sign_model(
            &model,
            &SigningMaterial::Key(k),
            &ManifestOptions::default(),
        )?;
        let o = verify_key(&model, &s.bundle, pk)?;
        assert!(o.is_valid(), "{curve:?}: {:?}", o.problems);
        let other = verify_key(&model, &s.bundle, pubkey("p256")?)?;
        assert_eq!(other.problems.first().map(|p| p.code()), Some("wrong-key"));
    }
    Ok(())
}

#[test]
fn certificate_method_round_trip_with_identity() -> TestResult {
    let leaf_pem = read("pki/leaf.cert.pem")?;
    let leaf = certs::load_pem_certs(&leaf_pem)?;
    let inter = certs::load_pem_certs(&read("pki/intermediate-ca.cert.pem")?)?;
    let der = |c: &x509_cert::Certificate| der::Encode::to_der(c);
    let material = SigningMaterial::Certificate {
        key: PrivateKey::from_pem(&read("pki/leaf.key.pem")?, None)?,
        leaf: der(leaf.first().ok_or("leaf")?)?,
        chain: inter.iter().map(der).collect::<Result<_, _>>()?,
    };
    let s = sign::sign_model(&fx().join("model"), &material, &ManifestOptions::default())?;
    let anchors = certs::load_pem_certs(&read("pki/root-ca.cert.pem")?)?;
    let trust = |ids: Vec<String>| Trust::Certificates {
        anchors: anchors.clone(),
        time: CertTime::Now,
        identities: ids,
    };
    let o = verify::verify(
        &fx().join("model"),
        &s.bundle,
        &VerifyOptions::new(trust(vec![])),
    )?;
    assert!(o.is_valid(), "{:?}", o.problems);
    let o = verify::verify(
        &fx().join("model"),
        &s.bundle,
        &VerifyOptions::new(trust(vec!["release-bot@publisher.example".into()])),
    )?;
    assert!(o.is_valid(), "{:?}", o.problems);
    let o = verify::verify(
        &fx().join("model"),
        &s.bundle,
        &VerifyOptions::new(trust(vec!["mallory@evil.example".into()])),
    )?;
    assert_eq!(
        o.problems.first().map(|p| p.code()),
        Some("identity-mismatch")
    );
    // model-signing's own certificate bundle verifies identically
    let o = verify::verify(
        &fx().join("model"),
        &read("signatures/cert-leaf.sig")?,
        &VerifyOptions::new(trust(vec![
            "https://publisher.example/signers/release-bot".into(),
        ])),
    )?;
    assert!(o.is_valid(), "{:?}", o.problems);
    // a leaf that does not belong to the key is refused at signing time
    let wrong = SigningMaterial::Certificate {
        key: key("p256")?,
        leaf: der(leaf.first().ok_or("leaf")?)?,
        chain: vec![],
    };
    let e = sign::sign_model(&fx().join("model"), &wrong, &ManifestOptions::default())
        .err()
        .ok_or("signed with a foreign certificate")?;
    assert!(e.to_string().contains("does not belong"), "{e}");
    Ok(())
}

#[test]
fn expired_leaf_passes_only_in_model_signing_compat_time() -> TestResult {
    let anchors = certs::load_pem_certs(&read("pki/root-ca.cert.pem")?)?;
    let bundle = read("signatures/cert-leaf-expired.sig")?;
    let mut opts = VerifyOptions::new(Trust::Certificates {
        anchors: anchors.clone(),
        time: CertTime::LeafNotBefore,
        identities: vec![],
    });
    let o = verify::verify(&fx().join("model"), &bundle, &opts)?;
    assert!(o.is_valid(), "{:?}", o.problems);
    assert!(o.warnings.iter().any(|w| w.contains("notBefore")));
    opts.trust = Trust::Certificates {
        anchors,
        time: CertTime::At(1_738_800_000), // 2025-02-06, inside its validity
        identities: vec![],
    };
    assert!(verify::verify(&fx().join("model"), &bundle, &opts)?.is_valid());
    Ok(())
}

#[test]
fn shard_and_alternative_hash_modes_round_trip() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let model = tmp.path().join("m");
    copy_dir(&fx().join("model"), &model)?;
    let modes = [
        (HashAlgo::Sha256, Method::Shards { size: 4096 }),
        (HashAlgo::Blake2b, Method::Files),
        (HashAlgo::Blake3, Method::Files),
        (HashAlgo::Blake3, Method::Shards { size: 1000 }),
    ];
    for (hash, method) in modes {
        let opts = ManifestOptions {
            hash,
            method,
            ..ManifestOptions::default()
        };
        let s = sign::sign_model(&model, &SigningMaterial::Key(key("p256")?), &opts)?;
        let o = verify_key(&model, &s.bundle, pubkey("p256")?)?;
        assert!(o.is_valid(), "{hash:?} {method:?}: {:?}", o.problems);
        assert_eq!(o.method, Some(method));
    }
    // our shard manifest of the fixture has model-signing's root digest
    let opts = ManifestOptions {
        method: Method::Shards { size: 4096 },
        ..ManifestOptions::default()
    };
    let m = sign::build_manifest(&fx().join("model"), &opts)?;
    assert_eq!(
        m.root_digest_hex(),
        "0fdcadbd77319369a4683f34f43ec58b34a15a30eba9c4eb792b466d1b1689f8"
    );
    Ok(())
}

#[test]
fn our_signatures_catch_every_tamper_kind() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let base = tmp.path().join("base");
    copy_dir(&fx().join("model"), &base)?;
    let s = sign::sign_model(
        &base,
        &SigningMaterial::Key(key("p384")?),
        &ManifestOptions::default(),
    )?;
    type Edit = fn(&Path) -> std::io::Result<()>;
    let cases: [(&str, Edit, &str); 8] = [
        (
            "content",
            |d| std::fs::write(d.join("config.json"), "{}"),
            "file-modified",
        ),
        (
            "add",
            |d| std::fs::write(d.join("evil.py"), "import os"),
            "file-added",
        ),
        (
            "remove",
            |d| std::fs::remove_file(d.join("tokenizer.json")),
            "file-removed",
        ),
        (
            "rename",
            |d| std::fs::rename(d.join("tokenizer.json"), d.join("tok.json")),
            "file-renamed",
        ),
        (
            "move",
            |d| std::fs::rename(d.join("config.json"), d.join("notes/config.json")),
            "file-renamed",
        ),
        (
            "symlink",
            |d| std::os::unix::fs::symlink("model.safetensors", d.join("alias.bin")),
            "symlink",
        ),
        (
            "socket",
            |d| std::os::unix::net::UnixListener::bind(d.join("sock")).map(|_| ()),
            "special-file",
        ),
        (
            "swap",
            |d| {
                let a = std::fs::read(d.join("config.json"))?;
                let b = std::fs::read(d.join("README.md"))?;
                std::fs::write(d.join("config.json"), b)?;
                std::fs::write(d.join("README.md"), a)
            },
            "files-swapped",
        ),
    ];
    for (name, edit, code) in cases {
        let d = tmp.path().join(name);
        copy_dir(&base, &d)?;
        assert!(
            verify_key(&d, &s.bundle, pubkey("p384")?)?.is_valid(),
            "{name}: copy invalid"
        );
        edit(&d)?;
        let o = verify_key(&d, &s.bundle, pubkey("p384")?)?;
        assert!(!o.is_valid(), "{name}: tamper not caught");
        let codes: Vec<_> = o.problems.iter().map(|p| p.code()).collect();
        assert!(codes.contains(&code), "{name}: {codes:?}");
    }
    Ok(())
}

#[test]
fn signature_edits_are_caught() -> TestResult {
    let s = sign::sign_model(
        &fx().join("model"),
        &SigningMaterial::Key(key("p256")?),
        &ManifestOptions::default(),
    )?;
    let text = String::from_utf8(s.bundle.clone())?;
    // flip one character of the base64 payload (inside a resource digest)
    let b = oms::parse_bundle(&s.bundle)?;
    let mut payload = b.payload.clone();
    let pos = String::from_utf8_lossy(&payload)
        .find("\"digest\":\"")
        .ok_or("digest")?
        + 10;
    if let Some(c) = payload.get_mut(pos) {
        *c = if *c == b'0' { b'1' } else { b'0' };
    }
    let edited = oms::write_bundle(&b.material, &payload, b.signatures.first().ok_or("sig")?)?;
    let o = verify_key(&fx().join("model"), &edited, pubkey("p256")?)?;
    assert_eq!(o.problems.first().map(|p| p.code()), Some("bad-signature"));
    // two signatures
    let two = text.replace("\"signatures\":[{", "\"signatures\":[{\"sig\":\"AA==\"},{");
    let o = verify_key(&fx().join("model"), two.as_bytes(), pubkey("p256")?)?;
    assert_eq!(
        o.problems.first().map(|p| p.code()),
        Some("signature-count")
    );
    // the signature file itself is ignored when it lies inside the model
    let tmp = tempfile::tempdir()?;
    let d = tmp.path().join("model");
    copy_dir(&fx().join("model"), &d)?;
    let opts = ManifestOptions {
        signature_path: Some(d.join("model.sig")),
        ..ManifestOptions::default()
    };
    let s2 = sign::sign_model(&d, &SigningMaterial::Key(key("p256")?), &opts)?;
    assert!(
        s2.manifest
            .serialization
            .ignore_paths
            .contains(&"model.sig".to_string())
    );
    std::fs::write(d.join("model.sig"), &s2.bundle)?;
    let o = verify_key(&d, &s2.bundle, pubkey("p256")?)?;
    assert!(o.is_valid(), "{:?}", o.problems);
    Ok(())
}

#[test]
fn unsignable_trees_are_refused() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let k = SigningMaterial::Key(key("p256")?);
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("sub"))?;
    let e = sign::sign_model(&empty, &k, &ManifestOptions::default())
        .err()
        .ok_or("signed empty")?;
    assert!(e.to_string().contains("no files"), "{e}");
    let linked = tmp.path().join("linked");
    copy_dir(&fx().join("model"), &linked)?;
    std::os::unix::fs::symlink("/etc/passwd", linked.join("passwd"))?;
    let e = sign::sign_model(&linked, &k, &ManifestOptions::default())
        .err()
        .ok_or("signed link")?;
    assert!(e.to_string().contains("symbolic link"), "{e}");
    let e = sign::sign_model(
        &fx().join("model"),
        &k,
        &ManifestOptions {
            ignore_paths: vec!["../x".into()],
            ..ManifestOptions::default()
        },
    )
    .err()
    .ok_or("accepted ../x")?;
    assert!(e.to_string().contains("not a relative path"), "{e}");
    Ok(())
}

#[test]
fn single_file_model_signs_as_dot_and_verifies() -> TestResult {
    let f = fx().join("model/model.safetensors");
    let s = sign::sign_model(
        &f,
        &SigningMaterial::Key(key("p256")?),
        &ManifestOptions::default(),
    )?;
    assert_eq!(
        s.manifest.resources.first().map(|r| r.name.as_str()),
        Some(".")
    );
    assert_eq!(s.manifest.subject_name, "model.safetensors");
    assert!(verify_key(&f, &s.bundle, pubkey("p256")?)?.is_valid());
    Ok(())
}

#[test]
fn hugging_face_download_bookkeeping_is_handled() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let d = tmp.path().join("model");
    copy_dir(&fx().join("model"), &d)?;
    // verifying model-signing's signature: bookkeeping files are tolerated, code is not
    let hf = d.join(".cache/huggingface/download");
    std::fs::create_dir_all(&hf)?;
    std::fs::write(hf.join("config.json.metadata"), "abc\n123\n")?;
    std::fs::write(hf.join("config.json.lock"), "")?;
    std::fs::write(d.join(".cache/huggingface/.gitignore"), "*")?;
    let sig = read("signatures/key-p256.sig")?;
    assert!(verify_key(&d, &sig, pubkey("p256")?)?.is_valid());
    std::fs::write(hf.join("evil.py"), "import os")?;
    let o = verify_key(&d, &sig, pubkey("p256")?)?;
    assert_eq!(o.problems.first().map(|p| p.code()), Some("file-added"));
    // signing: the folder is left out and listed in ignore_paths
    let s = sign::sign_model(
        &d,
        &SigningMaterial::Key(key("p256")?),
        &ManifestOptions::default(),
    )?;
    assert!(
        s.manifest
            .serialization
            .ignore_paths
            .contains(&".cache/huggingface".to_string())
    );
    Ok(())
}

/// Lay `model/` out like the Hugging Face hub cache: content-addressed blobs + a snapshot of
/// relative symlinks.
fn hf_cache_copy(src: &Path, repo: &Path, rev: &str) -> std::io::Result<PathBuf> {
    use sha2::Digest;
    let blobs = repo.join("blobs");
    let snap = repo.join("snapshots").join(rev);
    std::fs::create_dir_all(&blobs)?;
    fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let r = rel.join(e.file_name());
            if e.file_type()?.is_dir() {
                walk(&e.path(), &r, out)?;
            } else {
                out.push(r);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(src, Path::new(""), &mut files)?;
    for rel in files {
        let data = std::fs::read(src.join(&rel))?;
        let id = hex::encode(sha2::Sha256::digest(&data));
        std::fs::write(blobs.join(&id), &data)?;
        let link = snap.join(&rel);
        if let Some(p) = link.parent() {
            std::fs::create_dir_all(p)?;
        }
        let depth = rel.components().count() + 1; // up to snapshots/<rev>, then repo
        let mut target = PathBuf::new();
        for _ in 0..depth {
            target.push("..");
        }
        std::os::unix::fs::symlink(target.join("blobs").join(&id), &link)?;
    }
    Ok(snap)
}

#[test]
fn hugging_face_hub_cache_snapshot_verifies_through_blob_links() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let snap = hf_cache_copy(
        &fx().join("model"),
        &tmp.path().join("hub/models--acme--tiny"),
        "0123abcd",
    )?;
    assert!(
        std::fs::symlink_metadata(snap.join("config.json"))?
            .file_type()
            .is_symlink()
    );
    let sig = read("signatures/key-p256.sig")?;
    let o = verify_key(&snap, &sig, pubkey("p256")?)?;
    assert!(o.is_valid(), "{:?}", o.problems);
    assert_eq!(o.files_checked, 12);
    // a link out of the blob store is still refused
    std::fs::remove_file(snap.join("config.json"))?;
    std::os::unix::fs::symlink(fx().join("model/config.json"), snap.join("config.json"))?;
    let o = verify_key(&snap, &sig, pubkey("p256")?)?;
    let codes: Vec<_> = o.problems.iter().map(|p| p.code()).collect();
    assert!(codes.contains(&"symlink"), "{codes:?}");
    // and the rule can be switched off
    let mut opts = VerifyOptions::new(Trust::Key(pubkey("p256")?));
    opts.follow_hf_cache_links = false;
    let o = verify::verify(&snap, &sig, &opts)?;
    assert!(o.problems.len() >= 11, "{:?}", o.problems);
    Ok(())
}
