//! Tar archives (legacy PyTorch tar checkpoints, model bundles): members are sliced in place
//! and scanned by content; traversal and links are reported.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::{link, path_traversal, unreadable};
use crate::rules::generic::budget_exceeded;
use modelgate_core::FormatId;

pub struct TarAnalyzer;

/// Whether an archive member name leaves the extraction directory.
pub(crate) fn escapes(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/') || n.split('/').any(|c| c == "..")
}

impl Analyzer for TarAnalyzer {
    fn id(&self) -> &'static str {
        "tar"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Tar
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let limits = cx.limits().clone();
        let mut archive = ::tar::Archive::new(art.data.as_slice());
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => {
                cx.emit(unreadable::META.finding(
                    art.path.clone(),
                    format!("tar archive could not be read: {e}"),
                ));
                return;
            }
        };
        for (count, entry) in entries.enumerate() {
            if count >= limits.max_members {
                cx.emit(budget_exceeded::too_many_members(
                    art.path.clone(),
                    limits.max_members,
                ));
                return;
            }
            if cx.out_of_time(&art.path) {
                return;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    cx.emit(
                        crate::rules::generic::malformed::META
                            .finding(art.path.clone(), format!("tar archive is damaged: {e}")),
                    );
                    return;
                }
            };
            let name = entry.path_bytes();
            let name = String::from_utf8_lossy(&name).into_owned();
            let member = art.path.join(name.clone());
            if escapes(&name) {
                cx.emit(path_traversal::member(member.clone(), &name));
            }
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let mut f = link::META
                    .finding(
                        member.clone(),
                        format!(
                            "member is a {} to {target:?}",
                            if kind.is_symlink() {
                                "symbolic link"
                            } else {
                                "hard link"
                            }
                        ),
                    )
                    .with("target", target.clone());
                if escapes(&target) {
                    f = f.severity(modelgate_core::Severity::High);
                }
                cx.emit(f);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
            let size = usize::try_from(entry.size()).unwrap_or(usize::MAX);
            match start
                .checked_add(size)
                .and_then(|end| art.data.slice(start..end))
            {
                Some(blob) => cx.descend(member, blob),
                None => cx.emit(
                    unreadable::META
                        .finding(member, "member data runs past the end of the archive"),
                ),
            }
        }
    }
}
