//! NumPy `.npy`: header validation; object arrays carry a pickle, which is scanned.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::npy_object;
use crate::rules::generic::malformed;
use modelgate_core::{FormatId, Severity};

pub struct NpyAnalyzer;

/// Parsed `.npy` header.
struct Header {
    descr: String,
    data_offset: usize,
}

fn parse_header(d: &[u8]) -> Result<Header, String> {
    let major = *d.get(6).ok_or("truncated header")?;
    let (len, start): (usize, usize) = match major {
        1 => (
            usize::from(u16::from_le_bytes([
                *d.get(8).ok_or("truncated header")?,
                *d.get(9).ok_or("truncated header")?,
            ])),
            10,
        ),
        2 | 3 => {
            let b = d.get(8..12).ok_or("truncated header")?;
            (
                usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .map_err(|_| "header length")?,
                12,
            )
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    let end = start.checked_add(len).ok_or("header length overflows")?;
    let text = d
        .get(start..end)
        .ok_or("header runs past the end of the file")?;
    let text = std::str::from_utf8(text).map_err(|_| "header is not text")?;
    let key = text
        .find("'descr'")
        .or_else(|| text.find("\"descr\""))
        .ok_or("header has no 'descr'")?;
    let after = text.get(key + 7..).unwrap_or("");
    let after = after
        .trim_start()
        .strip_prefix(':')
        .ok_or("malformed 'descr'")?
        .trim_start();
    // descr is a quoted string or a list of fields; take up to the next top-level key.
    let mut depth = 0i32;
    let mut out = String::new();
    for c in after.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth <= 0 => break,
            _ => {}
        }
        out.push(c);
    }
    Ok(Header {
        descr: out.trim().to_string(),
        data_offset: end,
    })
}

/// Whether a dtype description holds Python objects (`'O'`, `'|O'`, fields with `'O'`).
fn has_object(descr: &str) -> bool {
    descr
        .split(['\'', '"'])
        .skip(1)
        .step_by(2)
        .any(|s| s.trim_start_matches(['<', '>', '|', '=']).starts_with('O'))
}

impl Analyzer for NpyAnalyzer {
    fn id(&self) -> &'static str {
        "npy"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Npy
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let d = art.data.as_slice();
        let h = match parse_header(d) {
            Ok(h) => h,
            Err(e) => {
                cx.emit(
                    malformed::META
                        .finding(art.path.clone(), format!("malformed .npy header: {e}")),
                );
                return;
            }
        };
        if !has_object(&h.descr) {
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
                .with("dtype", h.descr.clone())
                .help("Store numeric arrays only, or scan the embedded pickle findings below"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_dtypes() {
        assert!(has_object("'|O'"));
        assert!(has_object("[('a', '<f8'), ('b', '|O')]"));
        assert!(!has_object("'<f4'"));
        assert!(!has_object("'<U10'"));
    }

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
