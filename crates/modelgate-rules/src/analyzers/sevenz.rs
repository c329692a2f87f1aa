//! 7z archives: every member is decompressed within the budgets (bytes, ratio, members,
//! decoder memory, time) and scanned by content; traversal in member names is reported.
//! Encrypted or damaged archives are reported as unreadable, never passed.

use crate::analyzers::tar::escapes;
use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::{path_traversal, unreadable};
use crate::rules::generic::budget_exceeded;
use modelgate_core::{Blob, FormatId};
use modelgate_formats::compress::{DecompressError, read_bounded};
use sevenz_rust2::{ArchiveReader, EntryDecision, Password};

/// Decoder memory (dictionaries, header buffers) allowed per archive, in KiB.
const DECODER_MEMORY_KB: usize = 256 * 1024;

pub struct SevenZAnalyzer;

impl Analyzer for SevenZAnalyzer {
    fn id(&self) -> &'static str {
        "7z"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::SevenZ
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let limits = cx.limits().clone();
        let archive_len = art.data.len();
        let source = std::io::Cursor::new(art.data.as_slice());
        let mut reader = match ArchiveReader::new_with_memory_limit(
            source,
            Password::empty(),
            DECODER_MEMORY_KB,
        ) {
            Ok(r) => r,
            Err(e) => {
                let what = format!("{e:?}");
                let msg = if what.contains("AES") || what.contains("Password") {
                    format!("7z archive is encrypted ({e}); its contents cannot be scanned")
                } else {
                    format!("7z archive could not be read: {e}")
                };
                cx.emit(unreadable(art, &msg));
                return;
            }
        };
        reader.set_thread_count(1);
        let mut members = 0usize;
        let walked = reader.for_each_entries_with_decision(|entry, data| {
            if entry.is_directory || !entry.has_stream {
                return Ok(EntryDecision::Continue);
            }
            if cx.out_of_time(&art.path) {
                return Ok(EntryDecision::Stop);
            }
            members += 1;
            if members > limits.max_members {
                cx.emit(budget_exceeded::too_many_members(
                    art.path.clone(),
                    limits.max_members,
                ));
                return Ok(EntryDecision::Stop);
            }
            let name = entry.name.clone();
            let member = art.path.join(name.clone());
            if escapes(&name) {
                cx.emit(path_traversal::member(member.clone(), &name));
            }
            match read_bounded(data, archive_len, limits.max_member_bytes, limits.max_ratio) {
                Ok(bytes) => {
                    if !cx.charge_expanded(&art.path, bytes.len() as u64) {
                        return Ok(EntryDecision::Stop);
                    }
                    cx.descend(member, Blob::from_vec(bytes));
                    Ok(EntryDecision::Continue)
                }
                Err(e @ (DecompressError::TooLarge { .. } | DecompressError::Ratio { .. })) => {
                    cx.emit(
                        budget_exceeded::META
                            .finding(member, format!("7z member {e}; it was not analysed"))
                            .with("budget", "decompression"),
                    );
                    // The rest of a solid block cannot be reached without decoding this one.
                    Ok(EntryDecision::SkipBlock)
                }
                Err(DecompressError::Corrupt(m)) => {
                    cx.emit(
                        unreadable::META
                            .finding(member, format!("7z member could not be decompressed: {m}")),
                    );
                    Ok(EntryDecision::SkipBlock)
                }
            }
        });
        if let Err(e) = walked {
            cx.emit(unreadable(
                art,
                &format!("7z archive is damaged or encrypted: {e}"),
            ));
        }
    }
}

fn unreadable(art: &Artifact, msg: &str) -> modelgate_core::Finding {
    unreadable::META
        .finding(art.path.clone(), msg)
        .help("Unpack it yourself and scan the contents before loading anything from it")
}
