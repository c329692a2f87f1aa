//! `ZIP005` zip-prepended-data: Data precedes the zip archive (polyglot or self-extractor)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ZIP005",
    name: "zip-prepended-data",
    family: "zip",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "Data precedes the zip archive (polyglot or self-extractor)",
    doc: include_str!("../../../../../docs/rules/ZIP005.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
