//! `TFG002` tf-file-read: The graph reads files (`ReadFile`, `MatchingFiles`, ...), or reads from a constant path outside the model

use super::Path;
use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG002",
    name: "tf-file-read",
    family: "tensorflow",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "The graph reads files (`ReadFile`, `MatchingFiles`, ...), or reads from a constant path outside the model",
    doc: include_str!("../../../../../docs/rules/TFG002.md"),
    references: &["CWE-22", "CWE-200"],
    since: "0.1.0",
};

/// Ops that read a file named by their input (`tf.io.read_file`, `tf.io.matching_files`) or
/// attribute: reported wherever they appear.
pub const ALWAYS: &[(&str, Path)] = &[
    ("ReadFile", Path::Input(0)),
    ("MatchingFiles", Path::Input(0)),
    ("ImmutableConst", Path::Attr("memory_region_name")),
    ("LoadDataset", Path::Input(0)),
    ("MatchingFilesDataset", Path::Input(0)),
    ("ExperimentalLMDBDataset", Path::Input(0)),
    ("LMDBDataset", Path::Input(0)),
    ("LMDBReader", Path::None),
    ("WholeFileReader", Path::None),
    ("WholeFileReaderV2", Path::None),
    ("SqlDataset", Path::Input(1)),
    ("ExperimentalSqlDataset", Path::Input(1)),
];

/// Ops that read a file as part of ordinary model use (vocabulary tables, input pipelines):
/// reported only when the path is a constant outside the model (absolute, `..`, `~`).
pub const IF_PATH_ESCAPES: &[(&str, Path)] = &[
    ("InitializeTableFromTextFile", Path::Input(1)),
    ("InitializeTableFromTextFileV2", Path::Input(1)),
    ("TextLineDataset", Path::Input(0)),
    ("TFRecordDataset", Path::Input(0)),
    ("TFRecordDatasetV2", Path::Input(0)),
    ("FixedLengthRecordDataset", Path::Input(0)),
    ("FixedLengthRecordDatasetV2", Path::Input(0)),
    ("CSVDataset", Path::Input(0)),
    ("CSVDatasetV2", Path::Input(0)),
    ("ExperimentalCSVDataset", Path::Input(0)),
];
