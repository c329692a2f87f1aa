//! `GEN004` analyzer-crashed: An analyzer crashed on this input; it was not fully analysed

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GEN004",
    name: "analyzer-crashed",
    family: "generic",
    kind: Kind::Malformed,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "An analyzer crashed on this input; it was not fully analysed",
    doc: include_str!("../../../../../docs/rules/GEN004.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
