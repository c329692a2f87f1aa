//! `GEN003` budget-exceeded: A resource budget was hit; part of the artifact was not analysed

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "GEN003",
    name: "budget-exceeded",
    family: "generic",
    kind: Kind::Budget,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A resource budget was hit; part of the artifact was not analysed",
    doc: include_str!("../../../../../docs/rules/GEN003.md"),
    references: &["CWE-400", "CWE-409"],
    since: "0.1.0",
};

/// A container had more members than the budget allows.
pub fn too_many_members(
    path: modelgate_core::VirtualPath,
    limit: usize,
) -> modelgate_core::Finding {
    META.finding(
        path,
        format!("more than {limit} members; the rest were not analysed"),
    )
    .with("budget", "max_members")
}
