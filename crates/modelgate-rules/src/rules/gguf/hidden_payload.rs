//! `GGF004` gguf-hidden-payload: A GGUF metadata string holds another model or code format (pickle, zip, archive), raw or base64/hex encoded

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GGF004",
    name: "gguf-hidden-payload",
    family: "gguf",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A GGUF metadata string holds another model or code format (pickle, zip, archive), raw or base64/hex encoded",
    doc: include_str!("../../../../../docs/rules/GGF004.md"),
    references: &["CWE-912", "CWE-502"],
    since: "0.1.0",
};
