//! Findings: what a rule reports, with severity, confidence, kind and evidence.

use crate::location::VirtualPath;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a severity name (case-insensitive).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure the rule is that the finding is what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// Loading the artifact runs attacker-chosen code.
    CodeExecution,
    /// Hidden behaviour in the model (graph backdoor, trigger).
    Backdoor,
    /// Poisoned training data.
    Poisoning,
    /// The artifact disagrees with itself or with its signature (parser differentials, tampering).
    Integrity,
    /// The artifact could not be parsed completely.
    Malformed,
    /// A resource budget was hit; part of the artifact was not analysed.
    Budget,
    /// A policy decision (format not allowed, unsigned, ...).
    Policy,
    /// Information only.
    Info,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CodeExecution => "code-execution",
            Kind::Backdoor => "backdoor",
            Kind::Poisoning => "poisoning",
            Kind::Integrity => "integrity",
            Kind::Malformed => "malformed",
            Kind::Budget => "budget",
            Kind::Policy => "policy",
            Kind::Info => "info",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One structured piece of evidence: `call = os.system("id")`, `ioc = 203.0.113.7:4444`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    pub key: String,
    pub value: String,
}

impl Evidence {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Evidence {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A rule's report about one place in one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule code, e.g. `PKL001`.
    pub code: String,
    /// Kebab-case rule name, e.g. `pickle-code-execution`.
    pub rule: String,
    pub severity: Severity,
    pub confidence: Confidence,
    pub kind: Kind,
    /// One sentence, no trailing period.
    pub message: String,
    /// Where: `model.pt!archive/data.pkl@0x1f3`.
    pub location: VirtualPath,
    pub evidence: Vec<Evidence>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Finding {
    /// Add a piece of evidence.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.evidence.push(Evidence::new(key, value));
        self
    }

    /// Override the rule's default severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Override the rule's default confidence.
    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }

    /// Say what to do about it.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Value of the first evidence entry with `key`.
    pub fn evidence_value(&self, key: &str) -> Option<&str> {
        self.evidence
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// A stable fingerprint: rule code, location and the evidence, hashed. Used for
    /// baselines and SARIF `partialFingerprints`.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.code.as_bytes());
        h.update([0]);
        h.update(self.location.to_string().as_bytes());
        for e in &self.evidence {
            h.update([0]);
            h.update(e.key.as_bytes());
            h.update([1]);
            h.update(e.value.as_bytes());
        }
        let digest = h.finalize();
        hex::encode(&digest[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("nope"), None);
    }

    #[test]
    fn fingerprint_depends_on_evidence_and_location() {
        let mut f = Finding {
            code: "PKL001".into(),
            rule: "x".into(),
            severity: Severity::Critical,
            confidence: Confidence::High,
            kind: Kind::CodeExecution,
            message: "m".into(),
            location: VirtualPath::file("a.pkl"),
            evidence: vec![Evidence::new("call", "os.system('id')")],
            help: None,
        };
        let a = f.fingerprint();
        f.evidence[0].value = "os.system('ls')".into();
        assert_ne!(a, f.fingerprint());
        f.location = VirtualPath::file("b.pkl");
        let b = f.fingerprint();
        assert_ne!(a, b);
        assert_eq!(b, f.clone().fingerprint());
    }
}
