//! `STN001` safetensors-malformed-header: The safetensors header cannot be read or is ill-formed (length, UTF-8, JSON, duplicate keys, metadata types)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "STN001",
    name: "safetensors-malformed-header",
    family: "safetensors",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The safetensors header cannot be read or is ill-formed (length, UTF-8, JSON, duplicate keys, metadata types)",
    doc: include_str!("../../../../../docs/rules/STN001.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
