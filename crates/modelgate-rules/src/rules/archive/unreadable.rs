//! `ARC003` archive-member-unreadable: An archive member could not be read (encrypted, unsupported or corrupt)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ARC003",
    name: "archive-member-unreadable",
    family: "archive",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "An archive member could not be read (encrypted, unsupported or corrupt)",
    doc: include_str!("../../../../../docs/rules/ARC003.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
