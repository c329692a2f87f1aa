//! `TPL001` chat-template-dunder-access: A chat template reaches Python internals through dunder attributes (`__class__`, `__globals__`, `__builtins__`, `__subclasses__`, ...)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL001",
    name: "chat-template-dunder-access",
    family: "template",
    kind: Kind::CodeExecution,
    severity: Severity::Critical,
    confidence: Confidence::High,
    summary: "A chat template reaches Python internals through dunder attributes (`__class__`, `__globals__`, `__builtins__`, `__subclasses__`, ...)",
    doc: include_str!("../../../../../docs/rules/TPL001.md"),
    references: &["CWE-1336", "CVE-2024-34359"],
    since: "0.1.0",
};
