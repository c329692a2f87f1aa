//! `GGF002` gguf-invalid-tensor: A GGUF tensor is invalid: too many dimensions, unknown type, misaligned or out-of-bounds offset, overlap, duplicate name

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GGF002",
    name: "gguf-invalid-tensor",
    family: "gguf",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A GGUF tensor is invalid: too many dimensions, unknown type, misaligned or out-of-bounds offset, overlap, duplicate name",
    doc: include_str!("../../../../../docs/rules/GGF002.md"),
    references: &["CWE-20", "CWE-125"],
    since: "0.1.0",
};
