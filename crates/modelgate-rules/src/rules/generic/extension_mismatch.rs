//! `GEN002` format-extension-mismatch: The content is a different format than the file name says

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GEN002",
    name: "format-extension-mismatch",
    family: "generic",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The content is a different format than the file name says",
    doc: include_str!("../../../../../docs/rules/GEN002.md"),
    references: &["CVE-2025-10155", "CVE-2025-1889"],
    since: "0.1.0",
};
