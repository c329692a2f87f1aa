//! `ARC002` archive-link: An archive member is a symbolic or hard link

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ARC002",
    name: "archive-link",
    family: "archive",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "An archive member is a symbolic or hard link",
    doc: include_str!("../../../../../docs/rules/ARC002.md"),
    references: &["CWE-59", "CWE-61"],
    since: "0.1.0",
};
