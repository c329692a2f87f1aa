//! `modelgate scan`: scan files and directories (or the local model caches) by content.

use anyhow::Context as _;
use clap::ValueEnum;
use modelgate_core::{Limits, Severity};
use modelgate_rules::{RULES, ScanOptions, default_model_caches, scan};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(clap::Args)]
pub struct Args {
    /// Files and directories to scan (recursively, every file, by content). Without paths,
    /// the local model caches that exist are scanned (Hugging Face, torch hub, Keras, Ollama, LM Studio).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit with 1 when a finding at or above this severity is present (info, low, medium, high, critical).
    #[arg(long, default_value = "medium", value_parser = parse_severity)]
    pub fail_on: Severity,
    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Show the inventory of every file, including clean ones.
    #[arg(long, short)]
    pub verbose: bool,
    /// No progress bar, no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Per-file time budget in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub timeout_ms: u64,
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?} (info, low, medium, high, critical)"))
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let paths = if args.paths.is_empty() {
        let caches = default_model_caches();
        if !args.quiet {
            if caches.is_empty() {
                eprintln!(
                    "modelgate: no local model caches found (looked for Hugging Face, torch hub, Keras, Ollama, LM Studio)"
                );
            } else {
                for c in &caches {
                    eprintln!("modelgate: scanning model cache {}", c.display());
                }
            }
        }
        caches
    } else {
        args.paths.clone()
    };
    let limits = Limits {
        max_millis_per_file: args.timeout_ms,
        ..Limits::default()
    };
    let mut opts = ScanOptions {
        limits,
        threads: args.threads,
        progress: None,
    };
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(0);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} scanning {pos}/{len} files {wide_bar} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
        let p = pb.clone();
        opts.progress = Some(Arc::new(move |done, total| {
            p.set_length(total as u64);
            p.set_position(done as u64);
        }));
        Some(pb)
    } else {
        None
    };
    let report = scan(&paths, &opts);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    let version = env!("CARGO_PKG_VERSION");
    let rendered = match args.format {
        Format::Text => {
            let color = args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            modelgate_report::text::render(
                &report,
                &modelgate_report::text::TextOptions {
                    color,
                    verbose: args.verbose,
                },
            )
            .into_bytes()
        }
        Format::Json => {
            let mut buf = Vec::with_capacity(report.files.len() * 768);
            modelgate_report::json::write(&report, version, &mut buf)?;
            buf
        }
        Format::Sarif => (serde_json::to_string_pretty(&modelgate_report::sarif::render(
            &report, RULES, version,
        ))? + "\n")
            .into_bytes(),
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, &rendered).with_context(|| format!("writing {}", p.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&rendered)?;
        }
    }
    let failing = report.findings().any(|f| f.severity >= args.fail_on);
    let code = if failing {
        1
    } else if !report.errors.is_empty() || (paths.is_empty() && !args.paths.is_empty()) {
        2
    } else {
        0
    };
    // The process exits right after this: freeing thousands of file reports one by one
    // would only delay the exit.
    std::mem::forget(report);
    std::mem::forget(rendered);
    Ok(code)
}
