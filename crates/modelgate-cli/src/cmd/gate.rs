//! `modelgate gate PATH --policy policy.toml`: one command for CI and registries. Applies a
//! trust policy (trusted signers, allowed formats, maximum scan severity, allowed sources;
//! see docs/policy.md) and exits 0 when every check passes, 1 when one fails, 2 when the
//! policy or the model cannot be read.

use anyhow::{Context, bail};
use modelgate_sign::policy::{self, GateInput, Policy, ScanFinding, ScanSummary, ScannedFile};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model: a directory (or a Hugging Face cache snapshot) or a single file.
    path: PathBuf,
    /// The trust policy (TOML).
    #[arg(long)]
    policy: PathBuf,
    /// Signature bundles to use instead of the policy's list (repeatable).
    #[arg(long = "signature")]
    signatures: Vec<PathBuf>,
    /// Declared origin (`org/name` on the Hugging Face hub) when the path is not in the hub
    /// cache layout.
    #[arg(long)]
    origin: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

/// Reduce the scan engine's report to what the policy looks at.
fn summarize(report: &modelgate_core::Report) -> ScanSummary {
    let sev = |s: modelgate_core::Severity| {
        policy::Severity::parse(s.as_str()).unwrap_or(policy::Severity::Critical)
    };
    ScanSummary {
        files: report
            .files
            .iter()
            .map(|f| ScannedFile {
                path: f.path.clone(),
                format: f.format.clone(),
                can_execute_code: f.can_execute_code,
                findings: f
                    .findings
                    .iter()
                    .map(|x| ScanFinding {
                        code: x.code.clone(),
                        severity: sev(x.severity),
                        message: x.message.clone(),
                    })
                    .collect(),
            })
            .collect(),
        errors: report
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.error))
            .collect(),
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !args.path.exists() {
        bail!("{} does not exist", args.path.display());
    }
    let policy =
        Policy::load(&args.policy).with_context(|| format!("policy {}", args.policy.display()))?;
    let scan = if policy.needs_scan() {
        let report = modelgate_rules::scan(
            std::slice::from_ref(&args.path),
            &modelgate_rules::ScanOptions::default(),
        );
        Some(summarize(&report))
    } else {
        None
    };
    let input = GateInput {
        model: args.path.clone(),
        bundles: args.signatures.clone(),
        origin: args.origin.clone(),
        scan,
    };
    let report = policy::evaluate(&policy, &input)?;
    if args.json {
        let v = serde_json::json!({
            "passed": report.passed(),
            "model": args.path.display().to_string(),
            "root_digest": report.root_digest,
            "origin": report.origin.as_ref().map(|o| serde_json::json!({
                "repo_id": o.repo_id, "revision": o.revision, "how": o.how})),
            "checks": report.checks.iter().map(|c| serde_json::json!({
                "name": c.name, "passed": c.passed, "details": c.details})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "modelgate gate {} (policy {})",
            args.path.display(),
            args.policy.display()
        );
        for c in &report.checks {
            println!("  {} {}", if c.passed { "PASS" } else { "FAIL" }, c.name);
            for d in &c.details {
                println!("       {d}");
            }
        }
        let failed = report.checks.iter().filter(|c| !c.passed).count();
        if failed == 0 {
            println!("GATE PASSED ({} checks)", report.checks.len());
        } else {
            println!(
                "GATE FAILED ({failed} of {} checks failed)",
                report.checks.len()
            );
        }
    }
    Ok(if report.passed() { 0 } else { 1 })
}
