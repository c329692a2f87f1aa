//! Human output, grouped by file: verdict, findings with location, call, explanation and
//! indicators, and the inventory of what each file is.

use modelgate_core::{Report, Severity, Verdict};
use std::fmt::Write as _;

pub struct TextOptions {
    pub color: bool,
    /// Show inventory for clean files too.
    pub verbose: bool,
}

fn paint(on: bool, code: &str, s: &str) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Malicious => "1;31",
        Verdict::Suspicious => "33",
        Verdict::Malformed => "35",
        Verdict::Clean => "32",
    }
}

pub fn render(report: &Report, opts: &TextOptions) -> String {
    let mut out = String::new();
    let c = opts.color;
    for f in &report.files {
        let _ = writeln!(
            out,
            "{}  {}  ({}, {} bytes{})",
            paint(
                c,
                verdict_color(f.verdict),
                &format!("{:<10}", f.verdict.as_str().to_uppercase())
            ),
            paint(c, "1", &f.path),
            f.format,
            f.size,
            if f.can_execute_code {
                ", can run code on load"
            } else {
                ""
            }
        );
        for x in &f.findings {
            let _ = writeln!(
                out,
                "    {} {} {}  {}",
                paint(
                    c,
                    sev_color(x.severity),
                    &format!("{:<8}", x.severity.as_str())
                ),
                paint(c, "1", &x.code),
                x.location,
                x.message
            );
            for e in &x.evidence {
                let _ = writeln!(out, "        {:<12} {}", format!("{}:", e.key), e.value);
            }
            if let Some(h) = &x.help {
                let _ = writeln!(out, "        {:<12} {}", "fix:", h);
            }
        }
        let show_inventory = opts.verbose || f.findings.is_empty() || f.can_execute_code;
        if show_inventory {
            for inv in &f.inventory {
                if !opts.verbose && inv.imports.is_empty() && inv.notes.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "    {} {} [{}]",
                    paint(c, "2", "·"),
                    inv.path,
                    inv.format
                );
                if !inv.imports.is_empty() {
                    let _ = writeln!(out, "        imports: {}", inv.imports.join(", "));
                }
                for n in &inv.notes {
                    let _ = writeln!(out, "        note: {n}");
                }
            }
        }
        for s in &f.skipped {
            let _ = writeln!(out, "    skipped {}: {}", s.path, s.reason);
        }
    }
    for e in &report.errors {
        let _ = writeln!(
            out,
            "{}  {}: {}",
            paint(c, "1;31", "ERROR     "),
            e.path,
            e.error
        );
    }
    let n = |v: Verdict| report.files.iter().filter(|f| f.verdict == v).count();
    let _ = writeln!(
        out,
        "\n{} file(s): {} malicious, {} suspicious, {} malformed, {} clean; {} finding(s); {} error(s)",
        report.files.len(),
        n(Verdict::Malicious),
        n(Verdict::Suspicious),
        n(Verdict::Malformed),
        n(Verdict::Clean),
        report.findings().count(),
        report.errors.len()
    );
    out
}
