//! `PKL006` pickle-non-allowlisted-import: a global outside the allowlist is imported (class reconstruction, reference).

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "PKL006",
    name: "pickle-non-allowlisted-import",
    family: "pickle",
    kind: Kind::CodeExecution,
    severity: Severity::Low,
    confidence: Confidence::Medium,
    summary: "The pickle imports a global outside the allowlist of model-file globals",
    doc: include_str!("../../../../../docs/rules/PKL006.md"),
    references: &["CWE-502"],
    since: "0.1.0",
};
use super::model::{INDIRECTION, PickleModel};
use super::policy::Class;
use modelgate_core::Finding;

pub fn check(m: &PickleModel<'_>, out: &mut Vec<Finding>) {
    for i in &m.imports {
        if i.class != Class::Unknown || INDIRECTION.contains(&i.full.as_str()) {
            continue;
        }
        // Imports that are called with REDUCE/INST/OBJ are reported by PKL002.
        let called_directly = m
            .calls
            .iter()
            .any(|c| c.target_name() == Some(i.full.as_str()) && !c.is_reconstruction());
        if called_directly {
            continue;
        }
        out.push(
            META.finding(m.at(i.offset), format!("the pickle imports {}, which is not on the allowlist; loading needs that code and runs its import and __setstate__", i.full))
                .with("import", i.full.clone())
                .with("opcode", format!("{}@{:#x}", i.via.name(), i.offset)),
        );
    }
}
