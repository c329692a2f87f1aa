//! The ML-BOM validates against the official CycloneDX 1.6 JSON schema (vendored in
//! tests/schemas/cyclonedx) and carries the facts we promise; the signed attestation is bound
//! to the model's root digest.

use modelgate_sign::bom::{self, BomInput, FileFacts};
use modelgate_sign::keys::{PrivateKey, PublicKey};
use modelgate_sign::sign::SigningMaterial;
use modelgate_sign::verify::Trust;
use serde_json::Value;
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fx() -> PathBuf {
    here().join("tests/fixtures/signing")
}

struct Schemas;

impl jsonschema::Retrieve for Schemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let dir = here().join("tests/schemas/cyclonedx");
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        let file = match name {
            n if n.starts_with("spdx") => "spdx.SNAPSHOT.schema.json",
            n if n.starts_with("jsf-0.82") => "jsf-0.82.SNAPSHOT.schema.json",
            n if n.starts_with("bom-1.6") => "bom-1.6.SNAPSHOT.schema.json",
            other => return Err(format!("no vendored schema for {other}").into()),
        };
        Ok(serde_json::from_slice(&std::fs::read(dir.join(file))?)?)
    }
}

fn validator() -> Result<jsonschema::Validator, Box<dyn std::error::Error>> {
    let schema: Value = serde_json::from_slice(&std::fs::read(
        here().join("tests/schemas/cyclonedx/bom-1.6.SNAPSHOT.schema.json"),
    )?)?;
    Ok(jsonschema::options()
        .with_retriever(Schemas)
        .build(&schema)
        .map_err(|e| e.to_string())?)
}

fn assert_valid(v: &jsonschema::Validator, bom: &Value) {
    let errors: Vec<String> = v
        .iter_errors(bom)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema errors:\n{}", errors.join("\n"));
}

fn props(c: &Value) -> Vec<(String, String)> {
    c.get("properties")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_string(),
                        p["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn prop_of(c: &Value, name: &str) -> Option<String> {
    props(c)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

fn component<'a>(bom: &'a Value, bom_ref: &str) -> Option<&'a Value> {
    bom["components"]
        .as_array()?
        .iter()
        .find(|c| c["bom-ref"] == bom_ref)
}

fn make_inputs(tmp: &Path) -> std::io::Result<(PathBuf, PathBuf, PathBuf)> {
    let train = tmp.join("train");
    std::fs::create_dir_all(&train)?;
    std::fs::write(
        train.join("part-0.csv"),
        "text,label\n\"hello, world\",1\nbye,0\n",
    )?;
    std::fs::write(train.join("part-1.csv"), "text,label\nok,1\n")?;
    let ft = tmp.join("sft.jsonl");
    std::fs::write(
        &ft,
        "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"c\",\"completion\":\"d\",\"weight\":2}\n",
    )?;
    let code = tmp.join("runner");
    std::fs::create_dir_all(code.join(".git/refs/heads"))?;
    std::fs::write(code.join(".git/HEAD"), "ref: refs/heads/main\n")?;
    std::fs::write(
        code.join(".git/refs/heads/main"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )?;
    std::fs::write(code.join("Cargo.lock"), "# lock\n")?;
    std::fs::write(code.join("requirements.txt"), "torch==2.5.0\n")?;
    Ok((train, ft, code))
}

#[test]
fn bom_validates_against_cyclonedx_1_6_and_carries_the_facts() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let (train, ft, code) = make_inputs(tmp.path())?;
    let input = BomInput {
        model: fx().join("model-with-sig"),
        training_data: vec![train],
        fine_tuning_data: vec![ft],
        code: vec![code],
        file_facts: vec![
            FileFacts {
                name: "model.safetensors".into(),
                format: "safetensors".into(),
                can_execute_code: false,
            },
            FileFacts {
                name: "config.json".into(),
                format: "json".into(),
                can_execute_code: false,
            },
        ],
        signature: Some(fx().join("model-with-sig/model.sig")),
        timestamp: Some("2026-12-02T12:00:00Z".into()),
        environment: true,
    };
    let b = bom::build(&input)?;
    assert_valid(&validator()?, &b.json);

    assert_eq!(
        b.root_digest,
        "84c8c974227b154153a48f728330b5b4a78ae0c599041d6ead5f4b2f1308978e"
    );
    let model = component(&b.json, "model").ok_or("model component")?;
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(model["components"].as_array().map(Vec::len), Some(12));
    assert_eq!(
        prop_of(model, "modelgate:oms:root-digest"),
        Some(b.root_digest.clone())
    );
    assert_eq!(
        prop_of(model, "modelgate:can-execute-code").as_deref(),
        Some("false")
    );
    assert_eq!(
        prop_of(model, "modelgate:signature:root-digest"),
        Some(b.root_digest.clone())
    );
    let st = model["components"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "model.safetensors"))
        .ok_or("safetensors file")?;
    assert_eq!(
        st["hashes"][0]["content"],
        "5c04c0ef1baef960d73efb388ccb38e7bdd317f60bdc5809e8f7a240bc2305f8"
    );
    assert_eq!(
        prop_of(st, "modelgate:format").as_deref(),
        Some("safetensors")
    );
    let datasets = model["modelCard"]["modelParameters"]["datasets"]
        .as_array()
        .ok_or("datasets")?;
    assert_eq!(datasets.len(), 2);

    let train = component(&b.json, "training-data-0").ok_or("training data")?;
    assert_eq!(prop_of(train, "modelgate:data:rows").as_deref(), Some("3"));
    assert_eq!(
        prop_of(train, "modelgate:data:columns").as_deref(),
        Some("text,label")
    );
    assert_eq!(
        prop_of(train, "modelgate:data:purpose").as_deref(),
        Some("training")
    );
    let ftc = component(&b.json, "fine-tuning-data-0").ok_or("fine-tuning data")?;
    assert_eq!(prop_of(ftc, "modelgate:data:rows").as_deref(), Some("2"));
    assert_eq!(
        prop_of(ftc, "modelgate:data:columns").as_deref(),
        Some("completion,prompt,weight")
    );
    let code = component(&b.json, "code-0").ok_or("code")?;
    assert_eq!(code["version"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(
        prop_of(code, "modelgate:git:branch").as_deref(),
        Some("main")
    );
    let locks: Vec<&str> = code["components"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(locks, ["Cargo.lock", "requirements.txt"]);
    assert!(component(&b.json, "env-os").is_some());
    assert!(component(&b.json, "env-cpu").is_some());

    // same inputs, same BOM (serial number included)
    let again = bom::build(&input)?;
    assert_eq!(again.json, b.json);
    Ok(())
}

#[test]
fn schema_validation_can_fail() -> TestResult {
    let input = BomInput {
        model: fx().join("model"),
        timestamp: Some("2026-12-02T12:00:00Z".into()),
        ..BomInput::default()
    };
    let mut b = bom::build(&input)?.json;
    let v = validator()?;
    assert_valid(&v, &b);
    b["components"][0]["type"] = Value::String("neural-net".into());
    assert!(
        !v.is_valid(&b),
        "an invalid component type passed the schema"
    );
    Ok(())
}

#[test]
fn signed_bom_is_bound_to_the_model_digest() -> TestResult {
    let input = BomInput {
        model: fx().join("model"),
        timestamp: Some("2026-12-02T12:00:00Z".into()),
        ..BomInput::default()
    };
    let b = bom::build(&input)?;
    let key = PrivateKey::from_pem(&std::fs::read(fx().join("keys/p384.key.pem"))?, None)?;
    let bundle = bom::sign_bom(&b, &SigningMaterial::Key(key))?;
    let pk = PublicKey::from_pem(&std::fs::read(fx().join("keys/p384.pub.pem"))?)?;
    let got = bom::verify_bom_attestation(&bundle, &Trust::Key(pk.clone()), &b.root_digest)?;
    assert_eq!(got, b.json);
    let e = bom::verify_bom_attestation(&bundle, &Trust::Key(pk), &"0".repeat(64))
        .err()
        .ok_or("accepted for another model")?;
    assert!(e.contains("not this model"), "{e}");
    let other = PublicKey::from_pem(&std::fs::read(fx().join("keys/p256.pub.pem"))?)?;
    let e = bom::verify_bom_attestation(&bundle, &Trust::Key(other), &b.root_digest)
        .err()
        .ok_or("accepted with another key")?;
    assert!(e.contains("wrong key"), "{e}");
    Ok(())
}
