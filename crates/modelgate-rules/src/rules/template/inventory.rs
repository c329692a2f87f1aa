//! `TPL006` chat-template-inventory: What a chat template uses: statements, filters, tests, globals and methods (information)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL006",
    name: "chat-template-inventory",
    family: "template",
    kind: Kind::Info,
    severity: Severity::Info,
    confidence: Confidence::High,
    summary: "What a chat template uses: statements, filters, tests, globals and methods (information)",
    doc: include_str!("../../../../../docs/rules/TPL006.md"),
    references: &[],
    since: "0.1.0",
};
