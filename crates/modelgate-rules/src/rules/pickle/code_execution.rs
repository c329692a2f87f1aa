//! `PKL001` pickle-code-execution: the pickle calls a known code-execution callable on load.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL001",
    name: "pickle-code-execution",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::Critical,
    confidence: Confidence::High,
    summary: "Loading the pickle calls a known code-execution callable",
    doc: include_str!("../../../../../docs/rules/PKL001.md"),
    references: &["CWE-502", "AML.T0011.000", "CVE-2025-32434"],
    since: "0.1.0",
};
use super::explain::{explain, indicators};
use super::model::PickleModel;
use super::policy::Class;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for c in &m.calls {
        let (target, danger) = match c.class {
            Class::Dangerous(d) => (c.target_name().unwrap_or("?").to_string(), d),
            _ => match c.passed_callables.first() {
                Some((n, d)) => (n.clone(), *d),
                None => continue,
            },
        };
        let what = explain(&target, danger, &c.strings);
        let mut f = META
            .finding(m.at(c.offset), format!("loading calls {target}: {what}"))
            .with("call", c.rendered.clone())
            .with("effect", danger.describe())
            .with("opcode", format!("{}@{:#x}", c.eff.via.name(), c.offset));
        if !c.eff.through.is_empty() {
            f = f.with("through", c.eff.through.join(" -> "));
        }
        if c.class == Class::Unknown {
            f = f.with("passed-to", c.target_name().unwrap_or("?").to_string());
        }
        for (k, v) in indicators(&c.strings).evidence() {
            f = f.with(k, v);
        }
        out.push(f.help("Do not load this file. Get the model from its original publisher, or in safetensors format"));
    }
}
