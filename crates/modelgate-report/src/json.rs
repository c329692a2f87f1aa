//! The stable JSON document (`--format json`). Schema: `docs/json-schema.md`.
//!
//! The document is serialised straight from borrowed views of the report (no intermediate
//! `serde_json::Value` tree): thousands of files render in a few milliseconds. Object keys
//! are written in sorted order so the bytes are stable.

use modelgate_core::{
    Confidence, Evidence, FileReport, Finding, Inventory, Kind, Report, ScanError, Severity,
    Skipped, Verdict,
};
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};

/// Version of the JSON document layout; bumped on any breaking change.
pub const SCHEMA_VERSION: u32 = 1;

/// The document as a `serde_json::Value` (for callers that embed or inspect it).
pub fn render(report: &Report, tool_version: &str) -> Value {
    serde_json::to_value(Document::new(report, tool_version)).unwrap_or(Value::Null)
}

/// Write the pretty-printed document, followed by a newline, to `out`.
pub fn write(report: &Report, tool_version: &str, out: impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &Document::new(report, tool_version))?;
    out.write_all(b"\n")?;
    out.flush()
}

#[derive(Serialize)]
struct Document<'a> {
    errors: Vec<ErrorView<'a>>,
    files: Vec<FileView<'a>>,
    roots: &'a [String],
    schema_version: u32,
    summary: Summary,
    tool: Tool<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary {
    clean: usize,
    errors: usize,
    files: usize,
    findings_by_severity: BySeverity,
    malformed: usize,
    malicious: usize,
    suspicious: usize,
}

#[derive(Serialize, Default)]
struct BySeverity {
    critical: usize,
    high: usize,
    info: usize,
    low: usize,
    medium: usize,
}

#[derive(Serialize)]
struct FileView<'a> {
    can_execute_code: bool,
    findings: Vec<FindingView<'a>>,
    format: &'a str,
    inventory: Vec<InventoryView<'a>>,
    path: &'a str,
    size: u64,
    skipped: Vec<SkippedView<'a>>,
    verdict: Verdict,
}

#[derive(Serialize)]
struct FindingView<'a> {
    code: &'a str,
    confidence: Confidence,
    evidence: Vec<EvidenceView<'a>>,
    fingerprint: String,
    help: Option<&'a str>,
    kind: Kind,
    location: String,
    message: &'a str,
    rule: &'a str,
    severity: Severity,
}

#[derive(Serialize)]
struct EvidenceView<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct InventoryView<'a> {
    can_execute_code: bool,
    format: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    imports: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    path: &'a str,
    size: u64,
}

#[derive(Serialize)]
struct SkippedView<'a> {
    path: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct ErrorView<'a> {
    error: &'a str,
    path: &'a str,
}

impl<'a> Document<'a> {
    fn new(report: &'a Report, tool_version: &'a str) -> Self {
        let count = |v: Verdict| report.files.iter().filter(|f| f.verdict == v).count();
        let mut by_sev = BySeverity::default();
        for f in report.findings() {
            let slot = match f.severity {
                Severity::Critical => &mut by_sev.critical,
                Severity::High => &mut by_sev.high,
                Severity::Medium => &mut by_sev.medium,
                Severity::Low => &mut by_sev.low,
                Severity::Info => &mut by_sev.info,
            };
            *slot += 1;
        }
        Document {
            errors: report.errors.iter().map(ErrorView::from).collect(),
            files: report.files.iter().map(FileView::from).collect(),
            roots: &report.roots,
            schema_version: SCHEMA_VERSION,
            summary: Summary {
                clean: count(Verdict::Clean),
                errors: report.errors.len(),
                files: report.files.len(),
                findings_by_severity: by_sev,
                malformed: count(Verdict::Malformed),
                malicious: count(Verdict::Malicious),
                suspicious: count(Verdict::Suspicious),
            },
            tool: Tool {
                name: "modelgate",
                version: tool_version,
            },
        }
    }
}

impl<'a> From<&'a FileReport> for FileView<'a> {
    fn from(f: &'a FileReport) -> Self {
        FileView {
            can_execute_code: f.can_execute_code,
            findings: f.findings.iter().map(FindingView::from).collect(),
            format: &f.format,
            inventory: f.inventory.iter().map(InventoryView::from).collect(),
            path: &f.path,
            size: f.size,
            skipped: f.skipped.iter().map(SkippedView::from).collect(),
            verdict: f.verdict,
        }
    }
}

impl<'a> From<&'a Finding> for FindingView<'a> {
    fn from(x: &'a Finding) -> Self {
        FindingView {
            code: &x.code,
            confidence: x.confidence,
            evidence: x.evidence.iter().map(EvidenceView::from).collect(),
            fingerprint: x.fingerprint(),
            help: x.help.as_deref(),
            kind: x.kind,
            location: x.location.to_string(),
            message: &x.message,
            rule: &x.rule,
            severity: x.severity,
        }
    }
}

impl<'a> From<&'a Evidence> for EvidenceView<'a> {
    fn from(e: &'a Evidence) -> Self {
        EvidenceView {
            key: &e.key,
            value: &e.value,
        }
    }
}

impl<'a> From<&'a Inventory> for InventoryView<'a> {
    fn from(i: &'a Inventory) -> Self {
        InventoryView {
            can_execute_code: i.can_execute_code,
            format: &i.format,
            imports: &i.imports,
            notes: &i.notes,
            path: &i.path,
            size: i.size,
        }
    }
}

impl<'a> From<&'a Skipped> for SkippedView<'a> {
    fn from(s: &'a Skipped) -> Self {
        SkippedView {
            path: &s.path,
            reason: &s.reason,
        }
    }
}

impl<'a> From<&'a ScanError> for ErrorView<'a> {
    fn from(e: &'a ScanError) -> Self {
        ErrorView {
            error: &e.error,
            path: &e.path,
        }
    }
}
