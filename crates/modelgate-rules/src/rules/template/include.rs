//! `TPL005` chat-template-include: A chat template pulls in other templates (`include`, `import`, `from ... import`, `extends`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL005",
    name: "chat-template-include",
    family: "template",
    kind: Kind::Policy,
    severity: Severity::Medium,
    confidence: Confidence::High,
    summary: "A chat template pulls in other templates (`include`, `import`, `from ... import`, `extends`)",
    doc: include_str!("../../../../../docs/rules/TPL005.md"),
    references: &["CWE-1336", "CWE-73"],
    since: "0.1.0",
};
