//! `GGF001` gguf-malformed: The GGUF header or metadata cannot be parsed within bounds (version, counts, string lengths, value types, alignment)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GGF001",
    name: "gguf-malformed",
    family: "gguf",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The GGUF header or metadata cannot be parsed within bounds (version, counts, string lengths, value types, alignment)",
    doc: include_str!("../../../../../docs/rules/GGF001.md"),
    references: &["CWE-20", "CWE-789"],
    since: "0.1.0",
};
