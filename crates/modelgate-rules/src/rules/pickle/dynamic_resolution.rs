//! `PKL004` pickle-dynamic-resolution: callables reached through getattr/import/resolve_name chains or computed names.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL004",
    name: "pickle-dynamic-resolution",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The pickle resolves what it calls dynamically (getattr, import_module, computed names)",
    doc: include_str!("../../../../../docs/rules/PKL004.md"),
    references: &["CWE-502", "GHSA-vvpj-8cmc-gx39"],
    since: "0.1.0",
};
use super::model::{INDIRECTION, PickleModel};
use super::policy::Class;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for i in &m.imports {
        if i.computed {
            out.push(
                META.finding(
                    m.at(i.offset),
                    format!(
                        "the global name {} is computed at load time instead of written literally",
                        i.full
                    ),
                )
                .with("import", i.full.clone())
                .with("opcode", format!("{}@{:#x}", i.via.name(), i.offset)),
            );
        }
    }
    for c in &m.calls {
        let name = c.target_name();
        let is_indirection_call = name.is_some_and(|n| {
            INDIRECTION.contains(&n) && n != "functools.partial" && n != "_functools.partial"
        });
        let via_indirection = !c.eff.through.is_empty();
        if !is_indirection_call && !via_indirection {
            continue;
        }
        let mut f = if is_indirection_call {
            META.finding(
                m.at(c.offset),
                format!(
                    "the pickle calls {} to reach another callable at load time",
                    name.unwrap_or("?")
                ),
            )
        } else {
            META.finding(
                m.at(c.offset),
                format!(
                    "the pickle reaches {} through {}",
                    name.unwrap_or("an unresolved callable"),
                    c.eff.through.join(" -> ")
                ),
            )
        };
        f = f
            .with("call", c.rendered.clone())
            .with("opcode", format!("{}@{:#x}", c.eff.via.name(), c.offset));
        if !is_indirection_call && c.class == Class::Safe {
            f = f.severity(Severity::Medium);
        }
        out.push(f.help("Legitimate model files reference their classes directly; indirection is an evasion technique"));
    }
}
