//! `modelgate convert IN --to safetensors -o OUT`: rebuild the tensors of a PyTorch zip
//! checkpoint from its pickle without executing it and write them as safetensors.
//!
//! Exit codes: 0 converted (or listed with `--dry-run`), 1 refused (the pickle does more than
//! rebuild tensors, or the scan reports findings), 2 the command failed.

use anyhow::{Context, bail};
use modelgate_convert::{ConvertError, Options};
use std::path::PathBuf;

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Target {
    Safetensors,
}

#[derive(clap::Args, Debug)]
#[command(about = "Convert a pickle-based PyTorch checkpoint to safetensors without executing it")]
pub struct Args {
    /// The checkpoint (PyTorch zip format, as written by `torch.save`).
    input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    to: Target,
    /// Output file (required unless --dry-run).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Convert only the (nested, dotted) entry under this key, e.g. `model`.
    #[arg(long)]
    key: Option<String>,
    /// List the tensors that would be written (name, dtype, shape, bytes) and stop.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let Target::Safetensors = args.to;
    let opts = Options {
        key: args.key.clone(),
    };
    let input = modelgate_convert::open_input(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let plan = match modelgate_convert::plan(&input, &opts) {
        Ok(p) => p,
        Err(ConvertError::Refused { reasons, findings }) => {
            eprintln!("modelgate: refusing to convert {}", args.input.display());
            for r in &reasons {
                eprintln!("  - {r}");
            }
            for f in &findings {
                eprintln!(
                    "  [{}] {} {}: {} ({})",
                    f.severity, f.code, f.rule, f.message, f.location
                );
            }
            return Ok(1);
        }
        Err(e) => return Err(e).with_context(|| format!("converting {}", args.input.display())),
    };
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    if args.dry_run {
        let mut total = 0usize;
        for t in &plan.tensors {
            let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
            println!(
                "{}\t{}\t[{}]\t{}",
                t.name,
                t.dtype.name(),
                shape.join(", "),
                t.nbytes()
            );
            total = total.saturating_add(t.nbytes());
        }
        println!("{} tensors, {} bytes", plan.tensors.len(), total);
        return Ok(0);
    }
    let Some(out) = args.output else {
        bail!("-o/--output is required unless --dry-run");
    };
    modelgate_convert::write_safetensors(&plan, &input.sha256, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} tensors to {} (source sha256 {})",
        plan.tensors.len(),
        out.display(),
        input.sha256
    );
    Ok(0)
}
