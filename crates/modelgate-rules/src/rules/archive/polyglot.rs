//! `ARC004` format-polyglot: The file is valid as two different formats at once

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ARC004",
    name: "format-polyglot",
    family: "archive",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The file is valid as two different formats at once",
    doc: include_str!("../../../../../docs/rules/ARC004.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
