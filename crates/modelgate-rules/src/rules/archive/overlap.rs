//! `ZIP003` zip-overlapping-or-duplicate-entries: Zip members overlap or share a name (different tools see different files)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ZIP003",
    name: "zip-overlapping-or-duplicate-entries",
    family: "zip",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "Zip members overlap or share a name (different tools see different files)",
    doc: include_str!("../../../../../docs/rules/ZIP003.md"),
    references: &["CWE-436", "CWE-409"],
    since: "0.1.0",
};
