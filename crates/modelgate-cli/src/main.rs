//! The `modelgate` binary: argument parsing, dispatch to subcommands, exit codes.
//!
//! Exit codes: 0 nothing at/above the threshold, 1 findings at/above it (or a failed
//! verification/gate), 2 the command itself failed.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc: the scan makes many small short-lived allocations per file (pickle values,
/// findings); glibc malloc was a fifth of the instructions on a directory of small pickles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "modelgate",
    version,
    about = "Stop trojanized machine-learning models before they run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Subcommands: one variant per command, each backed by `cmd/<name>.rs` exposing
// `Args` (clap) and `run(Args) -> anyhow::Result<u8>` (the exit code).
#[derive(Subcommand)]
enum Command {
    // -- subcommand variants (keep one per line) --
    /// Emit a CycloneDX 1.6 ML-BOM for a model and its supply chain.
    Bom(cmd::bom::Args),
    /// Apply a trust policy (signature, formats, scan findings, sources) to a model.
    Gate(cmd::gate::Args),
    /// Shadow-logic analysis of ONNX graphs: explain findings, draw, diff against a reference.
    Graph(cmd::graph::Args),
    /// Scan model files and directories for code that runs on load (by content, never by name).
    Scan(cmd::scan::Args),
    /// List every rule.
    Rules(cmd::rules::ListArgs),
    /// Print one rule's documentation.
    Rule(cmd::rules::ShowArgs),
    /// Convert a pickle-based PyTorch checkpoint to safetensors without executing it.
    Convert(cmd::convert::Args),
    /// Make an ECDSA key pair for model signing.
    Keygen(cmd::keygen::Args),
    /// Sign a model (OpenSSF Model Signing v1.0 bundle, compatible with model-signing).
    Sign(cmd::sign::Args),
    /// Verify a model signature and say exactly what changed.
    Verify(cmd::verify::Args),
    /// Find poisoned training/fine-tuning data and screen new batches.
    Data(cmd::data::Args),
}

/// The `parquet` crate panics on some malformed pages; modelgate-data catches that and
/// reports a clear error naming the file, so the crate's own panic message is noise on
/// stderr. Every other panic is printed as usual.
fn quiet_known_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_parquet = info
            .location()
            .is_some_and(|l| l.file().replace('\\', "/").contains("/parquet-"));
        if !in_parquet {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_known_panics();
    let cli = Cli::parse();
    let result: anyhow::Result<u8> = match cli.command {
        // -- subcommand dispatch (keep one per line) --
        Command::Bom(args) => cmd::bom::run(args),
        Command::Gate(args) => cmd::gate::run(args),
        Command::Graph(args) => cmd::graph::run(args),
        Command::Scan(args) => cmd::scan::run(args),
        Command::Rules(args) => cmd::rules::list(args),
        Command::Rule(args) => cmd::rules::show(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Keygen(args) => cmd::keygen::run(args),
        Command::Sign(args) => cmd::sign::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Data(args) => cmd::data::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("modelgate: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
