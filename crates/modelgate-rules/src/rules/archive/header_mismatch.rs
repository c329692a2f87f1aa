//! `ZIP001` zip-header-mismatch: Local and central zip headers disagree (scanner/loader parser differential)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ZIP001",
    name: "zip-header-mismatch",
    family: "zip",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "Local and central zip headers disagree (scanner/loader parser differential)",
    doc: include_str!("../../../../../docs/rules/ZIP001.md"),
    references: &["CVE-2025-1944", "CVE-2025-1945", "CWE-436"],
    since: "0.1.0",
};
