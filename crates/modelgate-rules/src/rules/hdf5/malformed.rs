//! `HDF001` hdf5-malformed: The HDF5 structure cannot be read: bad superblock, object header, B-tree, heap, link or attribute, truncation, or a cycle

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "HDF001",
    name: "hdf5-malformed",
    family: "hdf5",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "The HDF5 structure cannot be read: bad superblock, object header, B-tree, heap, link or attribute, truncation, or a cycle",
    doc: include_str!("../../../../../docs/rules/HDF001.md"),
    references: &["CWE-20"],
    since: "0.1.0",
};
