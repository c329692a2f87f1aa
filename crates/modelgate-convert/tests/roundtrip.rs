//! Round trips against checkpoints written by real `torch.save` (see tests/fixtures/gen.py).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use modelgate_convert::{ConvertError, Options, convert_file, open_input, plan};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What a converted file holds, read with the `safetensors` crate.
struct Converted {
    notes: Vec<String>,
    metadata: std::collections::HashMap<String, String>,
    names: Vec<String>,
}

/// Check `out` against `expected` (name -> dtype, shape, hex of little-endian bytes), with
/// the `safetensors` crate as the reader. Also: the data section is 8-byte aligned, the
/// source hash is recorded, and the output passes `modelgate scan` with nothing above info.
/// `only`, when given, restricts the check to those tensor names (one shard of several).
fn check_output(
    out: &Path,
    expected_json: &str,
    prefix: &str,
    source: &Path,
    only: Option<&[String]>,
) -> Converted {
    let bytes = std::fs::read(out).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data section aligned to 8");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = meta.metadata().clone().unwrap_or_default();
    let expected: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(fixture(expected_json)).unwrap()).unwrap();
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v)))
        .filter(|(k, _)| only.is_none_or(|o| o.contains(k)))
        .collect();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for (k, exp) in &expected {
        // A name dropped as an identical view must be recorded as an alias of a kept one.
        let stored = if st.names().contains(&k.as_str()) {
            k.clone()
        } else {
            metadata
                .get(k)
                .unwrap_or_else(|| panic!("missing tensor {k} (and no alias)"))
                .clone()
        };
        let t = st.tensor(&stored).unwrap();
        assert_eq!(
            format!("{:?}", t.dtype()),
            exp["dtype"].as_str().unwrap(),
            "{k} dtype"
        );
        let shape: Vec<usize> = exp["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.shape(), shape.as_slice(), "{k} shape");
        assert_eq!(
            hex::encode(t.data()),
            exp["hex"].as_str().unwrap(),
            "{k} bytes differ"
        );
    }
    let input = open_input(source).unwrap();
    assert_eq!(metadata["source_sha256"], input.sha256);
    let report = modelgate_rules::scan_bytes(
        "out.safetensors",
        modelgate_core::Blob::from_vec(bytes.clone()),
        &Default::default(),
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == modelgate_core::Severity::Info),
        "{:?}",
        report.findings
    );
    Converted {
        notes: Vec::new(),
        metadata,
        names,
    }
}

/// Convert fixture `file` and check it against `<expected>.expected.json`.
fn convert_and_check(file: &str, expected: &str, key: Option<&str>, prefix: &str) -> Converted {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let plan = convert_file(
        &fixture(file),
        &out,
        &Options {
            key: key.map(str::to_string),
        },
    )
    .unwrap();
    let mut c = check_output(
        &out,
        &format!("{expected}.expected.json"),
        prefix,
        &fixture(file),
        None,
    );
    c.notes = plan.notes;
    c
}

fn assert_note(notes: &[String], text: &str) {
    assert!(
        notes.iter().any(|n| n.contains(text)),
        "{text:?} not in {notes:?}"
    );
}

fn roundtrip(name: &str, key: Option<&str>, prefix: &str) -> Vec<String> {
    let c = convert_and_check(&format!("{name}.pt"), name, key, prefix);
    let expected: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.expected.json"))).unwrap())
            .unwrap();
    let count = expected.keys().filter(|k| k.starts_with(prefix)).count();
    let aliases = c.metadata.len() - 3; // format, source_sha256, converted_by
    assert_eq!(c.names.len() + aliases, count, "tensor count");
    c.notes
}

#[test]
fn state_dict_roundtrip_bit_exact() {
    roundtrip("state_dict", None, "");
}

#[test]
fn everything_roundtrip_dtypes_views_shared_nested() {
    let notes = roundtrip("everything", None, "");
    assert_note(&notes, "viewed differently");
}

#[test]
fn key_selects_sub_dictionary() {
    roundtrip("everything", Some("model"), "model.");
}

/// fp8, unsigned ints (written by `_rebuild_tensor_v3` on untyped storages), bool, a view of
/// an fp8 storage, a Parameter with Python state (`_rebuild_parameter_with_state`) and a
/// tensor with Python attributes (`torch._tensor._rebuild_from_type_v2`).
#[test]
fn v3_fp8_unsigned_bool_and_tensors_with_state() {
    let notes = roundtrip("v3_dtypes", None, "");
    assert_note(
        &notes,
        "param_with_state: Python attributes of the Parameter are not kept",
    );
    assert_note(
        &notes,
        "tensor_with_state: Python attributes of the torch.Tensor are not kept",
    );
}

/// Identical views are written once and the dropped names recorded as `{dropped: kept}`
/// (what `safetensors.torch.save_model` does); different views are copied and reported.
#[test]
fn shared_storages_dedup_identical_copy_different() {
    let c = convert_and_check("shared.pt", "shared", None, "");
    // The first name in sorted order is kept, as `save_model` does.
    assert_eq!(c.names, ["alias", "evens", "head", "tail"]);
    assert_eq!(c.metadata["embed.weight"], "alias");
    assert_eq!(c.metadata["lm_head.weight"], "alias");
    assert_note(&c.notes, "kept alias, dropped lm_head.weight");
    assert_note(&c.notes, "evens, head, tail (overlapping)");
}

/// Tensors safetensors cannot hold are refused with a reason naming the tensor.
#[test]
fn complex_meta_sparse_quantized_refused_clearly() {
    for (file, want) in [
        (
            "complex.pt",
            "c: dtype complex64 has no safetensors equivalent",
        ),
        ("meta.pt", "m: a meta tensor"),
        ("sparse.pt", "s: a sparse tensor"),
        ("quantized.pt", "q: "),
    ] {
        let input = open_input(&fixture(file)).unwrap();
        match plan(&input, &Options::default()) {
            Err(ConvertError::Unsupported(msg)) => assert!(msg.contains(want), "{file}: {msg}"),
            other => panic!("{file}: expected a clear refusal, got {other:?}"),
        }
    }
}

/// Legacy (pre-1.6) format: every dtype, views, shared storages, v3 dtypes.
#[test]
fn legacy_roundtrip_bit_exact() {
    let notes = roundtrip("legacy", None, "");
    assert!(!notes.iter().any(|n| n.contains("big-endian")), "{notes:?}");
}

/// The same legacy file as a big-endian machine writes it: byte-swapped, same tensors.
#[test]
fn legacy_big_endian_is_byte_swapped() {
    let notes = roundtrip("legacy_be", None, "");
    assert_note(&notes, "big-endian machine");
}

/// A zip checkpoint whose `byteorder` member says `big`: storages are byte-swapped.
#[test]
fn zip_big_endian_is_byte_swapped() {
    let notes = roundtrip("zip_be", None, "");
    assert_note(&notes, "byteorder = big");
}

/// Every malicious fixture of the scanner's corpus is refused, never converted.
#[test]
fn malicious_scan_fixtures_are_never_converted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan");
    let mut refused_with_findings = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("mal_") {
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("out.safetensors");
        match convert_file(&path, &target, &Options::default()) {
            Ok(_) => panic!("{name} was converted"),
            Err(ConvertError::Refused { findings, .. }) => {
                assert!(!findings.is_empty(), "{name}: refused without findings");
                refused_with_findings += 1;
            }
            Err(_) => {}
        }
        assert!(!target.exists(), "{name}: output written");
    }
    assert!(refused_with_findings >= 30, "{refused_with_findings}");
}

#[test]
fn malicious_raw_pickle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.pkl");
    std::fs::write(&p, b"cos\nsystem\n(S'id'\ntR.").unwrap();
    let input = open_input(&p).unwrap();
    match plan(&input, &Options::default()) {
        Err(ConvertError::Refused { findings, .. }) => assert!(!findings.is_empty()),
        other => panic!("expected refusal, got {other:?}"),
    }
}

/// The same payload inside a real torch zip: data.pkl replaced by one that calls os.system.
#[test]
fn malicious_torch_zip_is_refused() {
    let evil_pkl = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    let zip = stored_zip(&[("archive/data.pkl", evil_pkl), ("archive/version", b"3\n")]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.pt");
    std::fs::write(&p, zip).unwrap();
    let out = dir.path().join("out.safetensors");
    match convert_file(&p, &out, &Options::default()) {
        Err(ConvertError::Refused { findings, .. }) => assert!(!findings.is_empty()),
        other => panic!("expected refusal, got {other:?}"),
    }
    assert!(!out.exists());
}

/// A minimal stored (uncompressed) zip writer for test inputs.
fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn crc32(d: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for b in d {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let off = out.len() as u32;
        let crc = crc32(data);
        let mut h = Vec::new();
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(20u16.to_le_bytes());
        h.extend(0u16.to_le_bytes());
        h.extend(0u16.to_le_bytes());
        h.extend(0u32.to_le_bytes());
        h.extend(crc.to_le_bytes());
        h.extend((data.len() as u32).to_le_bytes());
        h.extend((data.len() as u32).to_le_bytes());
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0u16.to_le_bytes());
        out.extend(h);
        out.extend(name.as_bytes());
        out.extend(*data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend(0u32.to_le_bytes());
        central.extend(crc.to_le_bytes());
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0u8; 12]);
        central.extend(off.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    let cd_len = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_off.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Copy the committed sharded checkpoint into a fresh directory.
fn sharded_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture("sharded")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// Hugging Face `.bin` shards + `pytorch_model.bin.index.json` -> safetensors shards and
/// `model.safetensors.index.json` with the weight map remapped.
#[test]
fn sharded_bin_checkpoint_converts_with_index() {
    use modelgate_convert::{SAFETENSORS_INDEX, find_index, plan_sharded, write_sharded};
    let src = sharded_copy();
    let index = find_index(src.path()).unwrap().unwrap();
    let sp = plan_sharded(&index, &Options::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    write_sharded(&sp, out.path()).unwrap();
    let idx: Value =
        serde_json::from_slice(&std::fs::read(out.path().join(SAFETENSORS_INDEX)).unwrap())
            .unwrap();
    let orig: Value = serde_json::from_slice(
        &std::fs::read(src.path().join("pytorch_model.bin.index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        idx["metadata"]["total_size"],
        orig["metadata"]["total_size"]
    );
    let wm = idx["weight_map"].as_object().unwrap();
    assert_eq!(wm.len(), orig["weight_map"].as_object().unwrap().len());
    for (name, file) in orig["weight_map"].as_object().unwrap() {
        let want = file
            .as_str()
            .unwrap()
            .replace("pytorch_model-", "model-")
            .replace(".bin", ".safetensors");
        assert_eq!(wm[name], want.as_str(), "{name}");
    }
    // Each output shard holds exactly the tensors the index assigns to it, bit for bit.
    for (i, s) in sp.shards.iter().enumerate() {
        assert_eq!(s.output, format!("model-{:05}-of-00002.safetensors", i + 1));
        let mine: Vec<String> = wm
            .iter()
            .filter(|(_, f)| f.as_str() == Some(s.output.as_str()))
            .map(|(n, _)| n.clone())
            .collect();
        let c = check_output(
            &out.path().join(&s.output),
            "sharded.expected.json",
            "",
            &src.path().join(&s.source),
            Some(&mine),
        );
        assert_eq!(c.names, mine);
    }
}

/// One malicious shard refuses the whole conversion; nothing is written.
#[test]
fn sharded_with_one_malicious_shard_is_refused() {
    use modelgate_convert::{find_index, plan_sharded};
    let src = sharded_copy();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan/mal_torch_zip.pt"),
        src.path().join("pytorch_model-00002-of-00002.bin"),
    )
    .unwrap();
    let index = find_index(src.path()).unwrap().unwrap();
    match plan_sharded(&index, &Options::default()) {
        Err(ConvertError::Refused { reasons, findings }) => {
            assert!(!findings.is_empty());
            assert!(
                reasons[0].starts_with("pytorch_model-00002-of-00002.bin: "),
                "{reasons:?}"
            );
        }
        other => panic!("expected refusal, got {:?}", other.map(|_| ())),
    }
}

/// Shard names in the index must be plain file names next to it.
#[test]
fn sharded_index_with_path_traversal_is_refused() {
    use modelgate_convert::plan_sharded;
    let src = sharded_copy();
    let index = src.path().join("pytorch_model.bin.index.json");
    std::fs::write(&index, r#"{"weight_map": {"w": "../../etc/passwd"}}"#).unwrap();
    assert!(matches!(
        plan_sharded(&index, &Options::default()),
        Err(ConvertError::Refused { .. })
    ));
}

/// `.npy` in C and Fortran order, little- and big-endian, bool, unsigned, 0-d and empty.
#[test]
fn npy_layouts_and_byte_orders_roundtrip() {
    for name in [
        "np_c_f32",
        "np_fortran_f64",
        "np_big_i4",
        "np_big_fortran_f2",
        "np_mask",
        "np_u16",
        "np_scalar",
        "np_empty",
    ] {
        let c = convert_and_check(&format!("{name}.npy"), name, None, "");
        assert_eq!(c.names, [name]);
        assert_eq!(c.metadata["format"], "np");
        if name.contains("fortran") {
            assert_note(&c.notes, "Fortran-order");
        }
        if name.contains("big") {
            assert_note(&c.notes, "byte-swapped");
        }
    }
}

/// `.npz` (stored and deflated members): tensors named after the members.
#[test]
fn npz_plain_and_compressed_roundtrip() {
    for file in ["arrays.npz", "arrays_compressed.npz"] {
        let c = convert_and_check(file, "arrays", None, "");
        assert_eq!(c.names.len(), 8, "{file}: {:?}", c.names);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("u16.safetensors");
    let opts = Options {
        key: Some("u16".into()),
    };
    convert_file(&fixture("arrays.npz"), &out, &opts).unwrap();
    let only = ["u16".to_string()];
    let c = check_output(
        &out,
        "arrays.expected.json",
        "",
        &fixture("arrays.npz"),
        Some(&only),
    );
    assert_eq!(c.names, only);
}

/// Object arrays are refused with the scanner's NPY001 finding; complex arrays clearly.
#[test]
fn npy_object_arrays_refused_complex_unsupported() {
    let scan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan");
    for file in ["mal_object_array.npy", "mal_object_array.npz"] {
        let input = open_input(&scan.join(file)).unwrap();
        match plan(&input, &Options::default()) {
            // The embedded pickle's os.system call (critical) refuses it at the scan gate.
            Err(ConvertError::Refused { findings, .. }) => {
                assert!(
                    findings.iter().any(|f| f.code == "PKL001"),
                    "{file}: {findings:?}"
                )
            }
            other => panic!("{file}: expected refusal, got {:?}", other.map(|_| ())),
        }
    }
    // A harmless object array passes the scan gate (NPY001 is low: its pickle is clean) and is
    // refused by the converter, with NPY001 among the findings.
    let input = open_input(&fixture("np_object.npy")).unwrap();
    match plan(&input, &Options::default()) {
        Err(ConvertError::Refused { findings, .. }) => {
            assert!(findings.iter().any(|f| f.code == "NPY001"), "{findings:?}")
        }
        other => panic!("expected refusal, got {:?}", other.map(|_| ())),
    }
    let input = open_input(&fixture("np_complex.npy")).unwrap();
    match plan(&input, &Options::default()) {
        Err(ConvertError::Unsupported(m)) => assert!(m.contains("complex64"), "{m}"),
        other => panic!("expected a clear refusal, got {:?}", other.map(|_| ())),
    }
}

/// The scanner corpus's benign checkpoints of convertible formats convert; TorchScript and a
/// pickled whole module (code, not just tensors) are refused.
#[test]
fn benign_scan_fixtures_convert_code_bearing_ones_refused() {
    let scan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan");
    for (file, tensors) in [
        ("ok_array.npy", 1),
        ("ok_arrays.npz", 2),
        ("ok_arrays_compressed.npz", 1),
        ("ok_torch_checkpoint.pt", 16),
        ("ok_torch_legacy.pt", 4),
        ("ok_torch_state_dict.pt", 4),
        ("ok_torch_views.pt", 3),
    ] {
        let input = open_input(&scan.join(file)).unwrap();
        let p = plan(&input, &Options::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p.tensors.len(), tensors, "{file}");
    }
    for file in ["ok_torchscript.pt", "whole_module.pt"] {
        let input = open_input(&scan.join(file)).unwrap();
        assert!(
            matches!(
                plan(&input, &Options::default()),
                Err(ConvertError::Refused { .. })
            ),
            "{file}"
        );
    }
}

/// Damaged inputs (every fixture truncated and with bytes flipped) give errors, never
/// panics, and never plans that point outside their storages.
#[test]
fn damaged_fixtures_never_panic() {
    use modelgate_convert::plan_bytes;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() || path.extension().is_some_and(|e| e == "json" || e == "py") {
            continue;
        }
        let orig = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for round in 0..200 {
            let mut b = orig.clone();
            if round % 4 == 0 {
                b.truncate(next() as usize % (orig.len() + 1));
            } else {
                for _ in 0..(1 + round % 8) {
                    let i = next() as usize % b.len();
                    b[i] = next() as u8;
                }
            }
            let blob = modelgate_core::Blob::from_vec(b);
            if let Ok(p) = plan_bytes(&blob, &name, &Options::default()) {
                for t in &p.tensors {
                    // The writer's bounds: every element index is inside the storage.
                    let mut last = t.offset;
                    for (d, s) in t.shape.iter().zip(&t.stride) {
                        last += d.saturating_sub(1) * s;
                    }
                    assert!(
                        t.numel() == 0 || (last + 1) * t.dtype.size() <= t.storage.len(),
                        "{name} round {round}: {} out of bounds",
                        t.name
                    );
                }
            }
        }
    }
}
