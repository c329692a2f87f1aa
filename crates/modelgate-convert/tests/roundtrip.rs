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

/// Parse a safetensors file strictly: header length, JSON, offsets contiguous and covering
/// the data section, alignment of the data section.
fn read_safetensors(bytes: &[u8]) -> (serde_json::Map<String, Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data section aligned to 8");
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut spans: Vec<(u64, u64)> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| {
            let o = v["data_offsets"].as_array().unwrap();
            (o[0].as_u64().unwrap(), o[1].as_u64().unwrap())
        })
        .collect();
    spans.sort();
    let mut pos = 0;
    for (b, e) in spans {
        assert_eq!(b, pos, "offsets contiguous");
        pos = e;
    }
    assert_eq!(pos as usize, data.len(), "offsets cover the data");
    (header, data)
}

fn roundtrip(name: &str, key: Option<&str>, prefix: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let plan = convert_file(
        &fixture(&format!("{name}.pt")),
        &out,
        &Options {
            key: key.map(str::to_string),
        },
    )
    .unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let (header, data) = read_safetensors(&bytes);
    let expected: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.expected.json"))).unwrap())
            .unwrap();
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v)))
        .collect();
    assert_eq!(header.len() - 1, expected.len(), "tensor count");
    for (k, exp) in &expected {
        let got = header
            .get(k)
            .unwrap_or_else(|| panic!("missing tensor {k}"));
        assert_eq!(got["dtype"], exp["dtype"], "{k} dtype");
        assert_eq!(got["shape"], exp["shape"], "{k} shape");
        let o = got["data_offsets"].as_array().unwrap();
        let (b, e) = (
            o[0].as_u64().unwrap() as usize,
            o[1].as_u64().unwrap() as usize,
        );
        assert_eq!(
            hex::encode(&data[b..e]),
            exp["hex"].as_str().unwrap(),
            "{k} bytes differ"
        );
    }
    // Metadata records the source hash.
    let input = open_input(&fixture(&format!("{name}.pt"))).unwrap();
    assert_eq!(
        header["__metadata__"]["source_sha256"],
        input.sha256.as_str()
    );
    // The output passes the scanner with no findings above info (safetensors validation).
    let report = modelgate_rules::scan_bytes(
        "out.safetensors",
        modelgate_core::Blob::from_vec(bytes),
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
    plan.notes
}

#[test]
fn state_dict_roundtrip_bit_exact() {
    roundtrip("state_dict", None, "");
}

#[test]
fn everything_roundtrip_dtypes_views_shared_nested() {
    let notes = roundtrip("everything", None, "");
    assert!(notes.iter().any(|n| n.contains("shared")), "{notes:?}");
}

#[test]
fn key_selects_sub_dictionary() {
    roundtrip("everything", Some("model"), "model.");
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
