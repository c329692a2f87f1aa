//! `STN002` safetensors-invalid-tensor: A safetensors tensor is invalid: unknown dtype, shape times dtype size differs from its byte range, offsets out of bounds or overlapping

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "STN002",
    name: "safetensors-invalid-tensor",
    family: "safetensors",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A safetensors tensor is invalid: unknown dtype, shape times dtype size differs from its byte range, offsets out of bounds or overlapping",
    doc: include_str!("../../../../../docs/rules/STN002.md"),
    references: &["CWE-20", "CWE-125"],
    since: "0.1.0",
};
