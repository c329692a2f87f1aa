//! Text payloads of the binary string opcodes, decoded the way the loader decodes them.
//!
//! CPython reads `BINUNICODE`/`SHORT_BINUNICODE`/`BINUNICODE8` payloads with the `utf-8` codec
//! and the `surrogatepass` error handler: the three-byte encodings of the surrogates
//! U+D800..U+DFFF (`ED A0..BF 80..BF`), which strict UTF-8 rejects, load fine. A scanner that
//! stops at them would stop before opcodes the loader goes on to run.

use std::borrow::Cow;

/// The loader's decoding of a text payload: `None` where the loader raises
/// `UnicodeDecodeError`. Surrogates become U+FFFD (Rust strings cannot hold them).
pub fn decode_surrogatepass(b: &[u8]) -> Option<Cow<'_, str>> {
    if let Ok(s) = simdutf8::basic::from_utf8(b) {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return Some(Cow::Owned(out));
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).ok()?);
                match bad {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = bad.get(3..)?;
                    }
                    _ => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_utf8_is_borrowed() {
        assert!(matches!(
            decode_surrogatepass("naïve".as_bytes()),
            Some(Cow::Borrowed("naïve"))
        ));
    }

    #[test]
    fn surrogates_pass_like_the_loader() {
        // "x\ud800y\udfff" encoded with surrogatepass.
        let b = b"x\xed\xa0\x80y\xed\xbf\xbf";
        assert_eq!(
            decode_surrogatepass(b).as_deref(),
            Some("x\u{fffd}y\u{fffd}")
        );
    }

    #[test]
    fn other_invalid_bytes_fail_like_the_loader() {
        for b in [
            &b"\xff"[..],
            b"a\xc3",
            b"\xed\xa0",
            b"\xed\x9f\xbf\xed\xc0\x80",
            b"\xc0\x80",
        ] {
            assert_eq!(decode_surrogatepass(b), None, "{b:?}");
        }
        // U+D7FF is an ordinary character.
        assert_eq!(
            decode_surrogatepass(b"\xed\x9f\xbf").as_deref(),
            Some("\u{d7ff}")
        );
    }
}
