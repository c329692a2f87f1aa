//! `modelgate convert` end to end: exit codes, dry-run listing, sharded checkpoints.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_modelgate"))
}

fn convert_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../modelgate-convert/tests/fixtures")
        .join(name)
}

/// `modelgate convert IN -o OUT`.
fn convert(input: &Path, out: &Path) -> Output {
    bin()
        .arg("convert")
        .arg(input)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn converts_lists_and_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.safetensors");
    let ok = convert(&convert_fixture("legacy.pt"), &out);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.exists());

    let dry = bin()
        .args(["convert", "--dry-run"])
        .arg(convert_fixture("shared.pt"))
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0));
    let listing = String::from_utf8_lossy(&dry.stdout);
    assert!(listing.contains("alias\tF32\t[4, 3]\t48"), "{listing}");
    assert!(listing.contains("4 tensors"), "{listing}");
    assert!(String::from_utf8_lossy(&dry.stderr).contains("dropped lm_head.weight"));

    let evil = bin()
        .args(["convert"])
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/scan/mal_torch_zip.pt"),
        )
        .arg("-o")
        .arg(dir.path().join("evil.safetensors"))
        .output()
        .unwrap();
    assert_eq!(evil.status.code(), Some(1));
    assert!(!dir.path().join("evil.safetensors").exists());

    let complex = bin()
        .args(["convert", "--dry-run"])
        .arg(convert_fixture("complex.pt"))
        .output()
        .unwrap();
    assert_eq!(complex.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&complex.stderr).contains("complex64"));
}

#[test]
fn sharded_directory_to_safetensors_shards() {
    let dir = tempfile::tempdir().unwrap();
    let ok = convert(&convert_fixture("sharded"), dir.path());
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for f in [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}
