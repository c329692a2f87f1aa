//! `modelgate convert IN --to safetensors -o OUT`: rebuild the tensors of a pickle-based
//! checkpoint (PyTorch zip or legacy, a Hugging Face sharded `.bin` checkpoint, NumPy
//! `.npy`/`.npz`) without executing it and write them as safetensors.
//!
//! Exit codes: 0 converted (or listed with `--dry-run`), 1 refused (the pickle does more than
//! rebuild tensors, or the scan reports findings), 2 the command failed.

use anyhow::{Context, bail};
use modelgate_convert::{ConvertError, Options, Plan};
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Target {
    Safetensors,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Convert a pickle-based checkpoint (PyTorch zip/legacy, HF .bin shards, NumPy) to safetensors without executing it"
)]
pub struct Args {
    /// The checkpoint: a PyTorch file (zip or legacy `torch.save`), a `.npy`/`.npz` file, or
    /// a sharded checkpoint (its `pytorch_model.bin.index.json` or the directory holding it).
    input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    to: Target,
    /// Output file; for a sharded checkpoint, the output directory (required unless --dry-run).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Convert only the (nested, dotted) entry under this key, e.g. `model`.
    #[arg(long)]
    key: Option<String>,
    /// List the tensors that would be written (name, dtype, shape, bytes) and stop.
    #[arg(long)]
    dry_run: bool,
}

/// Print a refusal (reasons, then the scan findings) to stderr.
fn print_refusal(input: &Path, reasons: &[String], findings: &[modelgate_core::Finding]) {
    eprintln!("modelgate: refusing to convert {}", input.display());
    for r in reasons {
        eprintln!("  - {r}");
    }
    for f in findings {
        eprintln!(
            "  [{}] {} {}: {} ({})",
            f.severity, f.code, f.rule, f.message, f.location
        );
    }
}

/// `name  dtype  [shape]  bytes` per tensor; returns the total bytes.
fn print_tensors(plan: &Plan, prefix: &str) -> usize {
    let mut total = 0usize;
    for t in &plan.tensors {
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        println!(
            "{prefix}{}\t{}\t[{}]\t{}",
            t.name,
            t.dtype.name(),
            shape.join(", "),
            t.nbytes()
        );
        total = total.saturating_add(t.nbytes());
    }
    total
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let Target::Safetensors = args.to;
    let opts = Options {
        key: args.key.clone(),
    };
    let index = modelgate_convert::find_index(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    match index {
        Some(index) => run_sharded(&args, &index, &opts),
        None => run_single(&args, &opts),
    }
}

fn run_single(args: &Args, opts: &Options) -> anyhow::Result<u8> {
    let input = modelgate_convert::open_input(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let plan = match modelgate_convert::plan(&input, opts) {
        Ok(p) => p,
        Err(ConvertError::Refused { reasons, findings }) => {
            print_refusal(&args.input, &reasons, &findings);
            return Ok(1);
        }
        Err(e) => return Err(e).with_context(|| format!("converting {}", args.input.display())),
    };
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    if args.dry_run {
        let total = print_tensors(&plan, "");
        println!("{} tensors, {} bytes", plan.tensors.len(), total);
        return Ok(0);
    }
    let Some(out) = &args.output else {
        bail!("-o/--output is required unless --dry-run");
    };
    modelgate_convert::write_safetensors(&plan, &input, out)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} tensors to {} (source sha256 {})",
        plan.tensors.len(),
        out.display(),
        input.sha256
    );
    Ok(0)
}

fn run_sharded(args: &Args, index: &Path, opts: &Options) -> anyhow::Result<u8> {
    let sp = match modelgate_convert::plan_sharded(index, opts) {
        Ok(p) => p,
        Err(ConvertError::Refused { reasons, findings }) => {
            print_refusal(&args.input, &reasons, &findings);
            return Ok(1);
        }
        Err(e) => return Err(e).with_context(|| format!("converting {}", index.display())),
    };
    for n in &sp.notes {
        eprintln!("note: {n}");
    }
    if args.dry_run {
        let mut total = 0usize;
        for s in &sp.shards {
            total = total.saturating_add(print_tensors(&s.plan, &format!("{}\t", s.output)));
        }
        println!(
            "{} tensors in {} shards, {} bytes",
            sp.weight_map.len(),
            sp.shards.len(),
            total
        );
        return Ok(0);
    }
    let Some(out) = &args.output else {
        bail!("-o/--output (a directory) is required unless --dry-run");
    };
    modelgate_convert::write_sharded(&sp, out)
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} tensors in {} shards and {} to {}",
        sp.weight_map.len(),
        sp.shards.len(),
        modelgate_convert::SAFETENSORS_INDEX,
        out.display()
    );
    Ok(0)
}
