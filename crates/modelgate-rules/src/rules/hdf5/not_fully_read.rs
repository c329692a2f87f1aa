//! `HDF002` hdf5-not-fully-read: Part of an HDF5 file was not analysed: a budget was hit, or it uses a structure this reader does not implement (user-defined links, virtual datasets, chunk filters other than deflate/shuffle/Fletcher-32, paged chunk indexes)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "HDF002",
    name: "hdf5-not-fully-read",
    family: "hdf5",
    kind: Kind::Budget,
    severity: Severity::Low,
    confidence: Confidence::High,
    summary: "Part of an HDF5 file was not analysed: a budget was hit, or it uses a structure this reader does not implement (user-defined links, virtual datasets, chunk filters other than deflate/shuffle/Fletcher-32, paged chunk indexes)",
    doc: include_str!("../../../../../docs/rules/HDF002.md"),
    references: &["CWE-400"],
    since: "0.1.0",
};
