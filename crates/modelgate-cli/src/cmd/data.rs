//! `modelgate data`: find poisoned training / fine-tuning data and screen new batches.
//!
//! * `audit FILE --label COL [--text COL | --features COLS | --vectors X.npy]` (or a chat
//!   JSONL or Parquet file without `--label`): label flips, flip campaigns, backdoor triggers, duplicate
//!   label conflicts, out-of-distribution rows, chat poisoning.
//! * `baseline TRUSTED --label COL ... -o STATE`: fit on trusted data once.
//! * `screen STATE BATCH [--source COL]`: screen an incoming batch; exit 1 when it should not
//!   be used.
//!
//! Exit codes: 0 nothing flagged (audit) / batch accepted (screen), 1 rows flagged / batch
//! rejected, 2 the command failed (bad input names the problem).

use anyhow::Context;
use modelgate_data::audit::AuditOptions;
use modelgate_data::model::ModelKind;
use modelgate_data::read::{Limits, Spec};
use modelgate_data::{baseline, render};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(about = "Find poisoned training/fine-tuning data and screen new batches")]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(clap::Subcommand, Debug)]
enum DataCommand {
    /// Audit a dataset for label flips, flip campaigns, backdoor triggers, duplicates with
    /// conflicting labels, junk rows and (chat JSONL/Parquet) planted answers, triggers and adverts.
    Audit(AuditArgs),
    /// Fit a baseline state on trusted data (for `screen`).
    Baseline(BaselineArgs),
    /// Screen a new batch against a baseline state; exit 1 when it should not be used.
    Screen(ScreenArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct Columns {
    /// Column holding the given label.
    #[arg(long)]
    label: Option<String>,
    /// Text column (default: a column named `text`).
    #[arg(long, conflicts_with_all = ["features", "vectors"])]
    text: Option<String>,
    /// Numeric feature columns, comma-separated, or `all`.
    #[arg(long, value_delimiter = ',', conflicts_with = "vectors")]
    features: Option<Vec<String>>,
    /// Row vectors in a 2-D .npy file (rows aligned with FILE).
    #[arg(long)]
    vectors: Option<PathBuf>,
    /// Column holding the row id (default: a column named `id`, else the 0-based row index).
    #[arg(long)]
    id: Option<String>,
    /// Maximum data rows read.
    #[arg(long, default_value_t = 20_000_000)]
    max_rows: usize,
    /// Text fields are cut to this many characters.
    #[arg(long, default_value_t = 4000)]
    max_field_chars: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone)]
struct Output {
    /// Output format on stdout (or in --output).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Also write an HTML report with plots.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Rows listed in the text summary.
    #[arg(long, default_value_t = 20)]
    show: usize,
}

#[derive(clap::Args, Debug)]
struct AuditArgs {
    /// CSV, TSV or JSONL file (optionally .gz) or Parquet; chat JSONL/Parquet is detected automatically.
    file: PathBuf,
    #[command(flatten)]
    cols: Columns,
    #[command(flatten)]
    out: Output,
    /// Model for out-of-fold probabilities (text data; numeric data always uses lr).
    #[arg(long, value_enum, default_value_t = Model::Lr)]
    model: Model,
    /// Number of cross-validation folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed for folds and clustering.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also hash character 3-5-grams (obfuscated triggers).
    #[arg(long)]
    char_ngrams: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
enum Model {
    Lr,
    Nb,
}

#[derive(clap::Args, Debug)]
struct BaselineArgs {
    /// Trusted CSV, TSV, JSONL (optionally .gz) or Parquet file.
    file: PathBuf,
    #[command(flatten)]
    cols: Columns,
    /// Column naming the source (account, annotator) of each row.
    #[arg(long)]
    source: Option<String>,
    /// Where to write the state.
    #[arg(long, short = 'o')]
    output: PathBuf,
}

#[derive(clap::Args, Debug)]
struct ScreenArgs {
    /// Baseline state written by `modelgate data baseline`.
    state: PathBuf,
    /// The new batch (same columns as the baseline).
    batch: PathBuf,
    /// Column naming the source (account, annotator) of each row.
    #[arg(long)]
    source: Option<String>,
    /// Column holding the row id.
    #[arg(long)]
    id: Option<String>,
    /// The batch's row vectors in a 2-D .npy file (when the baseline was fitted on vectors).
    #[arg(long)]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    out: Output,
    /// Reject the batch when more than this share of its rows is flagged.
    #[arg(long, default_value_t = 0.05)]
    max_flag_rate: f64,
}

fn spec(c: &Columns, source: Option<String>) -> Spec {
    Spec {
        label: c.label.clone(),
        text: c.text.clone(),
        features: c.features.clone(),
        id: c.id.clone(),
        source,
        vectors: c.vectors.is_some(),
    }
}

fn limits(c: &Columns) -> Limits {
    Limits {
        max_rows: c.max_rows,
        max_field_chars: c.max_field_chars,
        ..Limits::default()
    }
}

fn emit(report: &modelgate_data::Report, out: &Output) -> anyhow::Result<()> {
    let body = match out.format {
        Format::Json => render::json(report) + "\n",
        Format::Text => render::text(report, out.show),
    };
    match &out.output {
        Some(p) => std::fs::write(p, body).with_context(|| format!("writing {}", p.display()))?,
        None => print!("{body}"),
    }
    if let Some(p) = &out.html {
        std::fs::write(p, render::html(report))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.command {
        DataCommand::Audit(a) => {
            let opts = AuditOptions {
                model: match a.model {
                    Model::Lr => ModelKind::Lr,
                    Model::Nb => ModelKind::Nb,
                },
                folds: a.folds.clamp(2, 20),
                seed: a.seed,
                features: modelgate_data::features::FeatureConfig {
                    char_ngrams: a.char_ngrams,
                    ..Default::default()
                },
                ..AuditOptions::default()
            };
            let report = modelgate_data::audit_file(
                &a.file,
                &spec(&a.cols, None),
                a.cols.vectors.as_deref(),
                &limits(&a.cols),
                &opts,
            )?;
            emit(&report, &a.out)?;
            Ok(u8::from(!report.flagged.is_empty()))
        }
        DataCommand::Baseline(b) => {
            let state = baseline::fit_file(
                &b.file,
                &spec(&b.cols, b.source.clone()),
                b.cols.vectors.as_deref(),
                &limits(&b.cols),
            )?;
            state.save(&b.output)?;
            eprintln!(
                "modelgate: baseline of {} rows ({} classes) written to {}",
                state.rows,
                state.classes.len(),
                b.output.display()
            );
            Ok(0)
        }
        DataCommand::Screen(s) => {
            let state = baseline::State::load(&s.state)?;
            let report = baseline::screen_file(
                &state,
                &s.batch,
                s.vectors.as_deref(),
                s.source.as_deref(),
                s.id.as_deref(),
                s.max_flag_rate,
            )?;
            emit(&report, &s.out)?;
            Ok(u8::from(report.verdict.as_deref() == Some("reject")))
        }
    }
}
