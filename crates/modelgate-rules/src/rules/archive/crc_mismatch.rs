//! `ZIP002` zip-crc-mismatch: A zip member's CRC does not match its data (PyTorch loads it anyway)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ZIP002",
    name: "zip-crc-mismatch",
    family: "zip",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A zip member's CRC does not match its data (PyTorch loads it anyway)",
    doc: include_str!("../../../../../docs/rules/ZIP002.md"),
    references: &["CVE-2025-10156", "CWE-354"],
    since: "0.1.0",
};
