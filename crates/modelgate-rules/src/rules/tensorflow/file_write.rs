//! `TFG003` tf-file-write: The graph writes files (`WriteFile`, summary writers, dataset snapshots)

use super::Path;
use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG003",
    name: "tf-file-write",
    family: "tensorflow",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::Medium,
    summary: "The graph writes files (`WriteFile`, summary writers, dataset snapshots)",
    doc: include_str!("../../../../../docs/rules/TFG003.md"),
    references: &["CWE-73", "CWE-22"],
    since: "0.1.0",
};

/// Ops that write the file named by their input or attribute.
pub const ALWAYS: &[(&str, Path)] = &[
    ("WriteFile", Path::Input(0)),
    ("CreateSummaryFileWriter", Path::Input(1)),
    ("CreateSummaryDbWriter", Path::Input(1)),
    ("SaveDataset", Path::Input(1)),
    ("SaveDatasetV2", Path::Input(1)),
];

/// Ops that write files in ordinary input pipelines: reported when their constant path
/// points outside the model.
pub const IF_PATH_ESCAPES: &[(&str, Path)] = &[
    ("CacheDataset", Path::Input(1)),
    ("CacheDatasetV2", Path::Input(1)),
    ("SnapshotDataset", Path::Input(1)),
    ("SnapshotDatasetV2", Path::Input(1)),
    ("ExperimentalSnapshotDataset", Path::Input(1)),
];
