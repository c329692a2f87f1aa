//! Baseline state and batch screening (models that keep learning: Tay, spam filters trained
//! on user reports).
//!
//! `fit` scans trusted data once and keeps: the featuriser, a logistic-regression model and its
//! out-of-fold per-class confidence thresholds, the unigram naive Bayes used for trigger
//! ablation, a sketch of n-gram document frequencies, content hashes and MinHash band keys of
//! the trusted rows, label priors and the new-token rate. `screen` tests a batch for
//! disagreement with the baseline model, new trigger n-grams (dirty- and clean-label),
//! duplicates of / contradictions with baseline rows, label-prior drift and sources with too
//! many rejected rows, and returns a verdict: `accept`, `quarantine` (use the batch without
//! the flagged rows) or `reject`.
//!
//! The state is gzip-compressed JSON with a format version; its large tables are packed
//! little-endian bytes in base64 strings (format version 2, see [`crate::packed`]).

use crate::audit::{AuditOptions, Featurizer, prepare};
use crate::cl::argmax;
use crate::dup::{band_keys, content_hash, content_hash_of_hashes, signature, signature_of_hashes};
use crate::error::{DataError, Result};
use crate::features::{hashed_counts_of, ngram_hash, token_hash};
use crate::hash::mix;
use crate::model::{Linear, ModelKind, fit_lr, oof_proba, stratified_folds};
use crate::ngram_counts::U64Map;
use crate::read::{Content, Limits, Records, Spec, read, read_npy, read_pipelined};
use crate::report::{Attack, Collector, PlotData, Report, Stats, r4, reason};
use crate::stats::{binom_sf, chi2_sf};
use crate::tokens::{TokenTable, TokenTableBuilder};
use crate::trigger::UnigramNb;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

/// Version 2 stores the large tables packed (see [`crate::packed`]); version 1 states (plain
/// JSON arrays) still load.
const STATE_VERSION: u32 = 2;
const SKETCH_BITS: u32 = 20;
const MAX_MINHASH_ROWS: usize = 500_000;
/// The batch n-gram statistics are split into 2^SHARD_BITS shards by the top hash bits.
const SHARD_BITS: u32 = 4;
const SHARD_SHIFT: u32 = 64 - SHARD_BITS;
const SHARDS: usize = 1 << SHARD_BITS;
/// Cells of each shard's row-count sketch (one byte each, fits in a core's cache).
const SHARD_SKETCH_BITS: u32 = 18;

/// Shard `s` of a row's n-grams (sorted by hash, with the shard bounds).
fn shard_part(row: &(Vec<Gram>, [u32; SHARDS + 1]), s: usize) -> &[Gram] {
    let (g, b) = row;
    match (b.get(s), b.get(s + 1)) {
        (Some(&lo), Some(&hi)) => g.get(lo as usize..hi as usize).unwrap_or(&[]),
        _ => &[],
    }
}

/// Fewest batch rows (with the target label) of a new trigger.
const MIN_TRIGGER_ROWS: u32 = 5;

/// A distinct n-gram of a batch row: (hash, length, first position).
type Gram = (u64, u32, u32);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StateFeaturizer {
    Text(crate::features::Idf),
    Dense {
        scaler: crate::features::Scaler,
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub format: String,
    pub version: u32,
    pub rows: usize,
    pub classes: Vec<String>,
    pub label_column: String,
    pub text_column: Option<String>,
    pub feature_columns: Option<Vec<String>>,
    pub id_column: Option<String>,
    pub featurizer: StateFeaturizer,
    pub model: Linear,
    /// Per-class mean out-of-fold self-confidence (confident-learning thresholds).
    pub thresholds: Vec<f64>,
    pub nb: UnigramNb,
    /// Background share of baseline rows whose NB argmax differs from the label.
    pub nb_disagreement: f64,
    /// Saturating document frequencies of word 1–3-grams, hashed into 2^20 cells.
    #[serde(with = "crate::packed")]
    pub ngram_df: Vec<u16>,
    /// Bloom filter (bit words, a power of two of them) of the baseline's word 1–3-grams:
    /// whether an n-gram is absent from the baseline, which the saturating `ngram_df` cells
    /// cannot tell once most cells are taken. Empty in states written before it existed (the
    /// cells decide then).
    #[serde(default, with = "crate::packed")]
    pub ngram_seen: Vec<u64>,
    /// (content hash, class) of every baseline row.
    #[serde(with = "crate::packed::pairs")]
    pub content: Vec<(u64, u32)>,
    /// (band key, baseline row) for MinHash near-duplicate lookups.
    #[serde(with = "crate::packed::pairs")]
    pub bands: Vec<(u64, u32)>,
    #[serde(with = "crate::packed")]
    pub row_labels: Vec<u32>,
    pub label_counts: Vec<usize>,
    /// Share of tokens in the second half of the baseline unseen in the first half.
    pub new_token_rate: f64,
    pub max_field_chars: usize,
    /// The rows were `--vectors` from a `.npy` file (batches must come with theirs).
    #[serde(default)]
    pub vectors: bool,
}

fn ngrams(toks: &[String], max_n: usize) -> Vec<(u64, usize, usize)> {
    let hs: Vec<u64> = toks.iter().map(|t| token_hash(t)).collect();
    ngrams_of_hashes(&hs, max_n)
}

/// The distinct word 1..=`max_n`-grams of a row given its token hashes: (hash, length,
/// first position), sorted by hash.
fn ngrams_of_hashes(hs: &[u64], max_n: usize) -> Vec<(u64, usize, usize)> {
    let mut v = Vec::new();
    for n in 1..=max_n {
        if hs.len() < n {
            break;
        }
        for (p, w) in hs.windows(n).enumerate() {
            v.push((if n == 1 { w[0] } else { ngram_hash(w) }, n, p));
        }
    }
    v.sort_unstable_by_key(|t| (t.0, t.2));
    v.dedup_by_key(|t| t.0);
    v
}

fn cell(h: u64) -> usize {
    (mix(h ^ 0xd5) & ((1u64 << SKETCH_BITS) - 1)) as usize
}

/// Probes per n-gram in [`State::ngram_seen`].
const BLOOM_PROBES: u64 = 7;

/// The bit positions of `h` in a Bloom filter of `2^bits` bits (double hashing).
fn bloom_bits(h: u64, bits: u32) -> impl Iterator<Item = usize> {
    let a = mix(h ^ 0xb100);
    let b = mix(h ^ 0xb101) | 1;
    let mask = (1u64 << bits) - 1;
    (0..BLOOM_PROBES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) & mask) as usize)
}

/// A Bloom filter for about `items` keys: at least 8 bits per key (false positives ≈ 2 %),
/// 2^16 to 2^27 bits.
fn bloom_new(items: usize) -> Vec<u64> {
    let want = items.saturating_mul(8).clamp(1 << 16, 1 << 27);
    vec![0u64; want.next_power_of_two() / 64]
}

fn bloom_log2_bits(words: &[u64]) -> u32 {
    (words.len() * 64).trailing_zeros()
}

fn bloom_insert(words: &mut [u64], h: u64) {
    let bits = bloom_log2_bits(words);
    for b in bloom_bits(h, bits) {
        if let Some(w) = words.get_mut(b / 64) {
            *w |= 1 << (b % 64);
        }
    }
}

fn bloom_contains(words: &[u64], h: u64) -> bool {
    let bits = bloom_log2_bits(words);
    bloom_bits(h, bits).all(|b| words.get(b / 64).is_some_and(|w| w >> (b % 64) & 1 == 1))
}

/// Fit a baseline state on trusted data (`vectors`: a `.npy` of row vectors aligned with the
/// file, used instead of its text or feature columns).
pub fn fit_file(
    path: &Path,
    spec: &Spec,
    vectors: Option<&Path>,
    limits: &Limits,
) -> Result<State> {
    let spec = Spec {
        vectors: vectors.is_some(),
        ..spec.clone()
    };
    let records = read(path, &spec, limits)?;
    let label_column = spec
        .label
        .clone()
        .ok_or_else(|| DataError::Invalid("baseline: --label COL is required".into()))?;
    let v = match vectors {
        Some(p) => Some(read_npy(p, limits)?),
        None => None,
    };
    fit(&records, &spec, v, &label_column, limits)
}

pub fn fit(
    records: &Records,
    spec: &Spec,
    vectors: Option<Vec<Vec<f64>>>,
    label_column: &str,
    limits: &Limits,
) -> Result<State> {
    let opts = AuditOptions::default();
    let from_vectors = vectors.is_some();
    let prep = prepare(records, vectors, &opts)?;
    let n = records.rows;
    let k = prep.classes.len();
    let all: Vec<usize> = (0..n).collect();
    let model = fit_lr(&prep.x, &prep.y, k, &all, opts.c, crate::model::LR_MAX_ITER);
    let folds = stratified_folds(&prep.y, k, 5, 0);
    let p = oof_proba(&prep.x, &prep.y, k, &folds, ModelKind::Lr, opts.c);
    let mut thresholds = vec![0f64; k];
    let mut cnt = vec![0usize; k];
    for (i, &c) in prep.y.iter().enumerate() {
        thresholds[c] += p[i * k + c];
        cnt[c] += 1;
    }
    for c in 0..k {
        thresholds[c] = (thresholds[c] / cnt[c].max(1) as f64).max(1e-6);
    }
    let mut nb = UnigramNb::new(k, 18);
    let mut ngram_df = vec![0u16; 1 << SKETCH_BITS];
    let max_n = if prep.mode == "text" { 3 } else { 1 };
    // Distinct n-grams are at most the positions times the lengths.
    let mut ngram_seen = bloom_new(prep.tokens.len().saturating_mul(max_n));
    let mut content = Vec::with_capacity(n);
    let mut bands = Vec::new();
    let mut seen_first: HashSet<u64> = HashSet::new();
    let (mut new_tok, mut tot_tok) = (0usize, 0usize);
    let toks_all: Vec<Vec<String>> = Vec::new();
    drop(toks_all);
    for i in 0..n {
        let toks = prep.tokens(i);
        let hs: Vec<u64> = prep.tokens.hashes(i);
        nb.add(&hs, prep.y[i]);
        if i < n / 2 {
            seen_first.extend(hs.iter().copied());
        } else {
            tot_tok += hs.len();
            new_tok += hs.iter().filter(|h| !seen_first.contains(h)).count();
        }
        for (h, _, _) in ngrams(&toks, max_n) {
            if let Some(c) = ngram_df.get_mut(cell(h)) {
                *c = c.saturating_add(1);
            }
            bloom_insert(&mut ngram_seen, h);
        }
        content.push((content_hash(&toks), prep.y[i] as u32));
        if i < MAX_MINHASH_ROWS
            && let Some(sig) = signature(&toks, 2)
        {
            for key in band_keys(&sig) {
                bands.push((key, i as u32));
            }
        }
    }
    nb.finish();
    let mut dis = 0usize;
    for i in 0..n {
        let hs: Vec<u64> = prep.tokens.hashes(i);
        if argmax(&nb.scores_with(&hs, Some(prep.y[i]), &[])) != prep.y[i] {
            dis += 1;
        }
    }
    bands.sort_unstable();
    let mut label_counts = vec![0usize; k];
    for &c in &prep.y {
        label_counts[c] += 1;
    }
    let featurizer = match prep.featurizer {
        Featurizer::Text(idf) => StateFeaturizer::Text(idf),
        Featurizer::Dense { scaler, names } => StateFeaturizer::Dense { scaler, names },
    };
    let text_column = match (&records.content, &spec.text) {
        _ if from_vectors => None,
        (Content::Text(_), Some(t)) => Some(t.clone()),
        (Content::Text(_), None) => Some("text".to_string()),
        _ => None,
    };
    Ok(State {
        format: "modelgate-data-baseline".into(),
        version: STATE_VERSION,
        rows: n,
        classes: prep.classes,
        label_column: label_column.to_string(),
        text_column,
        feature_columns: match &records.content {
            Content::Features { names, .. } if !from_vectors => Some(names.clone()),
            _ => None,
        },
        vectors: from_vectors,
        id_column: records.id_column.clone(),
        featurizer,
        model,
        thresholds,
        nb,
        nb_disagreement: (dis as f64 / n.max(1) as f64).max(1e-3),
        ngram_df,
        ngram_seen,
        content,
        bands,
        row_labels: prep.y.iter().map(|&c| c as u32).collect(),
        label_counts,
        new_token_rate: if tot_tok > 0 {
            new_tok as f64 / tot_tok as f64
        } else {
            0.0
        },
        max_field_chars: limits.max_field_chars,
    })
}

impl State {
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |e: std::io::Error| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let f = std::fs::File::create(path).map_err(err)?;
        let mut gz =
            flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, self).map_err(|e| DataError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        gz.finish().map_err(err)?.flush().map_err(err)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<State> {
        let f = std::fs::File::open(path).map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut buf = Vec::new();
        flate2::read::GzDecoder::new(f)
            .take(8 << 30)
            .read_to_end(&mut buf)
            .map_err(|e| DataError::State {
                path: path.to_path_buf(),
                message: format!("not a modelgate baseline state (gzip: {e})"),
            })?;
        let mut s: State = serde_json::from_slice(&buf).map_err(|e| DataError::State {
            path: path.to_path_buf(),
            message: format!("not a modelgate baseline state: {e}"),
        })?;
        if s.format != "modelgate-data-baseline" || !(1..=STATE_VERSION).contains(&s.version) {
            return Err(DataError::State {
                path: path.to_path_buf(),
                message: format!(
                    "unsupported state format {:?} version {}",
                    s.format, s.version
                ),
            });
        }
        let k = s.classes.len();
        if k < 2
            || s.thresholds.len() != k
            || s.model.k != k
            || s.nb.k != k
            || s.ngram_df.len() != 1 << SKETCH_BITS
            || !(s.ngram_seen.is_empty() || s.ngram_seen.len().is_power_of_two())
        {
            return Err(DataError::State {
                path: path.to_path_buf(),
                message: "inconsistent state (class counts or table sizes disagree)".into(),
            });
        }
        s.nb.finish();
        Ok(s)
    }
}

/// Screen a batch file (`vectors`: the batch's row vectors, required when the baseline was
/// fitted on vectors). A text batch is read in chunks of [`crate::CHUNK_ROWS`] rows, each
/// tokenised and freed before the next is parsed.
pub fn screen_file(
    state: &State,
    path: &Path,
    vectors: Option<&Path>,
    source: Option<&str>,
    id: Option<&str>,
    max_flag_rate: f64,
) -> Result<Report> {
    screen_file_chunked(
        state,
        path,
        vectors,
        source,
        id,
        max_flag_rate,
        crate::CHUNK_ROWS,
    )
}

/// [`screen_file`] with `chunk_rows` rows per chunk (the report does not depend on it).
pub fn screen_file_chunked(
    state: &State,
    path: &Path,
    vectors: Option<&Path>,
    source: Option<&str>,
    id: Option<&str>,
    max_flag_rate: f64,
    chunk_rows: usize,
) -> Result<Report> {
    match (state.vectors, vectors) {
        (true, None) => {
            return Err(DataError::Invalid(
                "the baseline was fitted on --vectors: give the batch's vectors with --vectors X.npy"
                    .into(),
            ));
        }
        (false, Some(p)) => {
            return Err(DataError::Invalid(format!(
                "{}: the baseline was fitted on the file's {} columns, not on vectors",
                p.display(),
                if state.text_column.is_some() {
                    "text"
                } else {
                    "feature"
                }
            )));
        }
        _ => {}
    }
    let spec = Spec {
        label: Some(state.label_column.clone()),
        text: state.text_column.clone(),
        features: state.feature_columns.clone(),
        id: id.map(str::to_string).or_else(|| state.id_column.clone()),
        source: source.map(str::to_string),
        vectors: state.vectors,
    };
    let limits = Limits {
        max_field_chars: state.max_field_chars,
        ..Limits::default()
    };
    let t0 = std::time::Instant::now();
    if let (StateFeaturizer::Text(idf), None) = (&state.featurizer, vectors) {
        // Per chunk: tokenise the rows (then drop their texts) and score them with the
        // baseline model; the batch-level statistics run on the token table afterwards.
        let mut tb = TokenTableBuilder::new();
        let mut p = Vec::new();
        let (records, streamed) =
            read_pipelined(path, &spec, &limits, chunk_rows, &mut |texts, done| {
                let lo = tb.rows();
                tb.push_owned(texts, done);
                p.extend(text_proba(state, idf, tb.table(), lo..tb.rows()));
            })?;
        let (tokens, p) = if streamed {
            (Some(tb.finish()), Some(p))
        } else {
            (None, None)
        };
        return screen_with(state, &records, None, tokens, p, max_flag_rate, t0);
    }
    let records = read(path, &spec, &limits)?;
    let v = match vectors {
        Some(p) => Some(read_npy(p, &limits)?),
        None => None,
    };
    screen_with(state, &records, v, None, None, max_flag_rate, t0)
}

pub fn screen(
    state: &State,
    records: &Records,
    vectors: Option<Vec<Vec<f64>>>,
    max_flag_rate: f64,
) -> Result<Report> {
    screen_with(
        state,
        records,
        vectors,
        None,
        None,
        max_flag_rate,
        std::time::Instant::now(),
    )
}

/// Baseline-model class probabilities of text rows `rows` of `table` (row-major, k per row),
/// each row on its own (rayon, gathered in row order): the same numbers whether computed for
/// the whole batch or one chunk at a time.
fn text_proba(
    state: &State,
    idf: &crate::features::Idf,
    table: &TokenTable,
    rows: std::ops::Range<usize>,
) -> Vec<f64> {
    rows.into_par_iter()
        .map_init(
            || {
                (
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                )
            },
            |(words, buckets, counts, idx, val, hs), i| {
                words.clear();
                if idf.cfg.char_ngrams {
                    words.extend(table.ids(i).iter().map(|&id| table.word(id).to_string()));
                }
                let w: Vec<&str> = words.iter().map(String::as_str).collect();
                hs.clear();
                hs.extend(table.ids(i).iter().map(|&id| table.hash_of(id)));
                counts.clear();
                hashed_counts_of(hs, &w, &idf.cfg, buckets, counts);
                idx.clear();
                val.clear();
                idf.transform_row(counts, idx, val);
                state.model.proba(idx, val)
            },
        )
        .flatten_iter()
        .collect()
}

/// `tokens`: the batch's texts, tokenised while they were read (a streaming read leaves
/// `records` with an empty text column); `proba`: their baseline-model probabilities,
/// computed chunk by chunk as the rows arrived.
fn screen_with(
    state: &State,
    records: &Records,
    vectors: Option<Vec<Vec<f64>>>,
    tokens: Option<TokenTable>,
    proba: Option<Vec<f64>>,
    max_flag_rate: f64,
    t0: std::time::Instant,
) -> Result<Report> {
    let n = records.rows;
    if tokens.as_ref().is_some_and(|t| t.rows() != n) {
        return Err(DataError::Invalid(format!(
            "{}: internal: {n} rows were read but a different number tokenised",
            records.path.display()
        )));
    }
    let k = state.classes.len();
    let classes = &state.classes;
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut unknown = Vec::new();
    let mut y = Vec::with_capacity(n);
    for (i, l) in records.labels.iter().enumerate() {
        match index.get(l.as_str()) {
            Some(&c) => y.push(c),
            None => {
                unknown.push(i);
                y.push(usize::MAX);
            }
        }
    }
    // Every row tokenised once (words for text, `column=bin` tokens for numeric rows); the
    // features, trigger n-grams, duplicate keys and drift statistics all come from this table.
    let dense_values: Option<Vec<Vec<f64>>> = match (&state.featurizer, &records.content) {
        (StateFeaturizer::Dense { scaler, .. }, _) if vectors.is_some() => {
            let v = vectors.unwrap_or_default();
            if v.len() != n {
                return Err(DataError::Invalid(format!(
                    "the vectors have {} rows but {} has {n}",
                    v.len(),
                    records.path.display()
                )));
            }
            let dim = v.first().map(Vec::len).unwrap_or(0);
            if n > 0 && dim != scaler.mean.len() {
                return Err(DataError::Invalid(format!(
                    "the batch vectors have {dim} dimensions but the baseline's have {}",
                    scaler.mean.len()
                )));
            }
            Some(v)
        }
        (StateFeaturizer::Text(_), Content::Text(_)) => None,
        (StateFeaturizer::Dense { .. }, Content::Features { values, .. }) => Some(values.clone()),
        _ => {
            return Err(DataError::Invalid(format!(
                "{}: the batch's content does not match the baseline (text vs numeric features)",
                records.path.display()
            )));
        }
    };
    let table = match (&state.featurizer, &records.content, &dense_values, tokens) {
        (StateFeaturizer::Text(_), Content::Text(_), _, Some(t)) => t,
        (StateFeaturizer::Text(_), Content::Text(t), _, None) => {
            TokenTable::from_texts(n, &|i, s| {
                s.push_str(t.get(i).map(String::as_str).unwrap_or(""));
            })
        }
        (StateFeaturizer::Dense { scaler, names }, _, Some(v), _) => {
            TokenTable::from_lists(n, &|i| {
                v.get(i)
                    .map(|r| scaler.bin_tokens(names, r))
                    .unwrap_or_default()
            })
        }
        _ => TokenTable::default(),
    };
    // A row's token hashes, looked up from the table when needed (not kept for every row:
    // that copy was 8 bytes per token, as large as the table again).
    let hashes = |i: usize| -> Vec<u64> { table.hashes(i) };
    // Baseline model probabilities, row by row in parallel (each row's arithmetic is the same
    // as a sequential pass, so the report does not depend on the thread count).
    let p: Vec<f64> = match (&state.featurizer, &dense_values, proba) {
        // Computed chunk by chunk while the batch was read.
        (StateFeaturizer::Text(_), _, Some(p)) => p,
        (StateFeaturizer::Text(idf), _, None) => text_proba(state, idf, &table, 0..n),
        (StateFeaturizer::Dense { scaler, .. }, Some(v), _) => {
            let x = scaler.transform(v);
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let (idx, val) = x.row(i);
                    state.model.proba(idx, val)
                })
                .flatten_iter()
                .collect()
        }
        _ => vec![0.0; n * k],
    };
    if p.len() != n * k {
        return Err(DataError::Invalid(
            "internal: baseline model returned a wrong number of class probabilities".into(),
        ));
    }
    let max_n = if matches!(state.featurizer, StateFeaturizer::Text(_)) {
        3
    } else {
        1
    };
    let mut col = Collector::default();
    let mut attacks = Vec::new();
    let mut alarms: Vec<String> = Vec::new();
    let mut extra = serde_json::Map::new();
    for &i in &unknown {
        col.add(
            i,
            reason::BASELINE_DISAGREEMENT,
            1.0,
            json!({"given": records.labels.get(i), "problem": "label not seen in the baseline"}),
        );
    }
    if !unknown.is_empty() {
        alarms.push(format!(
            "{} rows carry labels the baseline never saw",
            unknown.len()
        ));
    }

    // 1. Disagreement with the baseline model (confident off-diagonal rows).
    let mut n_dis = 0usize;
    for i in 0..n {
        let Some(pr) = p.get(i * k..i * k + k) else {
            continue;
        };
        let Some(&yi) = y.get(i) else { continue };
        if yi >= k {
            continue;
        }
        let j = argmax(pr);
        if j != yi && pr[j] >= state.thresholds[j] - 1e-6 {
            n_dis += 1;
            col.add(
                i,
                reason::BASELINE_DISAGREEMENT,
                pr[j],
                json!({"given": classes[yi], "baseline_predicts": classes[j], "p_given": r4(pr[yi]), "p_predicted": r4(pr[j]), "threshold": r4(state.thresholds[j])}),
            );
        }
    }
    if n_dis > 0 {
        attacks.push(Attack {
            kind: "baseline-disagreement".into(),
            summary: format!("{n_dis} rows whose label the baseline model confidently contradicts"),
            rows: n_dis,
            details: json!({}),
        });
    }

    // 2. New trigger n-grams (batch statistics, ablation with the baseline NB).
    // n-gram statistics over distinct rows (a row repeated in the batch counts once).
    let row_content: Vec<u64> = (0..n)
        .into_par_iter()
        .map(|i| content_hash_of_hashes(&hashes(i)))
        .collect();
    let mut seen_rows: U64Map<()> = U64Map::default();
    let first_seen: Vec<bool> = row_content
        .iter()
        .map(|&c| seen_rows.insert(c, ()).is_none())
        .collect();
    drop(seen_rows);
    // Each distinct row's n-grams, sorted by hash (so that each shard below is a contiguous
    // range of every row's list).
    // With each row: where each hash shard starts in its list (`bounds[s]..bounds[s + 1]`).
    let row_grams: Vec<(Vec<Gram>, [u32; SHARDS + 1])> = (0..n)
        .into_par_iter()
        .map(|i| {
            if first_seen.get(i) != Some(&true) {
                return (Vec::new(), [0; SHARDS + 1]);
            }
            // Already sorted by hash (and distinct).
            let g: Vec<Gram> = ngrams_of_hashes(&hashes(i), max_n)
                .into_iter()
                .map(|(h, nn, pos)| (h, nn as u32, pos as u32))
                .collect();
            let mut bounds = [0u32; SHARDS + 1];
            for (s, b) in bounds.iter_mut().enumerate() {
                *b = g.partition_point(|t| ((t.0 >> SHARD_SHIFT) as usize) < s) as u32;
            }
            (g, bounds)
        })
        .collect();
    // The n-gram statistics in hash shards, built in parallel; each shard reads the rows in
    // order, so first occurrences are those of a sequential pass. A first pass counts rows per
    // n-gram in a small saturating sketch (never below the true count), so that only n-grams
    // that can reach the 3 rows of a candidate enter the exact tables.
    let shards: Vec<GramShard> = (0..SHARDS)
        .into_par_iter()
        .map(|s| {
            let mut sketch = vec![0u8; 1 << SHARD_SKETCH_BITS];
            let sk = |h: u64| (mix(h ^ 0x5c) & ((1 << SHARD_SKETCH_BITS) - 1)) as usize;
            for row in &row_grams {
                for &(h, _, _) in shard_part(row, s) {
                    if let Some(c) = sketch.get_mut(sk(h)) {
                        *c = c.saturating_add(1);
                    }
                }
            }
            let mut sh = GramShard::default();
            for (i, row) in row_grams.iter().enumerate() {
                let yi = y.get(i).copied().unwrap_or(usize::MAX);
                for &(h, nn, pos) in shard_part(row, s) {
                    if sketch.get(sk(h)).is_some_and(|&c| c >= 3) {
                        sh.add(h, k, yi, (i, pos as usize, nn as usize));
                    }
                }
            }
            sh
        })
        .collect();
    let mut cands: Vec<(u64, usize, u32, u32)> = shards
        .par_iter()
        .flat_map_iter(|sh| sh.candidates(k))
        .collect();
    cands.sort_unstable();
    let cand_set: U64Map<()> = cands.iter().map(|c| (c.0, ())).collect();
    let postings_shards: Vec<U64Map<Vec<(usize, usize, usize)>>> = (0..SHARDS)
        .into_par_iter()
        .map(|s| {
            let mut post: U64Map<Vec<(usize, usize, usize)>> = U64Map::default();
            for (i, row) in row_grams.iter().enumerate() {
                for &(h, nn, pos) in shard_part(row, s) {
                    if cand_set.contains_key(&h) {
                        post.entry(h)
                            .or_default()
                            .push((i, nn as usize, pos as usize));
                    }
                }
            }
            post
        })
        .collect();
    let postings = |h: u64| -> &[(usize, usize, usize)] {
        postings_shards
            .get((h >> SHARD_SHIFT) as usize)
            .and_then(|m| m.get(&h))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    // Per row in a posting list: baseline NB scores and sorted token counts (for O(words)
    // ablation).
    let mut needed = vec![false; n];
    for &(h, _, _, nt) in &cands {
        if nt < MIN_TRIGGER_ROWS {
            continue;
        }
        for &(i, _, _) in postings(h) {
            if let Some(f) = needed.get_mut(i) {
                *f = true;
            }
        }
    }
    // Per row in a posting list: baseline NB scores, sorted token counts and each distinct
    // word's score terms (ablating an n-gram subtracts its words' terms, O(words)).
    let row_nb: Vec<Option<RowNb>> = (0..n)
        .into_par_iter()
        .map(|i| {
            if needed.get(i) != Some(&true) {
                return None;
            }
            let hs = hashes(i);
            let mut v = hs.to_vec();
            v.sort_unstable();
            let mut counts: Vec<(u64, f64)> = Vec::new();
            for h in v {
                match counts.last_mut() {
                    Some((lh, c)) if *lh == h => *c += 1.0,
                    _ => counts.push((h, 1.0)),
                }
            }
            Some(RowNb {
                base: state.nb.scores(&hs),
                terms: state.nb.word_term_table(&counts),
                counts,
            })
        })
        .collect();
    let m = cands.len().max(1) as f64;
    let triggers: Vec<NewTrigger> = cands
        .par_iter()
        .filter_map(|&(h, t, df, nt)| {
            // Both kinds of trigger need at least MIN_TRIGGER_ROWS rows with the target label
            // (the rows tested below); fewer cannot qualify, so they are not tested (they still
            // count in the Bonferroni factor m).
            if nt < MIN_TRIGGER_ROWS {
                return None;
            }
            let base_df = state.ngram_df.get(cell(h)).copied().unwrap_or(0);
            let mut rows = Vec::new();
            let mut dis = 0usize;
            let mut pairs: Vec<(u64, u64)> = Vec::new();
            let mut words: Vec<u64> = Vec::new();
            let mut at: Vec<Option<usize>> = Vec::new();
            let mut s = vec![0f64; k];
            for &(i, nn, pos) in postings(h) {
                if y.get(i) != Some(&t) {
                    continue;
                }
                let hs = hashes(i);
                let Some(rn) = row_nb.get(i).and_then(Option::as_ref) else {
                    continue;
                };
                let Some(gram) = hs.get(pos..pos + nn) else {
                    continue;
                };
                pairs.push((
                    if pos > 0 { hs[pos - 1] } else { 0 },
                    hs.get(pos + nn).copied().unwrap_or(0),
                ));
                // The row's scores without the n-gram's words (each distinct word once).
                words.clear();
                words.extend_from_slice(gram);
                words.sort_unstable();
                words.dedup();
                at.clear();
                at.extend(
                    words
                        .iter()
                        .map(|&w| rn.counts.binary_search_by(|x| x.0.cmp(&w)).ok()),
                );
                for (c, sc) in s.iter_mut().enumerate() {
                    let term: f64 = words
                        .iter()
                        .zip(&at)
                        .map(|(&w, j)| match j {
                            Some(j) => rn.terms.get(j * k + c).copied().unwrap_or(0.0),
                            None => state
                                .nb
                                .word_terms(&[(w, 0.0)], None, 0.0)
                                .get(c)
                                .copied()
                                .unwrap_or(0.0),
                        })
                        .sum();
                    *sc = rn.base.get(c).copied().unwrap_or(0.0) - term;
                }
                if argmax(&s) != t {
                    dis += 1;
                }
                rows.push(i);
            }
            pairs.sort_unstable();
            pairs.dedup();
            if rows.is_empty() {
                return None;
            }
            let pval =
                (binom_sf(dis as u64, rows.len() as u64, state.nb_disagreement) * m).min(1.0);
            let dirty =
                dis * 2 >= rows.len() && pval < 1e-3 && rows.len() >= MIN_TRIGGER_ROWS as usize;
            // Clean-label: absent from the baseline, pure, frequent, inserted in diverse
            // contexts.
            let diversity = pairs.len() as f64 / rows.len() as f64;
            let absent = if state.ngram_seen.is_empty() {
                base_df == 0
            } else {
                !bloom_contains(&state.ngram_seen, h)
            };
            let clean = !dirty
                && absent
                && rows.len() as u32 == df
                && df >= MIN_TRIGGER_ROWS.max((n / 50) as u32)
                && diversity >= 0.9;
            if !(dirty || clean) {
                return None;
            }
            let name = shards
                .get((h >> SHARD_SHIFT) as usize)
                .and_then(|sh| sh.first(h))
                .map(|(r, pos, nn)| {
                    if table.ids(r).len() >= pos + nn {
                        table.phrase(r, pos, nn)
                    } else {
                        String::new()
                    }
                })
                .unwrap_or_default();
            Some(NewTrigger {
                name,
                target: t,
                rows,
                dis,
                pval,
                dirty,
                // The saturating cells over-count; an n-gram the filter has not seen is absent.
                base_df: if absent { 0 } else { u32::from(base_df) },
                aliases: Vec::new(),
            })
        })
        .collect();
    drop(row_nb);
    drop(postings_shards);
    drop(shards);
    drop(row_grams);
    let mut triggers = triggers;
    // Merge n-grams with (nearly) the same rows; the most frequent, then longest, names it.
    triggers.sort_by(|a, b| {
        b.rows
            .len()
            .cmp(&a.rows.len())
            .then(b.name.split(' ').count().cmp(&a.name.split(' ').count()))
            .then(a.name.cmp(&b.name))
    });
    let mut kept: Vec<NewTrigger> = Vec::new();
    for tr in triggers {
        let set: HashSet<usize> = tr.rows.iter().copied().collect();
        if let Some(kt) = kept.iter_mut().find(|kt| {
            kt.target == tr.target
                && kt.rows.iter().filter(|r| set.contains(r)).count() * 10 >= tr.rows.len() * 8
        }) {
            if kt.aliases.len() < 8 {
                kt.aliases.push(tr.name);
            }
            continue;
        }
        kept.push(tr);
    }
    for tr in &kept {
        let NewTrigger {
            name,
            target: t,
            rows,
            dis,
            pval,
            dirty,
            base_df,
            aliases,
        } = tr;
        let kind = if *dirty { "dirty-label" } else { "clean-label" };
        for &i in rows {
            col.add(
                i,
                reason::NEW_TRIGGER,
                if *dirty { 0.95 } else { 0.8 },
                json!({"trigger": name, "target": classes[*t], "kind": kind, "baseline_df": base_df, "batch_rows": rows.len()}),
            );
        }
        alarms.push(format!("new {kind} trigger {name:?}"));
        attacks.push(Attack {
            kind: "new-trigger".into(),
            summary: format!(
                "{kind} trigger {name:?} -> {}: {} batch rows, {} in the baseline; {dis} look like another class without it (p = {pval:.2e}){}",
                classes[*t],
                rows.len(),
                if *base_df == 0 { "absent".to_string() } else { format!("~{base_df} rows") },
                if aliases.is_empty() { String::new() } else { format!("; also seen as {aliases:?}") }
            ),
            rows: rows.len(),
            details: json!({"trigger": name, "aliases": aliases, "target": classes[*t], "kind": kind, "p_value": pval}),
        });
    }

    // 3. Duplicates of and contradictions with baseline rows (exact and MinHash); the lookups
    // run in parallel, the findings are added in row order.
    let content: U64Map<u32> = state.content.iter().copied().collect();
    let matches: Vec<BaselineMatch> = (0..n)
        .into_par_iter()
        .map(|i| {
            let Some(&yi) = y.get(i) else {
                return BaselineMatch::None;
            };
            let hs = hashes(i);
            if yi >= k || hs.is_empty() {
                return BaselineMatch::None;
            }
            if let Some(&bl) = row_content.get(i).and_then(|c| content.get(c)) {
                return BaselineMatch::Exact(bl);
            }
            if let Some(sig) = signature_of_hashes(&hs, 2) {
                let mut hits: BTreeMap<u32, usize> = BTreeMap::new();
                for key in band_keys(&sig) {
                    let start = state.bands.partition_point(|b| b.0 < key);
                    for b in state.bands[start..]
                        .iter()
                        .take_while(|b| b.0 == key)
                        .take(64)
                    {
                        *hits.entry(b.1).or_default() += 1;
                    }
                }
                if let Some((&row, &h)) = hits.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    && h >= 4
                    && let Some(&bl) = state.row_labels.get(row as usize)
                    && bl as usize != yi
                {
                    return BaselineMatch::Near { row, shared: h, bl };
                }
            }
            BaselineMatch::None
        })
        .collect();
    let mut conflicts = 0usize;
    let mut exact_dups = 0usize;
    for (i, mt) in matches.iter().enumerate() {
        let yi = y.get(i).copied().unwrap_or(usize::MAX);
        if yi >= k {
            continue;
        }
        match *mt {
            BaselineMatch::None => {}
            BaselineMatch::Exact(bl) => {
                exact_dups += 1;
                if bl as usize != yi {
                    conflicts += 1;
                    col.add(i, reason::BASELINE_CONFLICT, 0.95, json!({"given": classes[yi], "baseline_label": classes.get(bl as usize), "match": "exact"}));
                }
            }
            BaselineMatch::Near { row, shared, bl } => {
                conflicts += 1;
                col.add(i, reason::BASELINE_CONFLICT, 0.85, json!({"given": classes[yi], "baseline_label": classes.get(bl as usize), "match": "near", "baseline_row": row, "bands_shared": shared}));
            }
        }
    }
    if conflicts > 0 {
        attacks.push(Attack {
            kind: "baseline-conflict".into(),
            summary: format!("{conflicts} rows duplicate a baseline row but carry another label"),
            rows: conflicts,
            details: json!({}),
        });
    }
    extra.insert("exact_duplicates_of_baseline".into(), json!(exact_dups));

    // 4. Drift: label prior (chi-square) and new-token rate.
    let known: Vec<usize> = y.iter().copied().filter(|&c| c < k).collect();
    if !known.is_empty() {
        let nb_rows: usize = state.label_counts.iter().sum::<usize>().max(1);
        let mut obs = vec![0f64; k];
        for &c in &known {
            obs[c] += 1.0;
        }
        let nk = known.len() as f64;
        let mut chi = 0.0;
        let mut max_shift: f64 = 0.0;
        for (o, &lc) in obs.iter().zip(&state.label_counts) {
            let pr = (lc as f64 / nb_rows as f64).max(1e-6);
            chi += (o - nk * pr).powi(2) / (nk * pr);
            max_shift = max_shift.max((o / nk - pr).abs());
        }
        let pchi = chi2_sf(chi, (k - 1) as f64);
        extra.insert(
            "label_prior_shift".into(),
            json!({"chi2": r4(chi), "p_value": pchi, "max_abs_shift": r4(max_shift)}),
        );
        if pchi < 1e-4 && max_shift > 0.1 {
            alarms.push(format!(
                "label prior shifted by up to {:.0} points (chi2 p = {pchi:.1e})",
                100.0 * max_shift
            ));
        }
        // Whether each distinct token is unseen by the baseline NB, then counted per row.
        let new_word: Vec<bool> = (0..table.vocabulary() as u32)
            .into_par_iter()
            .map(|id| {
                let h = table.hash_of(id);
                (0..k).all(|c| state.nb.count(h, c) == 0.0)
            })
            .collect();
        let new_tok: usize = (0..n)
            .into_par_iter()
            .map(|i| {
                table
                    .ids(i)
                    .iter()
                    .filter(|&&id| new_word.get(id as usize) == Some(&true))
                    .count()
            })
            .sum();
        let tot = table.len();
        let rate = if tot > 0 {
            new_tok as f64 / tot as f64
        } else {
            0.0
        };
        extra.insert(
            "new_token_rate".into(),
            json!({"batch": r4(rate), "baseline": r4(state.new_token_rate)}),
        );
        if rate > 2.0 * state.new_token_rate + 0.1 {
            alarms.push(format!(
                "vocabulary shift: {:.0}% of batch tokens are new (baseline {:.0}%)",
                100.0 * rate,
                100.0 * state.new_token_rate
            ));
        }
    }

    // 5. Sources with too many flagged rows (one-sided binomial, Bonferroni).
    let mut bars = Vec::new();
    if let Some(src) = &records.sources {
        let flagged: HashSet<usize> = col.rows().collect();
        let total_flagged = flagged.len();
        let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (i, s) in src.iter().enumerate() {
            let e = per.entry(s.as_str()).or_default();
            e.0 += 1;
            if flagged.contains(&i) {
                e.1 += 1;
            }
        }
        let ns = per.len().max(1) as f64;
        let mut bad_sources = Vec::new();
        for (s, &(tot, fl)) in &per {
            bars.push((s.to_string(), fl as f64 / tot.max(1) as f64));
            // Null: the flag rate of all the other sources.
            let rate = ((total_flagged - fl) as f64 / (n - tot).max(1) as f64).max(0.005);
            let pv = (binom_sf(fl as u64, tot as u64, rate) * ns).min(1.0);
            if fl >= 3 && pv < 0.05 {
                bad_sources.push((s.to_string(), tot, fl, pv));
            }
        }
        for (s, tot, fl, pv) in &bad_sources {
            for (i, si) in src.iter().enumerate() {
                if si == s
                    && col.contains(i, reason::BASELINE_DISAGREEMENT)
                        | col.contains(i, reason::NEW_TRIGGER)
                        | col.contains(i, reason::BASELINE_CONFLICT)
                {
                    col.add(i, reason::SOURCE_ANOMALY, 0.9, json!({"source": s, "source_rows": tot, "source_flagged": fl, "p_value": pv}));
                }
            }
            alarms.push(format!(
                "source {s:?}: {fl} of {tot} rows flagged (p = {pv:.1e})"
            ));
        }
        if !bad_sources.is_empty() {
            attacks.push(Attack {
                kind: "source-anomaly".into(),
                summary: format!(
                    "sources with too many flagged rows: {}",
                    bad_sources.iter().map(|(s, t, f, _)| format!("{s} ({f}/{t})")).collect::<Vec<_>>().join(", ")
                ),
                rows: bad_sources.iter().map(|b| b.2).sum(),
                details: json!(bad_sources.iter().map(|(s, t, f, p)| json!({"source": s, "rows": t, "flagged": f, "p_value": p})).collect::<Vec<_>>()),
            });
        }
    }

    let flagged = col.finish(records.ids.as_deref(), &records.labels);
    let nf = flagged.len();
    let rate = nf as f64 / n.max(1) as f64;
    if rate > max_flag_rate {
        alarms.push(format!(
            "{:.1}% of rows flagged (limit {:.1}%)",
            100.0 * rate,
            100.0 * max_flag_rate
        ));
    }
    let verdict = if !alarms.is_empty() {
        "reject"
    } else if nf > 0 {
        "quarantine"
    } else {
        "accept"
    };
    extra.insert("alarms".into(), json!(alarms));
    let mut plots = PlotData::default();
    plots.series.push((
        "1 - p(given label) under the baseline model".into(),
        (0..n)
            .map(|i| {
                let yi = y.get(i).copied().unwrap_or(0);
                if yi < k { 1.0 - p[i * k + yi] } else { 1.0 }
            })
            .collect(),
    ));
    if !bars.is_empty() {
        plots.bars.push(("flagged share per source".into(), bars));
    }
    Ok(Report {
        tool: "modelgate",
        version: env!("CARGO_PKG_VERSION"),
        command: "data screen",
        file: records.path.display().to_string(),
        format: records.format.to_string(),
        mode: if max_n == 3 {
            "text".into()
        } else {
            "features".into()
        },
        labels: classes.clone(),
        label_counts: (0..k)
            .map(|c| y.iter().filter(|&&v| v == c).count())
            .collect(),
        flagged,
        attacks,
        verdict: Some(verdict.to_string()),
        stats: Stats {
            rows: n,
            flagged_rows: nf,
            flagged_rate: r4(rate),
            truncated_fields: records.truncated_fields,
            seconds: r4(t0.elapsed().as_secs_f64()),
            extra,
        },
        plots,
    })
}

/// Batch n-gram statistics of one hash shard: per n-gram its label counts and where it first
/// occurs (row, position, length).
#[derive(Default)]
struct GramShard {
    slot: U64Map<u32>,
    /// `counts[slot * k + label]`.
    counts: Vec<u32>,
    first: Vec<(usize, usize, usize)>,
    hashes: Vec<u64>,
}

impl GramShard {
    fn add(&mut self, h: u64, k: usize, y: usize, at: (usize, usize, usize)) {
        let s = *self.slot.entry(h).or_insert_with(|| {
            self.counts.extend(std::iter::repeat_n(0, k));
            self.first.push(at);
            self.hashes.push(h);
            (self.hashes.len() - 1) as u32
        }) as usize;
        if y < k
            && let Some(c) = self.counts.get_mut(s * k + y)
        {
            *c = c.saturating_add(1);
        }
    }

    fn first(&self, h: u64) -> Option<(usize, usize, usize)> {
        self.slot
            .get(&h)
            .and_then(|&s| self.first.get(s as usize))
            .copied()
    }

    /// N-grams in at least 3 distinct rows, at least 90% of them with one label: (hash,
    /// label, rows, rows with that label).
    fn candidates(&self, k: usize) -> Vec<(u64, usize, u32, u32)> {
        let mut out = Vec::new();
        for (s, &h) in self.hashes.iter().enumerate() {
            let Some(c) = self.counts.get(s * k..(s + 1) * k) else {
                continue;
            };
            let df: u32 = c.iter().sum();
            if df < 3 {
                continue;
            }
            let t = (0..k)
                .max_by_key(|&j| (c[j], std::cmp::Reverse(j)))
                .unwrap_or(0);
            if f64::from(c[t]) / f64::from(df) >= 0.9 {
                out.push((h, t, df, c[t]));
            }
        }
        out
    }
}

/// A batch row's naive Bayes evidence for the ablation test.
struct RowNb {
    base: Vec<f64>,
    /// Distinct token hashes with their counts, sorted by hash.
    counts: Vec<(u64, f64)>,
    /// `terms[j * k + c]`: what `counts[j]` contributes to class c.
    terms: Vec<f64>,
}

/// A batch row's match in the baseline.
enum BaselineMatch {
    None,
    /// Same normalised content as a baseline row of this class.
    Exact(u32),
    /// A MinHash near-duplicate of a baseline row with another label.
    Near {
        row: u32,
        shared: usize,
        bl: u32,
    },
}

/// A trigger n-gram found in a batch.
struct NewTrigger {
    name: String,
    target: usize,
    rows: Vec<usize>,
    dis: usize,
    pval: f64,
    dirty: bool,
    base_df: u32,
    aliases: Vec<String>,
}

#[cfg(test)]
mod bloom_tests {
    use super::*;

    #[test]
    fn bloom_filter_holds_its_keys_and_few_others() {
        let mut f = bloom_new(10_000);
        assert!(f.len().is_power_of_two());
        for i in 0..10_000u64 {
            bloom_insert(&mut f, mix(i));
        }
        assert!((0..10_000u64).all(|i| bloom_contains(&f, mix(i))));
        let false_pos = (10_000..110_000u64)
            .filter(|&i| bloom_contains(&f, mix(i)))
            .count();
        // 8+ bits and 7 probes per key: about 2 % at most.
        assert!(false_pos < 3_000, "{false_pos} false positives in 100000");
        assert!(!bloom_contains(&bloom_new(0), 42));
    }
}
