//! `PKL003` pickle-dangerous-import: a known code-execution global is imported but not visibly called.

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL003",
    name: "pickle-dangerous-import",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::High,
    summary: "The pickle imports a known code-execution global",
    doc: include_str!("../../../../../docs/rules/PKL003.md"),
    references: &["CWE-502"],
    since: "0.1.0",
};
use super::model::PickleModel;
use super::policy::Class;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for i in &m.imports {
        let Class::Dangerous(d) = i.class else {
            continue;
        };
        if i.called {
            continue; // PKL001 reports the call
        }
        out.push(
            META.finding(
                m.at(i.offset),
                format!("the pickle imports {}, which {}", i.full, d.describe()),
            )
            .with("import", i.full.clone())
            .with("opcode", format!("{}@{:#x}", i.via.name(), i.offset))
            .help("A model file has no reason to reference this; treat the file as hostile"),
        );
    }
}
