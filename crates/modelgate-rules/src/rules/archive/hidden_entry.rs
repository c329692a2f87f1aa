//! `ZIP004` zip-hidden-entry: A local zip header is not listed in the central directory

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ZIP004",
    name: "zip-hidden-entry",
    family: "zip",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::Medium,
    summary: "A local zip header is not listed in the central directory",
    doc: include_str!("../../../../../docs/rules/ZIP004.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
