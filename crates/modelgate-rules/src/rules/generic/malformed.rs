//! `GEN001` file-malformed: The file or member could not be parsed completely

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GEN001",
    name: "file-malformed",
    family: "generic",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The file or member could not be parsed completely",
    doc: include_str!("../../../../../docs/rules/GEN001.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
