//! The result of a scan: per-file reports with verdicts, findings and inventory.

use crate::finding::{Finding, Kind, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Summary judgement of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clean,
    Malformed,
    Suspicious,
    Malicious,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Malformed => "malformed",
            Verdict::Suspicious => "suspicious",
            Verdict::Malicious => "malicious",
        }
    }

    /// The verdict a set of findings implies: any high/critical code-execution, backdoor or
    /// integrity finding is malicious; any other finding above info is suspicious, except
    /// malformations and budget hits alone, which make the file malformed.
    pub fn from_findings(findings: &[Finding]) -> Verdict {
        let mut v = Verdict::Clean;
        for f in findings {
            let this = match (f.kind, f.severity) {
                (_, Severity::Info) => Verdict::Clean,
                (Kind::Malformed | Kind::Budget, _) => Verdict::Malformed,
                // Low = worth a look, not an alarm: listed in the report, but a benign model
                // with only low findings (a k-NN graph, a vendor's custom TFLite op) is clean.
                (_, Severity::Low) => Verdict::Clean,
                (Kind::CodeExecution | Kind::Backdoor | Kind::Integrity, Severity::High)
                | (_, Severity::Critical) => Verdict::Malicious,
                _ => Verdict::Suspicious,
            };
            v = v.max(this);
        }
        v
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an artifact (a file or a member inside one) is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Virtual path of the artifact (`model.pt!archive/data.pkl`).
    pub path: String,
    /// Format name (`pickle`, `pytorch-zip`, ...).
    pub format: String,
    pub size: u64,
    /// Whether the usual loader of this format can run embedded code.
    pub can_execute_code: bool,
    /// Globals the pickle imports (`module.name`), sorted, deduplicated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Free-form notes (e.g. "pickle can run code on load; prefer safetensors").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Something that was deliberately not analysed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// A failure of the tool itself (I/O, permission), not a property of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    pub path: String,
    pub error: String,
}

/// Everything found in one file on disk (including everything nested inside it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    /// The path as reached from the scan argument.
    pub path: String,
    /// Format of the outermost artifact.
    pub format: String,
    pub size: u64,
    pub verdict: Verdict,
    /// Whether anything in the file can run code when loaded by its usual loader.
    pub can_execute_code: bool,
    pub findings: Vec<Finding>,
    /// The file and every member analysed inside it.
    pub inventory: Vec<Inventory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl FileReport {
    /// Highest severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// A whole scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub errors: Vec<ScanError>,
    /// Roots that were scanned (the arguments, or the discovered model caches).
    pub roots: Vec<String>,
}

impl Report {
    /// All findings of all files, in file order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| f.findings.iter())
    }

    pub fn max_severity(&self) -> Option<Severity> {
        self.findings().map(|f| f.severity).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Confidence;
    use crate::location::VirtualPath;

    fn f(kind: Kind, severity: Severity) -> Finding {
        Finding {
            code: "X".into(),
            rule: "x".into(),
            severity,
            confidence: Confidence::High,
            kind,
            message: String::new(),
            location: VirtualPath::file("a"),
            evidence: vec![],
            help: None,
        }
    }

    #[test]
    fn verdicts_from_findings() {
        assert_eq!(Verdict::from_findings(&[]), Verdict::Clean);
        assert_eq!(
            Verdict::from_findings(&[f(Kind::Info, Severity::Info)]),
            Verdict::Clean
        );
        assert_eq!(
            Verdict::from_findings(&[f(Kind::Malformed, Severity::Medium)]),
            Verdict::Malformed
        );
        // Low findings are listed but do not flag a file; low malformations still do.
        assert_eq!(
            Verdict::from_findings(&[f(Kind::Backdoor, Severity::Low)]),
            Verdict::Clean
        );
        assert_eq!(
            Verdict::from_findings(&[f(Kind::Malformed, Severity::Low)]),
            Verdict::Malformed
        );
        assert_eq!(
            Verdict::from_findings(&[
                f(Kind::Backdoor, Severity::Low),
                f(Kind::Policy, Severity::Medium)
            ]),
            Verdict::Suspicious
        );
        assert_eq!(
            Verdict::from_findings(&[
                f(Kind::Malformed, Severity::Medium),
                f(Kind::CodeExecution, Severity::Medium)
            ]),
            Verdict::Suspicious
        );
        assert_eq!(
            Verdict::from_findings(&[
                f(Kind::Malformed, Severity::Medium),
                f(Kind::CodeExecution, Severity::Critical)
            ]),
            Verdict::Malicious
        );
    }
}
