//! `KRS005` keras-file-reference: A Keras layer reads a file at an absolute or parent path or a URL (lookup vocabularies, `get_file`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "KRS005",
    name: "keras-file-reference",
    family: "keras",
    kind: Kind::Policy,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "A Keras layer reads a file at an absolute or parent path or a URL (lookup vocabularies, `get_file`)",
    doc: include_str!("../../../../../docs/rules/KRS005.md"),
    references: &["CWE-22", "CWE-73"],
    since: "0.1.0",
};
