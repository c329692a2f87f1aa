//! `KRS003` keras-custom-object: A Keras config references objects from outside Keras (custom layers, losses, functions) that are imported from local code

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "KRS003",
    name: "keras-custom-object",
    family: "keras",
    kind: Kind::Policy,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "A Keras config references objects from outside Keras (custom layers, losses, functions) that are imported from local code",
    doc: include_str!("../../../../../docs/rules/KRS003.md"),
    references: &["CWE-829"],
    since: "0.1.0",
};
