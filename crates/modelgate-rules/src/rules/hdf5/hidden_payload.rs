//! `HDF003` hdf5-hidden-payload: An HDF5 attribute, a byte/string dataset or the user block before the superblock holds another model or code format (pickle, zip, archive), raw or base64/hex encoded

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "HDF003",
    name: "hdf5-hidden-payload",
    family: "hdf5",
    kind: Kind::Integrity,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "An HDF5 attribute, a byte/string dataset or the user block before the superblock holds another model or code format (pickle, zip, archive), raw or base64/hex encoded",
    doc: include_str!("../../../../../docs/rules/HDF003.md"),
    references: &["CWE-912", "CWE-502"],
    since: "0.1.0",
};
