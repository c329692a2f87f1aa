//! `TFL002` tflite-flex-op: The TFLite model runs TensorFlow ops through the Flex delegate (select TF ops)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFL002",
    name: "tflite-flex-op",
    family: "tensorflow",
    kind: Kind::Info,
    severity: Severity::Info,
    confidence: Confidence::High,
    summary: "The TFLite model runs TensorFlow ops through the Flex delegate (select TF ops)",
    doc: include_str!("../../../../../docs/rules/TFL002.md"),
    references: &[],
    since: "0.1.0",
};
