//! `TPL004` chat-template-unparseable: A chat template is not valid Jinja2 or exceeds the parser's limits, so it could not be checked as a syntax tree

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL004",
    name: "chat-template-unparseable",
    family: "template",
    kind: Kind::Malformed,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A chat template is not valid Jinja2 or exceeds the parser's limits, so it could not be checked as a syntax tree",
    doc: include_str!("../../../../../docs/rules/TPL004.md"),
    references: &["CWE-1336"],
    since: "0.1.0",
};
