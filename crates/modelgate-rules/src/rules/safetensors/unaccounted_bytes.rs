//! `STN003` safetensors-unaccounted-bytes: Bytes of a safetensors file belong to no tensor: gaps between tensors, trailing data or non-whitespace after the header JSON

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "STN003",
    name: "safetensors-unaccounted-bytes",
    family: "safetensors",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "Bytes of a safetensors file belong to no tensor: gaps between tensors, trailing data or non-whitespace after the header JSON",
    doc: include_str!("../../../../../docs/rules/STN003.md"),
    references: &["CWE-912"],
    since: "0.1.0",
};
