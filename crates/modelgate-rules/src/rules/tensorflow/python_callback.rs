//! `TFG001` tf-python-callback: The graph calls back into Python (`PyFunc`, `PyFuncStateless`, `EagerPyFunc`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFG001",
    name: "tf-python-callback",
    family: "tensorflow",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::Medium,
    summary: "The graph calls back into Python (`PyFunc`, `PyFuncStateless`, `EagerPyFunc`)",
    doc: include_str!("../../../../../docs/rules/TFG001.md"),
    references: &["CWE-94", "AML.T0010"],
    since: "0.1.0",
};

/// Ops that call a Python function registered in the loading process (`tf.py_function`,
/// `tf.numpy_function`, `tf.compat.v1.py_func`).
pub const OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];
