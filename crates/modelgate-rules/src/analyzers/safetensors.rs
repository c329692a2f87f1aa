//! safetensors: full structural validation; metadata values and every byte range that
//! belongs to no tensor are scanned by content for hidden payloads.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::safetensors::{
    hidden_payload, invalid_tensor, malformed_header, unaccounted_bytes,
};
use base64::Engine as _;
use modelgate_core::format::Codec;
use modelgate_core::{Blob, FormatId, VirtualPath};
use modelgate_formats::safetensors::{Issue, parse};

pub struct SafetensorsAnalyzer;

/// Most structural issues reported one by one; the rest are summarised.
const MAX_ISSUES: usize = 64;

/// Whether a sniffed format is something that should never hide inside another file's
/// metadata or slack: a model, an archive or a strongly-marked compressed stream. Weak
/// magics (zlib, lzma-alone, protobuf guesses) are left out to avoid noise on random bytes.
pub fn is_payload(format: FormatId) -> bool {
    matches!(
        format,
        FormatId::Pickle { .. }
            | FormatId::TorchLegacy
            | FormatId::Joblib
            | FormatId::Zip
            | FormatId::Tar
            | FormatId::SevenZ
            | FormatId::Npy
            | FormatId::Gguf
            | FormatId::Hdf5
            | FormatId::Safetensors
            | FormatId::TfLite
            | FormatId::Compressed(
                Codec::Gzip | Codec::Bzip2 | Codec::Xz | Codec::Zstd | Codec::Lz4
            )
    )
}

/// The byte strings a metadata value may really be: itself, and its base64 or hex decoding.
pub fn decodings(value: &str) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = vec![("raw", value.as_bytes().to_vec())];
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() >= 8 {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ];
        for (i, e) in engines.into_iter().enumerate() {
            if let Ok(d) = e.decode(compact.as_bytes()) {
                out.push(("base64", d));
                break;
            }
            if i == 0
                && let Ok(d) =
                    base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes())
            {
                out.push(("base64", d));
                break;
            }
        }
        if compact.len() >= 16
            && compact.len().is_multiple_of(2)
            && compact.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let bytes = compact.as_bytes();
            let d: Vec<u8> = bytes
                .chunks(2)
                .filter_map(|p| {
                    std::str::from_utf8(p)
                        .ok()
                        .and_then(|s| u8::from_str_radix(s, 16).ok())
                })
                .collect();
            out.push(("hex", d));
        }
    }
    out
}

impl Analyzer for SafetensorsAnalyzer {
    fn id(&self) -> &'static str {
        "safetensors"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Safetensors
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        let st = match parse(d) {
            Ok(st) => st,
            Err(e) => {
                cx.emit(
                    malformed_header::META
                        .finding(art.path.clone(), format!("safetensors header: {e}")),
                );
                return;
            }
        };
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.notes.push(format!(
                "{} tensor(s), {} metadata entr(ies), header {} bytes",
                st.tensors.len(),
                st.metadata.len(),
                st.header_len
            ));
        }
        let total = st.issues.len();
        for issue in st.issues.iter().take(MAX_ISSUES) {
            let meta = match issue {
                Issue::DuplicateKey { .. }
                | Issue::BadEntry { .. }
                | Issue::UnexpectedField { .. }
                | Issue::MetadataNotObject
                | Issue::MetadataNotString { .. } => &malformed_header::META,
                Issue::UnknownDtype { .. }
                | Issue::SizeMismatch { .. }
                | Issue::OutOfBounds { .. }
                | Issue::Overlap { .. } => &invalid_tensor::META,
            };
            let mut f = meta.finding(art.path.clone(), issue.to_string());
            if let Issue::BadEntry { name, .. }
            | Issue::UnexpectedField { name, .. }
            | Issue::UnknownDtype { name, .. }
            | Issue::SizeMismatch { name, .. }
            | Issue::OutOfBounds { name, .. }
            | Issue::DuplicateKey { name } = issue
            {
                f = f.with("tensor", name.clone());
            }
            cx.emit(f);
        }
        if total > MAX_ISSUES {
            cx.emit(invalid_tensor::META.finding(
                art.path.clone(),
                format!(
                    "{} further structural problems not listed",
                    total - MAX_ISSUES
                ),
            ));
        }
        for (key, value) in &st.metadata {
            for (how, bytes) in decodings(value) {
                let format = modelgate_formats::sniff(&bytes, "");
                if !is_payload(format) {
                    continue;
                }
                let member = if how == "raw" {
                    format!("__metadata__/{key}")
                } else {
                    format!("__metadata__/{key} ({how})")
                };
                let msg = if how == "raw" {
                    format!("__metadata__ value {key:?} is a {format}")
                } else {
                    format!("__metadata__ value {key:?} decodes ({how}) to a {format}")
                };
                cx.emit(
                    hidden_payload::META
                        .finding(art.path.clone(), msg)
                        .with("key", key.clone())
                        .with("encoding", how)
                        .with("format", format.name())
                        .help("The payload is scanned below; safetensors never needs code in its metadata"),
                );
                cx.descend_as(art.path.join(member), Blob::from_vec(bytes), format);
                break;
            }
        }
        for h in &st.hidden {
            let Some(blob) = art.data.slice(h.range.clone()) else {
                continue;
            };
            let len = h.range.end.saturating_sub(h.range.start);
            let at = art.path.at(h.range.start as u64);
            cx.emit(
                unaccounted_bytes::META
                    .finding(
                        at.clone(),
                        format!("{len} byte(s) of {} belong to no tensor", h.kind.as_str()),
                    )
                    .with("region", h.kind.as_str())
                    .with("offset", h.range.start.to_string())
                    .with("length", len.to_string()),
            );
            scan_region(cx, &art.path, &at, h.kind.as_str(), blob);
        }
    }
}

/// Sniff an unaccounted region; report and descend when it holds a payload.
pub fn scan_region(
    cx: &mut ScanCx,
    parent: &VirtualPath,
    at: &VirtualPath,
    label: &str,
    blob: Blob,
) {
    let format = modelgate_formats::sniff(blob.as_slice(), "");
    if is_payload(format) {
        cx.emit(
            hidden_payload::META
                .finding(at.clone(), format!("the {label} hold a {format}"))
                .with("region", label)
                .with("format", format.name()),
        );
    }
    cx.descend_as(parent.join(format!("<{label}>")), blob, format);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::engine::scan_bytes;
    use base64::Engine as _;
    use modelgate_core::{Blob, Limits, Verdict};
    use modelgate_formats::safetensors::build;

    fn codes(name: &str, data: Vec<u8>) -> (Vec<String>, Verdict) {
        let r = scan_bytes(name, Blob::from_vec(data), &Limits::default());
        let mut c: Vec<String> = r.findings.iter().map(|f| f.code.clone()).collect();
        c.sort();
        c.dedup();
        (c, r.verdict)
    }

    const EVIL: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

    #[test]
    fn clean_file_is_clean() {
        let f = build(
            r#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        );
        let (c, v) = codes("m.safetensors", f);
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(v, Verdict::Clean);
    }

    #[test]
    fn malformed_header_is_malformed() {
        let mut f = 10u64.to_le_bytes().to_vec();
        f.extend_from_slice(b"{\"a\": tru}");
        let (c, v) = codes("m.safetensors", f);
        assert_eq!(c, vec!["STN001"]);
        assert_eq!(v, Verdict::Malformed);
    }

    #[test]
    fn invalid_tensor_reported() {
        let f = build(
            r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        );
        let (c, _) = codes("m.safetensors", f);
        assert_eq!(c, vec!["STN002"]);
    }

    #[test]
    fn pickle_in_metadata_is_scanned() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(EVIL);
        let header = format!(
            r#"{{"__metadata__":{{"x":"{b64}"}},"w":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#
        );
        let r = scan_bytes(
            "m.safetensors",
            Blob::from_vec(build(&header, b"a")),
            &Limits::default(),
        );
        assert!(
            r.findings.iter().any(|f| f.code == "STN004"),
            "{:?}",
            r.findings
        );
        assert!(
            r.findings.iter().any(|f| f.code.starts_with("PKL")
                && f.location.to_string().contains("__metadata__/x (base64)")),
            "{:?}",
            r.findings
        );
        assert_eq!(r.verdict, Verdict::Malicious);
    }

    #[test]
    fn trailing_pickle_is_scanned() {
        let mut data = vec![0u8; 4];
        data.extend_from_slice(EVIL);
        let f = build(
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &data,
        );
        let r = scan_bytes("m.safetensors", Blob::from_vec(f), &Limits::default());
        let c: Vec<&str> = r.findings.iter().map(|f| f.code.as_str()).collect();
        assert!(c.contains(&"STN003") && c.contains(&"STN004"), "{c:?}");
        assert!(
            r.findings.iter().any(|f| f.code.starts_with("PKL")
                && f.location.to_string().contains("<trailing bytes>")),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn header_slack_reported() {
        let f = build(
            r#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}  hidden"#,
            b"a",
        );
        let (c, _) = codes("m.safetensors", f);
        assert_eq!(c, vec!["STN003"]);
    }

    #[test]
    fn decodings_cover_base64_and_hex() {
        let d = super::decodings("8003" /* too short */);
        assert_eq!(d.len(), 1);
        let d = super::decodings("80024e2e80024e2e");
        assert!(
            d.iter()
                .any(|(h, b)| *h == "hex" && b.starts_with(b"\x80\x02N."))
        );
    }

    /// Files written by the official `safetensors` 0.8.0 (tests/fixtures/gen/safetensors.py).
    #[test]
    fn real_library_fixtures() {
        let fx = |b: &[u8]| codes("m.safetensors", b.to_vec());
        let (c, v) = fx(include_bytes!(
            "../../../../tests/fixtures/safetensors/benign.safetensors"
        ));
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(v, Verdict::Clean);
        let (c, v) = fx(include_bytes!(
            "../../../../tests/fixtures/safetensors/metadata_pickle.safetensors"
        ));
        assert!(
            c.contains(&"STN004".to_string()) && c.iter().any(|c| c.starts_with("PKL")),
            "{c:?}"
        );
        assert_eq!(v, Verdict::Malicious);
        let (c, v) = fx(include_bytes!(
            "../../../../tests/fixtures/safetensors/trailing_pickle.safetensors"
        ));
        assert!(
            c.contains(&"STN003".to_string())
                && c.contains(&"STN004".to_string())
                && c.iter().any(|c| c.starts_with("PKL")),
            "{c:?}"
        );
        assert_eq!(v, Verdict::Malicious);
    }
}
