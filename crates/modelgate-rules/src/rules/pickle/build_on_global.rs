//! `PKL010` pickle-build-on-global: BUILD or item assignment on a module, class or function (attribute injection).

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL010",
    name: "pickle-build-on-global",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The pickle sets attributes on a module, class or function (monkey-patching on load)",
    doc: include_str!("../../../../../docs/rules/PKL010.md"),
    references: &["CWE-502", "CWE-915"],
    since: "0.1.0",
};
use super::model::PickleModel;
use modelgate_core::Finding;
use modelgate_formats::pickle::Value;
use modelgate_formats::pickle::symbolic::EventKind;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    let values = &m.program.values;
    for ev in &m.program.events {
        let EventKind::Build { obj, state } = ev.kind else {
            continue;
        };
        let Value::Global { module, name } = values.get(obj) else {
            continue;
        };
        out.push(
            META.finding(m.at(ev.offset), format!("BUILD sets attributes on {module}.{name} itself, changing live code for everything loaded after it"))
                .with("target", format!("{module}.{name}"))
                .with("state", values.render(state, m.data)),
        );
    }
}
