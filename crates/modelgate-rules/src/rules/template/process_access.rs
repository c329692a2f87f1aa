//! `TPL003` chat-template-process-access: A chat template names process or import machinery (`os`, `subprocess`, `popen`, `system`, `eval`, `exec`, `__import__`, `importlib`)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TPL003",
    name: "chat-template-process-access",
    family: "template",
    kind: Kind::CodeExecution,
    severity: Severity::Critical,
    confidence: Confidence::High,
    summary: "A chat template names process or import machinery (`os`, `subprocess`, `popen`, `system`, `eval`, `exec`, `__import__`, `importlib`)",
    doc: include_str!("../../../../../docs/rules/TPL003.md"),
    references: &["CWE-1336", "CWE-78", "CVE-2024-34359"],
    since: "0.1.0",
};
