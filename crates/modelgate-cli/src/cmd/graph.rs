//! `modelgate graph explain|diff`: shadow-logic analysis of ONNX graphs.
//!
//! * `explain MODEL.onnx [--dot F] [--svg F] [--html F] [--full] [--json]` prints the findings
//!   and the suspicious subgraph; the drawings highlight the trigger path (red) and gate (orange).
//! * `diff REFERENCE.onnx CANDIDATE.onnx [--json]` is a weight-insensitive structural diff that
//!   re-runs the backdoor rules on what the candidate inserted.
//!
//! Exit codes: 0 nothing at/above `--fail-on` (default medium), 1 findings at/above it, 2 error.
//! External tensor data is never opened.

use anyhow::{Context, Result, bail};
use modelgate_graph::render::{self, RenderOptions};
use modelgate_graph::rules::Cx;
use modelgate_graph::{GraphLimits, Severity, diff};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: GraphCommand,
}

#[derive(clap::Subcommand)]
pub enum GraphCommand {
    /// Explain shadow-logic findings in an ONNX model and optionally draw its graph.
    Explain(ExplainArgs),
    /// Structural, weight-insensitive diff of a candidate against a known-good reference.
    Diff(DiffArgs),
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The ONNX model file.
    pub model: PathBuf,
    /// Write Graphviz DOT here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// Write an SVG drawing here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write a self-contained HTML report here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Draw the whole graph, not only the neighbourhood of the findings.
    #[arg(long)]
    pub full: bool,
    /// Most nodes to draw.
    #[arg(long, default_value_t = 400)]
    pub max_nodes: usize,
    /// Print the analysis as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Medium)]
    pub fail_on: FailOn,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The known-good reference model.
    pub reference: PathBuf,
    /// The model to check.
    pub candidate: PathBuf,
    /// Print the diff as JSON.
    #[arg(long)]
    pub json: bool,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Medium)]
    pub fail_on: FailOn,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

pub fn run(args: Args) -> Result<u8> {
    match args.command {
        GraphCommand::Explain(a) => explain(a),
        GraphCommand::Diff(a) => diff_cmd(a),
    }
}

fn read_model(path: &Path, limits: &GraphLimits) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > limits.onnx.max_bytes {
        bail!(
            "{} is {} bytes, over the {}-byte budget",
            path.display(),
            meta.len(),
            limits.onnx.max_bytes
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn emit(target: &Path, content: &str) -> Result<()> {
    if target.as_os_str() == "-" {
        std::io::stdout().write_all(content.as_bytes())?;
        Ok(())
    } else {
        std::fs::write(target, content)
            .with_context(|| format!("cannot write {}", target.display()))
    }
}

fn explain(a: ExplainArgs) -> Result<u8> {
    let limits = GraphLimits::default();
    let bytes = read_model(&a.model, &limits)?;
    // hand the buffer over: inline tensor data stays in it instead of being copied
    let model = modelgate_onnx::parse_bytes(modelgate_onnx::Bytes::from(bytes), &limits.onnx)
        .with_context(|| format!("{}", a.model.display()))?;
    let cx = Cx::new(&model, &limits).with_context(|| format!("{}", a.model.display()))?;
    let analysis = cx.analyze();
    let title = a.model.display().to_string();
    let opts = RenderOptions {
        full: a.full,
        max_nodes: a.max_nodes,
    };
    if let Some(p) = &a.dot {
        emit(p, &render::to_dot(&cx, &analysis, &opts))?;
    }
    if let Some(p) = &a.svg {
        emit(p, &render::to_svg(&cx, &analysis, &opts, &title))?;
    }
    if let Some(p) = &a.html {
        emit(p, &render::to_html(&cx, &analysis, &opts, &title))?;
    }
    let to_stdout = [&a.dot, &a.svg, &a.html]
        .iter()
        .any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&analysis)?);
    } else if !to_stdout {
        print!("{}", render::explain_text(&cx, &analysis, &title));
    }
    let threshold = a.fail_on.severity();
    Ok(u8::from(
        analysis.findings.iter().any(|f| f.severity >= threshold),
    ))
}

fn diff_cmd(a: DiffArgs) -> Result<u8> {
    let limits = GraphLimits::default();
    let r = read_model(&a.reference, &limits)?;
    let c = read_model(&a.candidate, &limits)?;
    let r = modelgate_onnx::parse_bytes(modelgate_onnx::Bytes::from(r), &limits.onnx)
        .with_context(|| format!("{}", a.reference.display()))?;
    let c = modelgate_onnx::parse_bytes(modelgate_onnx::Bytes::from(c), &limits.onnx)
        .with_context(|| format!("{}", a.candidate.display()))?;
    let report = diff::diff_models(&r, &c, &limits).context("graph diff failed")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "reference: {} ({} nodes)",
            a.reference.display(),
            report.reference_nodes
        );
        println!(
            "candidate: {} ({} nodes)",
            a.candidate.display(),
            report.candidate_nodes
        );
        if report.is_identical() {
            println!("  structurally identical (weights ignored)");
        } else {
            println!("  inserted: {}", report.inserted.len());
            for n in &report.inserted {
                println!("    + {} {} ({})", n.op_type, n.name, n.location);
            }
            println!("  removed: {}", report.removed.len());
            for n in &report.removed {
                println!("    - {} {} ({})", n.op_type, n.name, n.location);
            }
            println!("  rewired: {}", report.rewired.len());
            for (_, n) in &report.rewired {
                println!("    ~ {} {} ({})", n.op_type, n.name, n.location);
            }
        }
        println!(
            "  score: {:.3} ({})",
            report.score,
            report.severity.as_str()
        );
        for f in &report.findings {
            println!(
                "\n[{} {} {} {:.3}] {}",
                f.code,
                f.name,
                f.severity.as_str(),
                f.confidence,
                f.message
            );
            for (k, v) in &f.evidence {
                if !v.is_empty() {
                    println!("    {k}: {v}");
                }
            }
        }
    }
    let threshold = a.fail_on.severity();
    Ok(u8::from(
        report.findings.iter().any(|f| f.severity >= threshold),
    ))
}
