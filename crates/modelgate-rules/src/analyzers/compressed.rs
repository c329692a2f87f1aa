//! Single-stream compression wrappers (gzip, zlib, bzip2, xz, lzma, zstd, lz4): decompress
//! under budget and scan what is inside.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::unreadable;
use crate::rules::generic::budget_exceeded;
use modelgate_core::format::Codec;
use modelgate_core::{Blob, FormatId};
use modelgate_formats::compress::{DecompressError, Method, decompress, joblib_zfile_offset};

pub struct CompressedAnalyzer;

impl Analyzer for CompressedAnalyzer {
    fn id(&self) -> &'static str {
        "compressed"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(format, FormatId::Compressed(_))
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let FormatId::Compressed(codec) = art.format else {
            return;
        };
        let method = match codec {
            Codec::Gzip => Method::Gzip,
            Codec::Zlib => Method::Zlib,
            Codec::Bzip2 => Method::Bzip2,
            Codec::Xz => Method::Xz,
            Codec::Lzma => Method::Lzma,
            Codec::Zstd => Method::Zstd,
            Codec::Lz4 => Method::Lz4,
            _ => return,
        };
        let limits = cx.limits().clone();
        // joblib < 0.10 prefixes its zlib streams with a "ZF" length header.
        let data = art.data.as_slice();
        let data = match joblib_zfile_offset(data) {
            Some(at) if codec == Codec::Zlib => data.get(at..).unwrap_or(&[]),
            _ => data,
        };
        match decompress(method, data, limits.max_member_bytes, limits.max_ratio) {
            Ok(out) => {
                if !cx.charge_expanded(&art.path, out.len() as u64) {
                    return;
                }
                let inner = art.path.join(format!("<{}>", codec.as_str()));
                cx.descend(inner, Blob::from_vec(out));
            }
            Err(e @ (DecompressError::TooLarge { .. } | DecompressError::Ratio { .. })) => {
                cx.emit(
                    budget_exceeded::META
                        .finding(
                            art.path.clone(),
                            format!(
                                "{} stream {e}; its contents were not analysed",
                                codec.as_str()
                            ),
                        )
                        .with("budget", "decompression"),
                );
            }
            Err(DecompressError::Corrupt(m)) => {
                cx.emit(unreadable::META.finding(
                    art.path.clone(),
                    format!("{} stream could not be decompressed: {m}", codec.as_str()),
                ));
            }
        }
    }
}
