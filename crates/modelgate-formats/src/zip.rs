//! A relaxed, forensic ZIP reader.
//!
//! It reads archives the way PyTorch's loader does (central directory names, local header
//! lengths, no CRC enforcement, prepended data tolerated) and records every way the archive
//! disagrees with itself, because each disagreement is a parser differential an attacker can
//! use to show a scanner one thing and the loader another: local vs central header fields,
//! overlapping or duplicate entries, entries reachable only through local headers, multiple
//! end records, path traversal, symlinks and encryption.

use modelgate_core::Blob;
use std::collections::HashMap;

const EOCD_SIG: &[u8] = b"PK\x05\x06";
const EOCD64_LOC_SIG: &[u8] = b"PK\x06\x07";
const EOCD64_SIG: &[u8] = b"PK\x06\x06";
const CDH_SIG: &[u8] = b"PK\x01\x02";
const LFH_SIG: &[u8] = b"PK\x03\x04";

/// One member as the central directory (or, without one, the local headers) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Offset of the local header, as the central directory states it (before prefix correction).
    pub local_header_offset: u64,
    /// Absolute offset of the member's data in the file, when the local header was readable.
    pub data_start: Option<u64>,
    pub is_symlink: bool,
    pub is_dir: bool,
}

/// Ways an archive disagrees with itself or with safe extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipIssue {
    /// No end-of-central-directory record: read through local headers only.
    NoCentralDirectory,
    MultipleEndRecords {
        count: usize,
    },
    /// Bytes before the first local header (self-extractor stub, polyglot, prepended marker).
    PrependedData {
        bytes: u64,
    },
    LocalHeaderMissing {
        name: String,
        offset: u64,
    },
    /// A local header field disagrees with the central directory.
    HeaderMismatch {
        name: String,
        field: &'static str,
        central: String,
        local: String,
    },
    Overlap {
        first: String,
        second: String,
    },
    Duplicate {
        name: String,
    },
    /// A local header that no central directory entry points at.
    HiddenLocalEntry {
        name: String,
        offset: u64,
    },
    PathTraversal {
        name: String,
    },
    Symlink {
        name: String,
    },
    Encrypted {
        name: String,
    },
    EntryOutOfBounds {
        name: String,
    },
    CentralDirectoryTruncated {
        parsed: usize,
        declared: u64,
    },
    TooManyEntries {
        limit: usize,
    },
}

#[derive(Debug, Clone)]
pub struct ZipArchive {
    pub entries: Vec<ZipEntry>,
    pub issues: Vec<ZipIssue>,
    /// Bytes before the archive proper (added to central-directory offsets).
    pub prefix: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipReadError {
    NoData,
    OutOfBounds,
    UnsupportedMethod(u16),
    Encrypted,
    Corrupt(String),
    /// The member expands past the byte budget.
    TooLarge {
        limit: u64,
    },
    /// Compression ratio above the limit.
    Ratio {
        ratio: u64,
    },
}

impl std::fmt::Display for ZipReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZipReadError::NoData => f.write_str("member data not found"),
            ZipReadError::OutOfBounds => f.write_str("member data runs past the end of the file"),
            ZipReadError::UnsupportedMethod(m) => write!(f, "unsupported compression method {m}"),
            ZipReadError::Encrypted => f.write_str("member is encrypted"),
            ZipReadError::Corrupt(e) => write!(f, "corrupt compressed data: {e}"),
            ZipReadError::TooLarge { limit } => {
                write!(f, "member expands past the {limit}-byte budget")
            }
            ZipReadError::Ratio { ratio } => {
                write!(f, "compression ratio {ratio}:1 exceeds the budget")
            }
        }
    }
}

/// A member's bytes and whether its CRC matched (None when not checked).
#[derive(Debug, Clone)]
pub struct MemberData {
    pub data: Blob,
    pub crc_ok: Option<bool>,
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn u64_at(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}
fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

fn find_eocds(d: &[u8]) -> Vec<usize> {
    let min = d.len().saturating_sub(65_557);
    let mut found = Vec::new();
    let mut i = d.len().saturating_sub(22);
    loop {
        if d.get(i..i + 4) == Some(EOCD_SIG) {
            // The comment length must reach exactly to the end for a well-formed record; accept
            // any record whose comment stays inside the file.
            if let Some(cl) = u16_at(d, i + 20)
                && i + 22 + usize::from(cl) <= d.len()
            {
                found.push(i);
            }
        }
        if i <= min || i == 0 {
            break;
        }
        i -= 1;
    }
    found
}

fn flag_path_issues(name: &str, issues: &mut Vec<ZipIssue>) {
    let n = name.replace('\\', "/");
    let drive = n.len() >= 2
        && n.as_bytes().get(1) == Some(&b':')
        && n.as_bytes().first().is_some_and(u8::is_ascii_alphabetic);
    if n.starts_with('/') || drive || n.split('/').any(|c| c == "..") {
        issues.push(ZipIssue::PathTraversal {
            name: name.to_string(),
        });
    }
}

impl ZipArchive {
    /// Parse an archive. Never fails: damage becomes issues, and without a central directory
    /// the local headers are walked instead.
    pub fn parse(d: &[u8], max_entries: usize) -> ZipArchive {
        let mut issues = Vec::new();
        let eocds = find_eocds(d);
        if eocds.len() > 1 {
            issues.push(ZipIssue::MultipleEndRecords { count: eocds.len() });
        }
        let Some(&eocd) = eocds.first() else {
            issues.push(ZipIssue::NoCentralDirectory);
            let entries = local_walk(d, max_entries, &mut issues);
            return ZipArchive {
                entries,
                issues,
                prefix: 0,
            };
        };
        let mut count = u64::from(u16_at(d, eocd + 10).unwrap_or(0));
        let mut cd_size = u64::from(u32_at(d, eocd + 12).unwrap_or(0));
        let mut cd_off = u64::from(u32_at(d, eocd + 16).unwrap_or(0));
        let mut cd_end = eocd as u64;
        // ZIP64: locator right before the EOCD.
        if eocd >= 20
            && d.get(eocd - 20..eocd - 16) == Some(EOCD64_LOC_SIG)
            && let Some(rec) = u64_at(d, eocd - 12)
        {
            // The record offset is relative to the archive start; find the record itself.
            let rec_pos = d
                .get(..eocd - 20)
                .and_then(|h| h.windows(4).rposition(|w| w == EOCD64_SIG))
                .map(|p| p as u64)
                .unwrap_or(rec);
            if let Some(r) = to_usize(rec_pos)
                && d.get(r..r + 4) == Some(EOCD64_SIG)
            {
                count = u64_at(d, r + 32).unwrap_or(count);
                cd_size = u64_at(d, r + 40).unwrap_or(cd_size);
                cd_off = u64_at(d, r + 48).unwrap_or(cd_off);
                cd_end = rec_pos;
            }
        }
        // Prepended data: the central directory really starts at cd_end - cd_size.
        let real_cd = cd_end.saturating_sub(cd_size);
        let prefix = real_cd.saturating_sub(cd_off);
        let mut entries = Vec::new();
        let mut pos = to_usize(real_cd).unwrap_or(usize::MAX);
        let mut parsed = 0u64;
        while parsed < count {
            if entries.len() >= max_entries {
                issues.push(ZipIssue::TooManyEntries { limit: max_entries });
                break;
            }
            let Some(e) = parse_central(d, pos) else {
                break;
            };
            let (entry, next) = e;
            pos = next;
            parsed += 1;
            entries.push(entry);
        }
        if parsed < count {
            issues.push(ZipIssue::CentralDirectoryTruncated {
                parsed: entries.len(),
                declared: count,
            });
        }
        let first_local = d.windows(4).position(|w| w == LFH_SIG).map(|p| p as u64);
        let min_local = entries.iter().map(|e| e.local_header_offset).min();
        let start = min_local
            .map(|m| m.saturating_add(prefix))
            .or(first_local)
            .unwrap_or(0);
        if start > 0 {
            issues.push(ZipIssue::PrependedData { bytes: start });
        }
        let mut archive = ZipArchive {
            entries,
            issues,
            prefix,
        };
        archive.cross_check(d, max_entries);
        archive
    }

    fn cross_check(&mut self, d: &[u8], max_entries: usize) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
        let mut issues = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate() {
            *seen.entry(e.name.as_str()).or_default() += 1;
            flag_path_issues(&e.name, &mut issues);
            if e.is_symlink {
                issues.push(ZipIssue::Symlink {
                    name: e.name.clone(),
                });
            }
            if e.flags & 1 != 0 {
                issues.push(ZipIssue::Encrypted {
                    name: e.name.clone(),
                });
            }
            let lo = e.local_header_offset.saturating_add(self.prefix);
            let Some(l) = to_usize(lo).filter(|l| d.get(*l..l.saturating_add(4)) == Some(LFH_SIG))
            else {
                issues.push(ZipIssue::LocalHeaderMissing {
                    name: e.name.clone(),
                    offset: lo,
                });
                continue;
            };
            let Some(LocalHeader {
                flags: lflags,
                method: lmethod,
                crc32: lcrc,
                compressed_size: lcs,
                uncompressed_size: lus,
                name_len: nl,
                extra_len: xl,
            }) = LocalHeader::read(d, l)
            else {
                issues.push(ZipIssue::LocalHeaderMissing {
                    name: e.name.clone(),
                    offset: lo,
                });
                continue;
            };
            let lname = d
                .get(l + 30..l + 30 + usize::from(nl))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let mut mismatch = |field: &'static str, c: String, lv: String| {
                issues.push(ZipIssue::HeaderMismatch {
                    name: e.name.clone(),
                    field,
                    central: c,
                    local: lv,
                });
            };
            if lname != e.name {
                mismatch("name", e.name.clone(), lname.clone());
            }
            if lmethod != e.method {
                mismatch("method", e.method.to_string(), lmethod.to_string());
            }
            // Bit 3 (data descriptor) and bit 11 (UTF-8) legitimately differ between writers.
            if (lflags ^ e.flags) & !0x0808 != 0 {
                mismatch(
                    "flags",
                    format!("{:#06x}", e.flags),
                    format!("{lflags:#06x}"),
                );
            }
            let descriptor = lflags & 0x08 != 0;
            if !descriptor {
                if lcrc != e.crc32 {
                    mismatch(
                        "crc32",
                        format!("{:#010x}", e.crc32),
                        format!("{lcrc:#010x}"),
                    );
                }
                if lcs != u32::MAX && u64::from(lcs) != e.compressed_size {
                    mismatch(
                        "compressed size",
                        e.compressed_size.to_string(),
                        lcs.to_string(),
                    );
                }
                if lus != u32::MAX && u64::from(lus) != e.uncompressed_size {
                    mismatch(
                        "uncompressed size",
                        e.uncompressed_size.to_string(),
                        lus.to_string(),
                    );
                }
            }
            let data_start = (l as u64)
                .saturating_add(30)
                .saturating_add(u64::from(nl))
                .saturating_add(u64::from(xl));
            e.data_start = Some(data_start);
            let end = data_start.saturating_add(e.compressed_size);
            if end > d.len() as u64 {
                issues.push(ZipIssue::EntryOutOfBounds {
                    name: e.name.clone(),
                });
            }
            ranges.push((lo, end, i));
        }
        for (name, n) in seen {
            if n > 1 {
                issues.push(ZipIssue::Duplicate {
                    name: name.to_string(),
                });
            }
        }
        ranges.sort_unstable();
        for w in ranges.windows(2) {
            if let [(_, end_a, a), (start_b, _, b)] = w
                && start_b < end_a
            {
                let name = |i: &usize| {
                    self.entries
                        .get(*i)
                        .map(|e| e.name.clone())
                        .unwrap_or_default()
                };
                issues.push(ZipIssue::Overlap {
                    first: name(a),
                    second: name(b),
                });
            }
        }
        // Local headers nobody points at (walk the gaps between known members).
        let known: std::collections::HashSet<u64> = ranges.iter().map(|r| r.0).collect();
        let mut hidden = 0usize;
        let mut pos = 0usize;
        let limit = d.len();
        let cd_floor = ranges.iter().map(|r| r.1).max().unwrap_or(0);
        while pos < limit && hidden < max_entries {
            let Some(rel) = d.get(pos..).and_then(|s| memfind(s, LFH_SIG)) else {
                break;
            };
            let at = pos + rel;
            if known.contains(&(at as u64)) {
                // Jump over the known member's data.
                pos = ranges
                    .iter()
                    .find(|r| r.0 == at as u64)
                    .and_then(|r| to_usize(r.1))
                    .filter(|e| *e > at)
                    .unwrap_or(at + 4);
                continue;
            }
            if ((at as u64) < cd_floor || self.entries.is_empty())
                && let Some(nl) = u16_at(d, at + 26)
                && let Some(name) = d.get(at + 30..at + 30 + usize::from(nl))
                && !name.is_empty()
            {
                issues.push(ZipIssue::HiddenLocalEntry {
                    name: String::from_utf8_lossy(name).into_owned(),
                    offset: at as u64,
                });
                hidden += 1;
            }
            pos = at + 4;
        }
        self.issues.extend(issues);
    }

    /// Read a member's bytes: stored members are zero-copy slices of `blob`; compressed ones
    /// are inflated under `max_bytes` and `max_ratio`. CRC is checked, not enforced.
    pub fn read(
        &self,
        blob: &Blob,
        e: &ZipEntry,
        max_bytes: u64,
        max_ratio: u64,
        check_crc: bool,
    ) -> Result<MemberData, ZipReadError> {
        if e.flags & 1 != 0 {
            return Err(ZipReadError::Encrypted);
        }
        let start = e.data_start.ok_or(ZipReadError::NoData)?;
        let end = start
            .checked_add(e.compressed_size)
            .ok_or(ZipReadError::OutOfBounds)?;
        let (Some(s), Some(en)) = (to_usize(start), to_usize(end)) else {
            return Err(ZipReadError::OutOfBounds);
        };
        let raw = blob.slice(s..en).ok_or(ZipReadError::OutOfBounds)?;
        let data = match e.method {
            0 => raw,
            8 | 12 | 14 | 93 | 95 => {
                let codec = match e.method {
                    8 => crate::compress::Method::Deflate,
                    12 => crate::compress::Method::Bzip2,
                    14 => crate::compress::Method::LzmaZip,
                    93 => crate::compress::Method::Zstd,
                    _ => crate::compress::Method::Xz,
                };
                let out = crate::compress::decompress(codec, raw.as_slice(), max_bytes, max_ratio)
                    .map_err(|err| match err {
                        crate::compress::DecompressError::TooLarge { limit } => {
                            ZipReadError::TooLarge { limit }
                        }
                        crate::compress::DecompressError::Ratio { ratio } => {
                            ZipReadError::Ratio { ratio }
                        }
                        crate::compress::DecompressError::Corrupt(m) => ZipReadError::Corrupt(m),
                    })?;
                Blob::from_vec(out)
            }
            m => return Err(ZipReadError::UnsupportedMethod(m)),
        };
        let crc_ok = if check_crc {
            let mut c = flate2::Crc::new();
            c.update(data.as_slice());
            Some(c.sum() == e.crc32)
        } else {
            None
        };
        Ok(MemberData { data, crc_ok })
    }
}

/// The fixed fields of a local file header at `at` (signature already checked by the caller).
struct LocalHeader {
    flags: u16,
    method: u16,
    crc32: u32,
    compressed_size: u32,
    uncompressed_size: u32,
    name_len: u16,
    extra_len: u16,
}

impl LocalHeader {
    fn read(d: &[u8], at: usize) -> Option<LocalHeader> {
        Some(LocalHeader {
            flags: u16_at(d, at.checked_add(6)?)?,
            method: u16_at(d, at.checked_add(8)?)?,
            crc32: u32_at(d, at.checked_add(14)?)?,
            compressed_size: u32_at(d, at.checked_add(18)?)?,
            uncompressed_size: u32_at(d, at.checked_add(22)?)?,
            name_len: u16_at(d, at.checked_add(26)?)?,
            extra_len: u16_at(d, at.checked_add(28)?)?,
        })
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_central(d: &[u8], pos: usize) -> Option<(ZipEntry, usize)> {
    if d.get(pos..pos.checked_add(4)?)? != CDH_SIG {
        return None;
    }
    let made_by = u16_at(d, pos + 4)?;
    let flags = u16_at(d, pos + 8)?;
    let method = u16_at(d, pos + 10)?;
    let crc32 = u32_at(d, pos + 16)?;
    let mut csize = u64::from(u32_at(d, pos + 20)?);
    let mut usize_ = u64::from(u32_at(d, pos + 24)?);
    let nl = usize::from(u16_at(d, pos + 28)?);
    let xl = usize::from(u16_at(d, pos + 30)?);
    let cl = usize::from(u16_at(d, pos + 32)?);
    let ext_attr = u32_at(d, pos + 38)?;
    let mut off = u64::from(u32_at(d, pos + 42)?);
    let name_b = d.get(pos + 46..pos + 46 + nl)?;
    let extra = d.get(pos + 46 + nl..pos + 46 + nl + xl)?;
    // ZIP64 extended information: present fields are those whose 32-bit value is 0xffffffff.
    let mut i = 0usize;
    while i + 4 <= extra.len() {
        let id = u16_at(extra, i)?;
        let sz = usize::from(u16_at(extra, i + 2)?);
        if id == 1 {
            let mut p = i + 4;
            if usize_ == u64::from(u32::MAX) {
                usize_ = u64_at(extra, p)?;
                p += 8;
            }
            if csize == u64::from(u32::MAX) {
                csize = u64_at(extra, p)?;
                p += 8;
            }
            if off == u64::from(u32::MAX) {
                off = u64_at(extra, p)?;
            }
        }
        i += 4 + sz;
    }
    let name = String::from_utf8_lossy(name_b).into_owned();
    let unix = made_by >> 8 == 3;
    let mode = ext_attr >> 16;
    let entry = ZipEntry {
        is_dir: name.ends_with('/'),
        name,
        method,
        flags,
        crc32,
        compressed_size: csize,
        uncompressed_size: usize_,
        local_header_offset: off,
        data_start: None,
        is_symlink: unix && mode & 0o170000 == 0o120000,
    };
    Some((entry, pos + 46 + nl + xl + cl))
}

/// Without a central directory: walk local headers front to back (what a streaming reader
/// would see). Members using data descriptors end at the next signature.
fn local_walk(d: &[u8], max_entries: usize, issues: &mut Vec<ZipIssue>) -> Vec<ZipEntry> {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    while let Some(rel) = d.get(pos..).and_then(|s| memfind(s, LFH_SIG)) {
        if entries.len() >= max_entries {
            issues.push(ZipIssue::TooManyEntries { limit: max_entries });
            break;
        }
        let at = pos + rel;
        let Some(LocalHeader {
            flags,
            method,
            crc32,
            compressed_size: cs,
            uncompressed_size: us,
            name_len: nl,
            extra_len: xl,
        }) = LocalHeader::read(d, at)
        else {
            break;
        };
        let name = d
            .get(at + 30..at + 30 + usize::from(nl))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let data_start = at + 30 + usize::from(nl) + usize::from(xl);
        let mut csize = u64::from(cs);
        if flags & 0x08 != 0 || csize == 0 {
            // Size unknown here: up to the next header signature or the end of the file.
            let next = d
                .get(data_start..)
                .and_then(|s| {
                    [LFH_SIG, CDH_SIG, b"PK\x07\x08".as_slice()]
                        .iter()
                        .filter_map(|sig| memfind(s, sig))
                        .min()
                })
                .unwrap_or_else(|| d.len().saturating_sub(data_start));
            if flags & 0x08 != 0 || method == 0 {
                csize = next as u64;
            }
        }
        flag_path_issues(&name, issues);
        entries.push(ZipEntry {
            is_dir: name.ends_with('/'),
            name,
            method,
            flags,
            crc32,
            compressed_size: csize,
            uncompressed_size: u64::from(us),
            local_header_offset: at as u64,
            data_start: Some(data_start as u64),
            is_symlink: false,
        });
        pos = data_start
            .saturating_add(to_usize(csize).unwrap_or(0))
            .max(at + 4);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a stored zip with the given members (minimal writer for tests).
    pub(crate) fn build(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data) in members {
            let mut c = flate2::Crc::new();
            c.update(data);
            let crc = c.sum();
            let off = out.len() as u32;
            out.extend_from_slice(LFH_SIG);
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            cd.extend_from_slice(CDH_SIG);
            cd.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            cd.extend_from_slice(&crc.to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 8]);
            cd.extend_from_slice(&0u32.to_le_bytes());
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(EOCD_SIG);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_clean_archive_without_issues() {
        let z = build(&[("a/data.pkl", b"\x80\x02N."), ("a/data/0", b"\0\0\0\0")]);
        let a = ZipArchive::parse(&z, 100);
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        assert_eq!(a.entries.len(), 2);
        let blob = Blob::from_vec(z);
        let m = a.read(&blob, &a.entries[0], 1 << 20, 100, true).unwrap();
        assert_eq!(m.data.as_slice(), b"\x80\x02N.");
        assert_eq!(m.crc_ok, Some(true));
    }

    #[test]
    fn detects_local_central_name_mismatch_and_prefix() {
        let mut z = build(&[("a/data.pkl", b"\x80\x02N.")]);
        z[30] = b'b'; // local name "b/data.pkl"
        let a = ZipArchive::parse(&z, 100);
        assert!(
            a.issues
                .iter()
                .any(|i| matches!(i, ZipIssue::HeaderMismatch { field: "name", .. }))
        );
        let mut p = b"PK\x07\x08junk".to_vec();
        p.extend_from_slice(&build(&[("x", b"1")]));
        let a = ZipArchive::parse(&p, 100);
        assert!(
            a.issues
                .iter()
                .any(|i| matches!(i, ZipIssue::PrependedData { bytes: 8 })),
            "{:?}",
            a.issues
        );
        assert_eq!(a.entries[0].data_start, Some(8 + 31));
    }

    #[test]
    fn traversal_duplicates_and_truncation() {
        let z = build(&[("../evil", b"1"), ("x", b"1"), ("x", b"2")]);
        let a = ZipArchive::parse(&z, 100);
        assert!(
            a.issues
                .iter()
                .any(|i| matches!(i, ZipIssue::PathTraversal { .. }))
        );
        assert!(
            a.issues
                .iter()
                .any(|i| matches!(i, ZipIssue::Duplicate { .. }))
        );
        let t = &z[..z.len() - 30];
        let a = ZipArchive::parse(t, 100);
        assert!(a.issues.contains(&ZipIssue::NoCentralDirectory));
        assert_eq!(a.entries.len(), 3);
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..200usize {
            let v: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
            let _ = ZipArchive::parse(&v, 10);
            let mut w = b"PK\x05\x06".to_vec();
            w.extend_from_slice(&v);
            let _ = ZipArchive::parse(&w, 10);
        }
    }
}
