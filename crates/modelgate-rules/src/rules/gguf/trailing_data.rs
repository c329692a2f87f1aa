//! `GGF003` gguf-trailing-data: Bytes after the last GGUF tensor belong to no tensor

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GGF003",
    name: "gguf-trailing-data",
    family: "gguf",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "Bytes after the last GGUF tensor belong to no tensor",
    doc: include_str!("../../../../../docs/rules/GGF003.md"),
    references: &["CWE-912"],
    since: "0.1.0",
};
