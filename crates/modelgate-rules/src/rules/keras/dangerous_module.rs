//! `KRS002` keras-dangerous-module: A Keras config object's `module`, `class_name` or `registered_name` points at code-running modules (`os`, `subprocess`, `builtins`, ...)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "KRS002",
    name: "keras-dangerous-module",
    family: "keras",
    kind: Kind::CodeExecution,
    severity: Severity::Critical,
    confidence: Confidence::High,
    summary: "A Keras config object's `module`, `class_name` or `registered_name` points at code-running modules (`os`, `subprocess`, `builtins`, ...)",
    doc: include_str!("../../../../../docs/rules/KRS002.md"),
    references: &["CWE-502", "CWE-94", "CVE-2025-1550"],
    since: "0.1.0",
};
