//! `HDF002` hdf5-not-fully-read: Part of an HDF5 file was not analysed: a budget was hit, or it uses storage this reader does not implement (dense links or attributes, shared messages)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "HDF002",
    name: "hdf5-not-fully-read",
    family: "hdf5",
    kind: Kind::Budget,
    severity: Severity::Low,
    confidence: Confidence::High,
    summary: "Part of an HDF5 file was not analysed: a budget was hit, or it uses storage this reader does not implement (dense links or attributes, shared messages)",
    doc: include_str!("../../../../../docs/rules/HDF002.md"),
    references: &["CWE-400"],
    since: "0.1.0",
};
