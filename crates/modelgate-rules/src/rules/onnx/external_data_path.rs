//! `ONX002` onnx-external-data-path: external tensor data pointing outside the model directory.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "ONX002",
    name: "onnx-external-data-path",
    family: "onnx",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "External tensor data points outside the model directory (absolute path or ..)",
    doc: include_str!("../../../../../docs/rules/ONX002.md"),
    references: &["CWE-22", "CVE-2024-27318", "CVE-2022-25882"],
    since: "0.1.0",
};
