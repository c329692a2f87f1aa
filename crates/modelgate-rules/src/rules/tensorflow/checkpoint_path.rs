//! `TFG004` tf-checkpoint-path: A checkpoint op saves or restores at a constant path outside the model (absolute or `..`)

use super::Path;
use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG004",
    name: "tf-checkpoint-path",
    family: "tensorflow",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A checkpoint op saves or restores at a constant path outside the model (absolute or `..`)",
    doc: include_str!("../../../../../docs/rules/TFG004.md"),
    references: &["CWE-22", "CWE-73"],
    since: "0.1.0",
};

/// Checkpoint ops and the input that names the checkpoint. Every SavedModel has a saver
/// fed by a placeholder (not reported); a constant path outside the model is.
pub const OPS: &[(&str, Path)] = &[
    ("Save", Path::Input(0)),
    ("SaveV2", Path::Input(0)),
    ("SaveSlices", Path::Input(0)),
    ("Restore", Path::Input(0)),
    ("RestoreV2", Path::Input(0)),
    ("RestoreSlice", Path::Input(0)),
    ("MergeV2Checkpoints", Path::Input(0)),
    ("MergeV2Checkpoints", Path::Input(1)),
];
