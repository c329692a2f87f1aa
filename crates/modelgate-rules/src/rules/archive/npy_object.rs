//! `NPY001` numpy-object-array: A NumPy array of Python objects: loading it unpickles its contents

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "NPY001",
    name: "numpy-object-array",
    family: "numpy",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A NumPy array of Python objects: loading it unpickles its contents",
    doc: include_str!("../../../../../docs/rules/NPY001.md"),
    references: &["CWE-502", "CVE-2019-6446"],
    since: "0.1.0",
};
