//! `TPL002` chat-template-gadget: A chat template walks attributes of Jinja gadget globals (`cycler`, `joiner`, `namespace`, `lipsum`, `self`, `config`, `request`) or uses dynamic attribute access

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL002",
    name: "chat-template-gadget",
    family: "template",
    kind: Kind::CodeExecution,
    severity: Severity::High,
    confidence: Confidence::Medium,
    summary: "A chat template walks attributes of Jinja gadget globals (`cycler`, `joiner`, `namespace`, `lipsum`, `self`, `config`, `request`) or uses dynamic attribute access",
    doc: include_str!("../../../../../docs/rules/TPL002.md"),
    references: &["CWE-1336", "CVE-2024-34359"],
    since: "0.1.0",
};
