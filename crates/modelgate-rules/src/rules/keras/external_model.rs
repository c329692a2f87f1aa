//! `KRS004` keras-external-model-layer: A Keras layer loads another model (`TFSMLayer` SavedModel, `TorchModuleWrapper` pickled PyTorch module)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "KRS004",
    name: "keras-external-model-layer",
    family: "keras",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "A Keras layer loads another model (`TFSMLayer` SavedModel, `TorchModuleWrapper` pickled PyTorch module)",
    doc: include_str!("../../../../../docs/rules/KRS004.md"),
    references: &["CWE-502", "CWE-829"],
    since: "0.1.0",
};
