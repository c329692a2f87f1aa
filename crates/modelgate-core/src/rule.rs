//! Rule metadata: a stable code, a name, a family, defaults and the rule's documentation.

use crate::finding::{Confidence, Kind, Severity};
use serde::Serialize;

/// Everything known about a rule before it runs. One `const` per rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleMeta {
    /// Stable code: three upper-case letters and three digits (`PKL001`). Never reused.
    pub code: &'static str,
    /// Kebab-case name describing the problem (`pickle-code-execution`).
    pub name: &'static str,
    /// Family, e.g. `pickle`, `zip`, `generic`.
    pub family: &'static str,
    pub kind: Kind,
    pub severity: Severity,
    pub confidence: Confidence,
    /// One-line summary.
    pub summary: &'static str,
    /// The rule's documentation page (Markdown): what it detects, why it matters, example,
    /// false positives, remediation, references.
    #[serde(skip)]
    pub doc: &'static str,
    /// CVE / CWE / MITRE ATLAS identifiers and links.
    pub references: &'static [&'static str],
    /// Version that introduced the rule.
    pub since: &'static str,
}

impl RuleMeta {
    /// A finding of this rule with its default severity, confidence and kind.
    pub fn finding(
        &self,
        location: crate::location::VirtualPath,
        message: impl Into<String>,
    ) -> crate::finding::Finding {
        crate::finding::Finding {
            code: self.code.to_string(),
            rule: self.name.to_string(),
            severity: self.severity,
            confidence: self.confidence,
            kind: self.kind,
            message: message.into(),
            location,
            evidence: Vec::new(),
            help: None,
        }
    }
}
