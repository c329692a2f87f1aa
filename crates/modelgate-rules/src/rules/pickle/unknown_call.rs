//! `PKL002` pickle-unknown-call: the pickle calls something that is neither known-safe nor known-dangerous.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL002",
    name: "pickle-unknown-call",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "Loading the pickle calls a callable outside the known-safe set",
    doc: include_str!("../../../../../docs/rules/PKL002.md"),
    references: &["CWE-502"],
    since: "0.1.0",
};
use super::model::{INDIRECTION, PickleModel};
use super::policy::Class;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for c in &m.calls {
        if c.class != Class::Unknown || !c.passed_callables.is_empty() || c.is_reconstruction() {
            continue;
        }
        let name = c.target_name();
        if name.is_some_and(|n| INDIRECTION.contains(&n)) {
            continue; // reported by PKL004
        }
        // An unresolvable callee that is itself a call result is reported by PKL004 too.
        if name.is_none() && !c.eff.through.is_empty() {
            continue;
        }
        let shown = name.unwrap_or("an unresolved callable");
        out.push(
            META.finding(m.at(c.offset), format!("loading calls {shown}, which is not on the allowlist of globals model files need"))
                .with("call", c.rendered.clone())
                .with("opcode", format!("{}@{:#x}", c.eff.via.name(), c.offset))
                .help("Review the callable's code before loading, or convert the model to safetensors with `modelgate convert`"),
        );
    }
}
