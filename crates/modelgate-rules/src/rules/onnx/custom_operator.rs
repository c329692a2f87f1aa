//! `ONX001` onnx-custom-operator: operators from domains outside the ONNX standard.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ONX001",
    name: "onnx-custom-operator",
    family: "onnx",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "The model uses operators from a non-standard domain (custom ops load native code)",
    doc: include_str!("../../../../../docs/rules/ONX001.md"),
    references: &["CWE-829"],
    since: "0.1.0",
};
