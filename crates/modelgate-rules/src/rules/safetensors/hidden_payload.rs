//! `STN004` safetensors-hidden-payload: A safetensors `__metadata__` value or unaccounted byte range holds another model or code format (pickle, zip, archive)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "STN004",
    name: "safetensors-hidden-payload",
    family: "safetensors",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A safetensors `__metadata__` value or unaccounted byte range holds another model or code format (pickle, zip, archive)",
    doc: include_str!("../../../../../docs/rules/STN004.md"),
    references: &["CWE-912", "CWE-502"],
    since: "0.1.0",
};
