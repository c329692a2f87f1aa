//! `ARC001` archive-path-traversal: An archive member name escapes the extraction directory

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ARC001",
    name: "archive-path-traversal",
    family: "archive",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "An archive member name escapes the extraction directory",
    doc: include_str!("../../../../../docs/rules/ARC001.md"),
    references: &["CWE-22", "CWE-23"],
    since: "0.1.0",
};

/// The finding for a member whose name leaves the extraction directory.
pub fn member(path: modelgate_core::VirtualPath, name: &str) -> modelgate_core::Finding {
    META.finding(
        path,
        format!("member name {name:?} escapes the extraction directory"),
    )
    .with("name", name)
}
