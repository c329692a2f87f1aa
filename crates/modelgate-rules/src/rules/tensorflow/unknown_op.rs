//! `TFG007` tf-unknown-op: The graph uses ops stock TensorFlow does not register (custom ops load native code)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG007",
    name: "tf-unknown-op",
    family: "tensorflow",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "The graph uses ops stock TensorFlow does not register (custom ops load native code)",
    doc: include_str!("../../../../../docs/rules/TFG007.md"),
    references: &["CWE-829"],
    since: "0.1.0",
};
