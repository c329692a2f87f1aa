//! `TFG008` tf-asset-path: A SavedModel asset file name points outside the `assets/` directory (absolute or `..`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG008",
    name: "tf-asset-path",
    family: "tensorflow",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A SavedModel asset file name points outside the `assets/` directory (absolute or `..`)",
    doc: include_str!("../../../../../docs/rules/TFG008.md"),
    references: &["CWE-22"],
    since: "0.1.0",
};
