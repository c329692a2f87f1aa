//! `TFL003` tflite-embedded-payload: A TFLite metadata buffer holds another code-capable format (pickle, archive, model)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFL003",
    name: "tflite-embedded-payload",
    family: "tensorflow",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A TFLite metadata buffer holds another code-capable format (pickle, archive, model)",
    doc: include_str!("../../../../../docs/rules/TFL003.md"),
    references: &["CWE-912", "CWE-502"],
    since: "0.1.0",
};
