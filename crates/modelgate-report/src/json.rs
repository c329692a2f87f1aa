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
///
/// The entries of `files` are rendered in parallel (each file's object on its own, then
/// indented to its place) and spliced into the rest of the document; the bytes are exactly
/// those of pretty-printing the whole [`render`] document in one go (tested).
pub fn write(report: &Report, tool_version: &str, out: impl Write) -> io::Result<()> {
    use rayon::prelude::*;
    let files = report
        .files
        .par_iter()
        .map(render_file_entry)
        .collect::<io::Result<Vec<Vec<u8>>>>()?;
    let head = Head {
        errors: report.errors.iter().map(ErrorView::from).collect(),
        roots: &report.roots,
        schema_version: SCHEMA_VERSION,
        summary: Summary::of(report),
        tool: Tool {
            name: "modelgate",
            version: tool_version,
        },
    };
    let mut rest = Vec::with_capacity(1024);
    serde_json::to_writer_pretty(&mut rest, &head)?;
    // `files` sorts between `errors` and `roots`: splice it in before the `roots` member.
    const ROOTS: &[u8] = b"\n  \"roots\": ";
    let at = rest
        .windows(ROOTS.len())
        .position(|w| w == ROOTS)
        .ok_or_else(|| io::Error::other("JSON document without a roots member"))?;
    let (before, after) = rest.split_at(at);
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(before)?;
    out.write_all(b"\n  \"files\": ")?;
    if files.is_empty() {
        out.write_all(b"[]")?;
    } else {
        out.write_all(b"[")?;
        for (i, f) in files.iter().enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            out.write_all(f)?;
        }
        out.write_all(b"\n  ]")?;
    }
    out.write_all(b",")?;
    out.write_all(after)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Pretty-printing (two-space indent, `": "` after keys, as `to_writer_pretty`) that starts
/// `level` levels deep, so a `files` entry rendered on its own comes out exactly as it would
/// inside the whole document.
struct NestedPretty {
    level: usize,
    has_value: bool,
}

impl NestedPretty {
    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        // A newline and up to 31 levels of indentation in one write.
        const INDENT: &[u8; 63] =
            b"\n                                                              ";
        match INDENT.get(..1 + 2 * self.level) {
            Some(s) => w.write_all(s),
            None => {
                w.write_all(b"\n")?;
                for _ in 0..self.level {
                    w.write_all(b"  ")?;
                }
                Ok(())
            }
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.has_value {
            self.newline_indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline_indent(w)
    }
}

impl serde_json::ser::Formatter for NestedPretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// One `files` entry, rendered at its depth in the document (two levels).
fn render_file_entry(f: &FileReport) -> io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(1024);
    raw.extend_from_slice(b"    ");
    let fmt = NestedPretty {
        level: 2,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut raw, fmt);
    FileView::from(f).serialize(&mut ser)?;
    Ok(raw)
}

/// The document without `files` (written separately, see [`write`]).
#[derive(Serialize)]
struct Head<'a> {
    errors: Vec<ErrorView<'a>>,
    roots: &'a [String],
    schema_version: u32,
    summary: Summary,
    tool: Tool<'a>,
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

impl Summary {
    fn of(report: &Report) -> Self {
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
        Summary {
            clean: count(Verdict::Clean),
            errors: report.errors.len(),
            files: report.files.len(),
            findings_by_severity: by_sev,
            malformed: count(Verdict::Malformed),
            malicious: count(Verdict::Malicious),
            suspicious: count(Verdict::Suspicious),
        }
    }
}

impl<'a> Document<'a> {
    fn new(report: &'a Report, tool_version: &'a str) -> Self {
        Document {
            errors: report.errors.iter().map(ErrorView::from).collect(),
            files: report.files.iter().map(FileView::from).collect(),
            roots: &report.roots,
            schema_version: SCHEMA_VERSION,
            summary: Summary::of(report),
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

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_core::{Verdict, VirtualPath};

    fn file(path: &str, verdict: Verdict) -> FileReport {
        FileReport {
            path: path.into(),
            format: "pickle".into(),
            size: 3,
            verdict,
            can_execute_code: true,
            findings: vec![Finding {
                code: "PKL001".into(),
                rule: "pickle-code-execution".into(),
                severity: Severity::Critical,
                confidence: Confidence::High,
                kind: Kind::CodeExecution,
                message: "calls \"os.system\"".into(),
                location: VirtualPath::file(path).join("data.pkl").at(0x1f),
                evidence: vec![Evidence::new("call", "os.system('id')")],
                help: Some("do not load".into()),
            }],
            inventory: vec![Inventory {
                path: path.into(),
                format: "pickle".into(),
                size: 3,
                can_execute_code: true,
                imports: vec!["os.system".into()],
                notes: vec!["a \"quoted\"\nnote".into()],
            }],
            skipped: Vec::new(),
        }
    }

    #[test]
    fn spliced_output_equals_one_pretty_document() {
        for n in [0usize, 1, 3] {
            let mut report = Report {
                files: (0..n)
                    .map(|i| file(&format!("dir/f{i}\n.pkl"), Verdict::Clean))
                    .collect(),
                errors: vec![ScanError {
                    path: "missing".into(),
                    error: "no such file".into(),
                }],
                roots: vec!["dir".into(), "\"roots\": x".into()],
            };
            if n == 3 {
                report.errors.clear();
            }
            let mut got = Vec::new();
            write(&report, "1.2.3", &mut got).unwrap();
            let want = serde_json::to_string_pretty(&render(&report, "1.2.3")).unwrap() + "\n";
            assert_eq!(String::from_utf8(got).unwrap(), want, "{n} files");
        }
    }
}
