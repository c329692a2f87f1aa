//! `TFG005` tf-print-to-file: `PrintV2` or a debug op writes tensors to a file (`output_stream="file://..."`, `debug_urls`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG005",
    name: "tf-print-to-file",
    family: "tensorflow",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "`PrintV2` or a debug op writes tensors to a file (`output_stream=\"file://...\"`, `debug_urls`)",
    doc: include_str!("../../../../../docs/rules/TFG005.md"),
    references: &["CWE-532", "CWE-73"],
    since: "0.1.0",
};

/// `PrintV2.output_stream` values that are not files.
pub const STREAMS: &[&str] = &[
    "stderr",
    "stdout",
    "log(info)",
    "log(warning)",
    "log(error)",
];
