//! Zip containers: PyTorch checkpoints, TorchScript archives, `.npz`, and plain zips. The
//! archive is read the way PyTorch reads it, every disagreement is reported, and every member
//! is scanned by content (tensor storages are only sniffed, never read in full).

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::{
    crc_mismatch, header_mismatch, hidden_entry, link, overlap, path_traversal, polyglot,
    prepended, torchscript_code, unreadable,
};
use crate::rules::generic::budget_exceeded;
use modelgate_core::FormatId;
use modelgate_formats::zip::{ZipArchive, ZipIssue, ZipReadError};

pub struct ZipAnalyzer;

/// What kind of zip this is, from its member names.
fn refine(archive: &ZipArchive) -> FormatId {
    let names: Vec<&str> = archive.entries.iter().map(|e| e.name.as_str()).collect();
    let has = |suffix: &str| names.iter().any(|n| n.ends_with(suffix));
    if has("constants.pkl")
        && names
            .iter()
            .any(|n| n.contains("/code/") || n.starts_with("code/"))
    {
        return FormatId::TorchScript;
    }
    if has("data.pkl") {
        return FormatId::TorchZip;
    }
    if !names.is_empty() && names.iter().all(|n| n.ends_with(".npy")) {
        return FormatId::Npz;
    }
    if names.contains(&"config.json")
        && (names.contains(&"metadata.json") || names.iter().any(|n| n.ends_with(".weights.h5")))
    {
        return FormatId::KerasV3;
    }
    FormatId::Zip
}

/// A PyTorch tensor storage member: `<prefix>/data/<digits>`.
fn is_storage_name(name: &str) -> bool {
    let mut parts = name.rsplit('/');
    let last = parts.next().unwrap_or("");
    let parent = parts.next().unwrap_or("");
    parent == "data" && !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())
}

impl Analyzer for ZipAnalyzer {
    fn id(&self) -> &'static str {
        "zip"
    }

    fn handles(&self, format: FormatId) -> bool {
        matches!(
            format,
            FormatId::Zip | FormatId::TorchZip | FormatId::TorchScript | FormatId::Npz
        )
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let limits = cx.limits().clone();
        let d = art.data.as_slice();
        let archive = ZipArchive::parse(d, limits.max_members);
        let kind = refine(&archive);
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.format = kind.name().to_string();
            inv.can_execute_code = kind.can_execute_code();
        }
        self.report_issues(cx, art, &archive);
        // Polyglot: the bytes before the archive are themselves a model format.
        let reached_from_pickle = art.path.segments.last().is_some_and(|s| s == "<zip>");
        if !reached_from_pickle
            && (archive.prefix > 0
                || archive
                    .issues
                    .iter()
                    .any(|i| matches!(i, ZipIssue::PrependedData { .. })))
        {
            let head_format = modelgate_formats::sniff(d, "");
            if matches!(head_format, FormatId::Pickle { .. } | FormatId::TorchLegacy) {
                cx.emit(
                    polyglot::META
                        .finding(art.path.clone(), "the file is both a pickle (read by pickle.load) and a zip archive (read by torch.load); both were scanned")
                        .with("formats", "pickle+zip"),
                );
                let path = art.path.join("<leading-pickle>");
                cx.descend_as(path, art.data.clone(), head_format);
            }
        }
        let mut code_files = Vec::new();
        let mut storages = 0usize;
        let mut storage_bytes = 0u64;
        for e in &archive.entries {
            if e.is_dir {
                continue;
            }
            if cx.out_of_time(&art.path) {
                return;
            }
            let member = art.path.join(e.name.clone());
            if e.is_symlink {
                cx.emit(link::META.finding(member.clone(), format!("member {} is a symbolic link; extracting it can redirect writes outside the model", e.name)));
                continue;
            }
            if kind == FormatId::TorchScript
                && (e.name.contains("/code/") || e.name.starts_with("code/"))
                && e.name.ends_with(".py")
            {
                code_files.push(e.name.clone());
            }
            let storage = matches!(kind, FormatId::TorchZip | FormatId::TorchScript)
                && is_storage_name(&e.name);
            let check_crc = !storage && e.uncompressed_size <= 256 << 20;
            let m = match archive.read(
                &art.data,
                e,
                limits.max_member_bytes,
                limits.max_ratio,
                check_crc,
            ) {
                Ok(m) => m,
                Err(err @ (ZipReadError::TooLarge { .. } | ZipReadError::Ratio { .. })) => {
                    cx.emit(
                        budget_exceeded::META
                            .finding(member, format!("member {err}; it was not analysed"))
                            .with("budget", "max_member_bytes"),
                    );
                    continue;
                }
                Err(err) => {
                    cx.emit(
                        unreadable::META
                            .finding(member, format!("member could not be read: {err}")),
                    );
                    continue;
                }
            };
            if e.method != 0 && !cx.charge_expanded(&member, m.data.len() as u64) {
                return;
            }
            if m.crc_ok == Some(false) {
                cx.emit(
                    crc_mismatch::META
                        .finding(member.clone(), format!("CRC-32 of {} does not match the archive; PyTorch loads it anyway while strict readers refuse it", e.name))
                        .with("declared", format!("{:#010x}", e.crc32)),
                );
            }
            if storage {
                // Raw tensor bytes: only look at them as code if the content says so.
                let head = m
                    .data
                    .slice(0..m.data.len().min(4096))
                    .unwrap_or_else(|| m.data.clone());
                let f = modelgate_formats::sniff(head.as_slice(), "");
                if matches!(
                    f,
                    FormatId::Pickle { .. } | FormatId::Zip | FormatId::TorchLegacy
                ) {
                    cx.descend(member, m.data);
                } else {
                    storages += 1;
                    storage_bytes += m.data.len() as u64;
                }
                continue;
            }
            cx.descend(member, m.data);
        }
        if storages > 0
            && let Some(inv) = cx.inventory_mut(&art.path)
        {
            inv.notes.push(format!(
                "{storages} tensor storage member(s), {storage_bytes} bytes: raw data, sniffed only"
            ));
        }
        if !code_files.is_empty() {
            let n = code_files.len();
            let mut f = torchscript_code::META.finding(art.path.clone(), format!("TorchScript archive with {n} code file(s); the code runs whenever the model runs"));
            for c in code_files.iter().take(32) {
                f = f.with("code", c.clone());
            }
            cx.emit(f);
        }
    }
}

impl ZipAnalyzer {
    fn report_issues(&self, cx: &mut ScanCx, art: &Artifact, archive: &ZipArchive) {
        for issue in &archive.issues {
            let f = match issue {
                ZipIssue::HeaderMismatch { name, field, central, local } => header_mismatch::META
                    .finding(art.path.join(name.clone()), format!("local header {field} {local:?} disagrees with the central directory's {central:?}"))
                    .with("field", *field)
                    .with("central", central.clone())
                    .with("local", local.clone()),
                ZipIssue::LocalHeaderMissing { name, offset } => header_mismatch::META
                    .finding(art.path.join(name.clone()), format!("the central directory points at offset {offset:#x}, where there is no local header"))
                    .with("field", "local header"),
                ZipIssue::Overlap { first, second } => overlap::META
                    .finding(art.path.clone(), format!("members {first} and {second} overlap: the same bytes are two different files"))
                    .with("first", first.clone())
                    .with("second", second.clone()),
                ZipIssue::Duplicate { name } => overlap::META
                    .finding(art.path.join(name.clone()), format!("two members are named {name}; readers disagree on which one wins"))
                    .with("name", name.clone()),
                ZipIssue::HiddenLocalEntry { name, offset } => hidden_entry::META
                    .finding(art.path.at(*offset), format!("local header for {name:?} is not in the central directory: streaming readers see a file others do not"))
                    .with("name", name.clone()),
                ZipIssue::PrependedData { bytes } => prepended::META
                    .finding(art.path.clone(), format!("{bytes} bytes precede the zip archive"))
                    .with("bytes", bytes.to_string()),
                ZipIssue::MultipleEndRecords { count } => header_mismatch::META
                    .finding(art.path.clone(), format!("{count} end-of-central-directory records: readers may pick different ones"))
                    .with("field", "end record"),
                ZipIssue::PathTraversal { name } => path_traversal::META
                    .finding(art.path.join(name.clone()), format!("member name {name:?} escapes the extraction directory"))
                    .with("name", name.clone()),
                ZipIssue::Encrypted { name } => unreadable::META.finding(art.path.join(name.clone()), "member is encrypted and could not be scanned"),
                ZipIssue::EntryOutOfBounds { name } => unreadable::META.finding(art.path.join(name.clone()), "member data runs past the end of the file (truncated archive)"),
                ZipIssue::NoCentralDirectory => crate::rules::generic::malformed::META
                    .finding(art.path.clone(), "zip archive has no central directory (truncated?); members were read from their local headers"),
                ZipIssue::CentralDirectoryTruncated { parsed, declared } => crate::rules::generic::malformed::META
                    .finding(art.path.clone(), format!("central directory declares {declared} entries but only {parsed} could be read")),
                ZipIssue::TooManyEntries { limit } => budget_exceeded::META
                    .finding(art.path.clone(), format!("more than {limit} members; the rest were not analysed"))
                    .with("budget", "max_members"),
                ZipIssue::Symlink { .. } => continue,
            };
            cx.emit(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names() {
        assert!(is_storage_name("archive/data/0"));
        assert!(is_storage_name("m/data/123"));
        assert!(!is_storage_name("archive/data.pkl"));
        assert!(!is_storage_name("archive/data/0x"));
    }
}
