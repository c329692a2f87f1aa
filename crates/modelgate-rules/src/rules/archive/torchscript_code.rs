//! `TCH001` torchscript-code: "CWE-94"

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TCH001",
    name: "torchscript-code",
    family: "torch",
    kind: Kind::Info,
    severity: Severity::Info,
    confidence: Confidence::High,
    summary: "A TorchScript archive carries code that runs when the model runs",
    doc: include_str!("../../../../../docs/rules/TCH001.md"),
    references: &["CWE-94"],
    since: "0.1.0",
};
