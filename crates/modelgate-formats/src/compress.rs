//! Decompression of single-stream codecs under an output budget and a ratio limit, so a
//! compression bomb becomes an error the caller reports instead of an out-of-memory.

use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Deflate,
    Zlib,
    Gzip,
    Bzip2,
    Xz,
    /// lzma-alone (`.lzma`, joblib's `lzma` compressor).
    Lzma,
    /// LZMA inside zip (method 14): 4-byte version/props header then raw LZMA.
    LzmaZip,
    Zstd,
    Lz4,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecompressError {
    TooLarge { limit: u64 },
    Ratio { ratio: u64 },
    Corrupt(String),
}

impl std::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecompressError::TooLarge { limit } => {
                write!(f, "expands past the {limit}-byte budget")
            }
            DecompressError::Ratio { ratio } => {
                write!(f, "compression ratio {ratio}:1 exceeds the budget")
            }
            DecompressError::Corrupt(e) => write!(f, "corrupt stream: {e}"),
        }
    }
}

/// Where the zlib stream of a joblib < 0.10 compressed file starts, if `data` is one
/// (`compress=True` pickles and the `.npy.z` arrays next to them): `ZF`, the uncompressed
/// length as `hex()` text, padding (spaces or `L`) to a fixed width (21 or 22 bytes in the
/// files joblib wrote), then the zlib stream.
pub fn joblib_zfile_offset(data: &[u8]) -> Option<usize> {
    let rest = data.strip_prefix(b"ZF0x")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let pad = rest
        .get(digits..)?
        .iter()
        .take_while(|b| matches!(b, b' ' | b'L'))
        .count();
    let offset = 4 + digits + pad;
    let zlib = data.get(offset..offset + 2).is_some_and(|h| {
        h[0] & 0x0f == 8 && (h[0] >> 4) <= 7 && (u16::from(h[0]) * 256 + u16::from(h[1])) % 31 == 0
    });
    (digits > 0 && (20..=24).contains(&offset) && zlib).then_some(offset)
}

/// Ratios are only enforced once the output passes this size (small files compress well).
const RATIO_FLOOR: u64 = 1 << 20;

/// Read `r` to the end within the byte and ratio budgets (`input_len` is the compressed
/// size the ratio is measured against).
pub fn read_bounded<R: Read>(
    mut r: R,
    input_len: usize,
    max_bytes: u64,
    max_ratio: u64,
) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                // A truncated stream still yields what came before (the loader would have
                // read it too); report corruption only when nothing came out.
                if out.is_empty() {
                    return Err(DecompressError::Corrupt(e.to_string()));
                }
                break;
            }
        };
        let total = (out.len() as u64).saturating_add(n as u64);
        if total > max_bytes {
            return Err(DecompressError::TooLarge { limit: max_bytes });
        }
        let ratio = total / (input_len.max(1) as u64);
        if total > RATIO_FLOOR && ratio > max_ratio {
            return Err(DecompressError::Ratio { ratio });
        }
        out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
    Ok(out)
}

/// Decompress `input` completely, within the budgets.
pub fn decompress(
    method: Method,
    input: &[u8],
    max_bytes: u64,
    max_ratio: u64,
) -> Result<Vec<u8>, DecompressError> {
    let n = input.len();
    match method {
        Method::Deflate => read_bounded(
            flate2::read::DeflateDecoder::new(input),
            n,
            max_bytes,
            max_ratio,
        ),
        Method::Zlib => read_bounded(
            flate2::read::ZlibDecoder::new(input),
            n,
            max_bytes,
            max_ratio,
        ),
        Method::Gzip => read_bounded(
            flate2::read::MultiGzDecoder::new(input),
            n,
            max_bytes,
            max_ratio,
        ),
        Method::Bzip2 => read_bounded(
            bzip2::read::MultiBzDecoder::new(input),
            n,
            max_bytes,
            max_ratio,
        ),
        Method::Xz => read_bounded(
            lzma_rust2::XzReader::new(input, true),
            n,
            max_bytes,
            max_ratio,
        ),
        Method::Lzma => {
            let r = lzma_rust2::LzmaReader::new_mem_limit(input, u32::MAX, None)
                .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
            read_bounded(r, n, max_bytes, max_ratio)
        }
        Method::LzmaZip => {
            // 2-byte version, 2-byte properties size, then 5 bytes of properties.
            let props_len = usize::from(u16::from_le_bytes([
                *input.get(2).unwrap_or(&0),
                *input.get(3).unwrap_or(&0),
            ]));
            let props = input
                .get(4..4 + props_len)
                .ok_or_else(|| DecompressError::Corrupt("short LZMA header".into()))?;
            let (Some(&pb), Some(dict)) = (props.first(), props.get(1..5)) else {
                return Err(DecompressError::Corrupt("short LZMA properties".into()));
            };
            let dict = u32::from_le_bytes(
                dict.try_into()
                    .map_err(|_| DecompressError::Corrupt("LZMA dict".into()))?,
            );
            let body = input.get(4 + props_len..).unwrap_or(&[]);
            let r = lzma_rust2::LzmaReader::new_with_props(body, u64::MAX, pb, dict, None)
                .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
            read_bounded(r, n, max_bytes, max_ratio)
        }
        Method::Zstd => {
            let r = ruzstd::decoding::StreamingDecoder::new(input)
                .map_err(|e| DecompressError::Corrupt(e.to_string()))?;
            read_bounded(r, n, max_bytes, max_ratio)
        }
        Method::Lz4 => read_bounded(
            lz4_flex::frame::FrameDecoder::new(input),
            n,
            max_bytes,
            max_ratio,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_round_trip_and_bomb_budget() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 8 << 20]).unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(
            decompress(Method::Gzip, &gz, 16 << 20, 100_000)
                .unwrap()
                .len(),
            8 << 20
        );
        assert!(matches!(
            decompress(Method::Gzip, &gz, 1 << 20, 100_000),
            Err(DecompressError::TooLarge { .. })
        ));
        assert!(matches!(
            decompress(Method::Gzip, &gz, 16 << 20, 100),
            Err(DecompressError::Ratio { .. })
        ));
    }

    #[test]
    fn joblib_zfile_header() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, b"payload").unwrap();
        let body = z.finish().unwrap();
        for (pad, width) in [(b' ', 21), (b'L', 21), (b' ', 22)] {
            let mut f = b"ZF0x7".to_vec();
            f.resize(width, pad);
            f.extend_from_slice(&body);
            assert_eq!(joblib_zfile_offset(&f), Some(width));
            assert_eq!(
                crate::sniff(&f, "x.gz"),
                modelgate_core::FormatId::Compressed(modelgate_core::format::Codec::Zlib)
            );
            let out = decompress(Method::Zlib, &f[width..], 1 << 20, 100).unwrap();
            assert_eq!(out, b"payload");
        }
        assert_eq!(joblib_zfile_offset(b"ZF0x7                x"), None);
        assert_eq!(joblib_zfile_offset(b"ZF0xzz"), None);
        assert_eq!(joblib_zfile_offset(b"ZF0x7"), None);
        let mut no_digits = b"ZF0x".to_vec();
        no_digits.resize(21, b' ');
        no_digits.extend_from_slice(&body);
        assert_eq!(joblib_zfile_offset(&no_digits), None);
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        for m in [
            Method::Deflate,
            Method::Zlib,
            Method::Gzip,
            Method::Bzip2,
            Method::Xz,
            Method::Lzma,
            Method::LzmaZip,
            Method::Zstd,
            Method::Lz4,
        ] {
            let _ = decompress(m, b"\x00\x01garbage garbage", 1 << 20, 100);
            let _ = decompress(m, b"", 1 << 20, 100);
        }
    }
}
