//! `PKL007` pickle-frame-mismatch: a FRAME length disagrees with the opcodes it frames.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL007",
    name: "pickle-frame-mismatch",
    family: "pickle",
    kind: Kind::Integrity,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "A FRAME's declared length disagrees with its contents (parser differential)",
    doc: include_str!("../../../../../docs/rules/PKL007.md"),
    references: &["CWE-436"],
    since: "0.1.0",
};
use super::model::PickleModel;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for fi in &m.program.frame_issues {
        out.push(
            META.finding(m.at(fi.offset), format!("FRAME declares {} bytes but the opcodes up to the next frame boundary take {}", fi.declared, fi.actual))
                .with("declared", fi.declared.to_string())
                .with("actual", fi.actual.to_string())
                .help("Pickle writers never produce this; tools that honour frame lengths and tools that do not see different opcodes"),
        );
    }
}
