//! NumPy `.npy`: header validation; object arrays carry a pickle, which is scanned.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::npy_object;
use crate::rules::generic::malformed;
use modelgate_core::{FormatId, Severity};

pub struct NpyAnalyzer;

impl Analyzer for NpyAnalyzer {
    fn id(&self) -> &'static str {
        "npy"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Npy
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        let h = match modelgate_formats::npy::parse(d) {
            Ok(h) => h,
            Err(e) => {
                cx.emit(
                    malformed::META
                        .finding(art.path.clone(), format!("malformed .npy header: {e}")),
                );
                return;
            }
        };
        if !h.descr.is_object() {
            return;
        }
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.can_execute_code = true;
            inv.notes.push("object array: contains a pickle".into());
        }
        // The embedded pickle is analysed first: when it parses and nothing in it rises above
        // low (only allowlisted globals, as numpy itself writes for strings, None or nested
        // arrays), the object array is as benign as any clean pickle and NPY001 is low; any
        // finding above low in it (or no pickle at all) keeps NPY001 at medium.
        let mark = cx.findings_mark();
        let clean = match art.data.slice(h.data_offset..d.len()) {
            Some(p) => {
                let path = art.path.join("<object-array-pickle>");
                let format = modelgate_formats::sniff(p.as_slice(), "");
                let format = if matches!(format, FormatId::Pickle { .. }) {
                    format
                } else {
                    FormatId::Pickle { protocol: 0 }
                };
                cx.descend_as(path, p, format);
                cx.max_severity_since(mark)
                    .is_none_or(|s| s <= Severity::Low)
            }
            None => false,
        };
        let severity = if clean {
            Severity::Low
        } else {
            npy_object::META.severity
        };
        cx.emit(
            npy_object::META
                .finding(art.path.clone(), format!("object array (dtype {}): numpy.load(allow_pickle=True) unpickles its contents", h.descr))
                .severity(severity)
                .with("dtype", h.descr.to_string())
                .help("Store numeric arrays only, or scan the embedded pickle findings below"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_object(pickle: &[u8]) -> Vec<u8> {
        let mut text = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".to_vec();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(b' ');
        }
        text.push(b'\n');
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&u16::try_from(text.len()).unwrap().to_le_bytes());
        f.extend_from_slice(&text);
        f.extend_from_slice(pickle);
        f
    }

    fn npy001(data: Vec<u8>) -> (Severity, Vec<String>) {
        let r = crate::engine::scan_bytes(
            "a.npy",
            modelgate_core::Blob::from_vec(data),
            &modelgate_core::Limits::default(),
        );
        let codes = r.findings.iter().map(|f| f.code.clone()).collect();
        let f = r.findings.iter().find(|f| f.code == "NPY001").unwrap();
        (f.severity, codes)
    }

    #[test]
    fn object_array_severity_follows_its_pickle() {
        // A list of one string: nothing in the pickle, NPY001 is low and the file clean.
        let (sev, codes) = npy001(npy_object(b"\x80\x02]X\x01\x00\x00\x00aa."));
        assert_eq!(sev, Severity::Low, "{codes:?}");
        // os.system in the pickle: critical there, NPY001 stays medium.
        let (sev, codes) = npy001(npy_object(
            b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
        ));
        assert_eq!(sev, Severity::Medium, "{codes:?}");
        assert!(codes.iter().any(|c| c == "PKL001"), "{codes:?}");
        // No data after the header: nothing shows the objects are harmless.
        let (sev, _) = npy001(npy_object(b""));
        assert_eq!(sev, Severity::Medium);
    }
}
