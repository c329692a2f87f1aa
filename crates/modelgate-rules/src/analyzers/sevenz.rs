//! 7z archives are recognised but not unpacked in this version: reported, never passed.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::archive::unreadable;
use modelgate_core::FormatId;

pub struct SevenZAnalyzer;

impl Analyzer for SevenZAnalyzer {
    fn id(&self) -> &'static str {
        "7z"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::SevenZ
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        cx.emit(
            unreadable::META
                .finding(
                    art.path.clone(),
                    "7z archive: this version does not unpack 7z, so its contents were not scanned",
                )
                .help("Unpack it yourself and scan the contents before loading anything from it"),
        );
    }
}
