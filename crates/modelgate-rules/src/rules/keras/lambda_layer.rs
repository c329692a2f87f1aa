//! `KRS001` keras-lambda-layer: A Keras model config contains a `Lambda` layer: serialized Python bytecode that runs when the model is loaded or called

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "KRS001",
    name: "keras-lambda-layer",
    family: "keras",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A Keras model config contains a `Lambda` layer: serialized Python bytecode that runs when the model is loaded or called",
    doc: include_str!("../../../../../docs/rules/KRS001.md"),
    references: &["CWE-502", "CWE-94", "CVE-2024-3660"],
    since: "0.1.0",
};
