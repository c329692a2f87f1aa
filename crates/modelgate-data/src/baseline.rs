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
//! The state is gzip-compressed JSON with a format version.

use crate::audit::{AuditOptions, Featurizer, prepare};
use crate::cl::argmax;
use crate::dup::{band_keys, content_hash, signature};
use crate::error::{DataError, Result};
use crate::features::{Sparse, hashed_counts, ngram_hash, token_hash, tokenize};
use crate::hash::mix;
use crate::model::{Linear, ModelKind, fit_lr, oof_proba, stratified_folds};
use crate::read::{Content, Limits, Records, Spec, read, read_npy};
use crate::report::{Attack, Collector, PlotData, Report, Stats, r4, reason};
use crate::stats::{binom_sf, chi2_sf};
use crate::trigger::UnigramNb;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;

const STATE_VERSION: u32 = 1;
const SKETCH_BITS: u32 = 20;
const MAX_MINHASH_ROWS: usize = 500_000;

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
    pub ngram_df: Vec<u16>,
    /// (content hash, class) of every baseline row.
    pub content: Vec<(u64, u32)>,
    /// (band key, baseline row) for MinHash near-duplicate lookups.
    pub bands: Vec<(u64, u32)>,
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
        let max_n = if prep.mode == "text" { 3 } else { 1 };
        for (h, _, _) in ngrams(&toks, max_n) {
            if let Some(c) = ngram_df.get_mut(cell(h)) {
                *c = c.saturating_add(1);
            }
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
        if s.format != "modelgate-data-baseline" || s.version != STATE_VERSION {
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
/// fitted on vectors).
pub fn screen_file(
    state: &State,
    path: &Path,
    vectors: Option<&Path>,
    source: Option<&str>,
    id: Option<&str>,
    max_flag_rate: f64,
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
    let records = read(path, &spec, &limits)?;
    let v = match vectors {
        Some(p) => Some(read_npy(p, &limits)?),
        None => None,
    };
    screen(state, &records, v, max_flag_rate)
}

pub fn screen(
    state: &State,
    records: &Records,
    vectors: Option<Vec<Vec<f64>>>,
    max_flag_rate: f64,
) -> Result<Report> {
    let t0 = std::time::Instant::now();
    let n = records.rows;
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
    // Features with the baseline's featuriser.
    let (x, values): (Sparse, Option<Vec<Vec<f64>>>) = match (&state.featurizer, &records.content) {
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
            (scaler.transform(&v), Some(v))
        }
        (StateFeaturizer::Text(idf), Content::Text(t)) => {
            let counts: Vec<_> = t.iter().map(|s| hashed_counts(s, &idf.cfg)).collect();
            (idf.transform(&counts), None)
        }
        (StateFeaturizer::Dense { scaler, .. }, Content::Features { values, .. }) => {
            (scaler.transform(values), Some(values.clone()))
        }
        _ => {
            return Err(DataError::Invalid(format!(
                "{}: the batch's content does not match the baseline (text vs numeric features)",
                records.path.display()
            )));
        }
    };
    let tokens = |i: usize| -> Vec<String> {
        match (&state.featurizer, &records.content) {
            (StateFeaturizer::Text(_), Content::Text(t)) => {
                t.get(i).map(|s| tokenize(s)).unwrap_or_default()
            }
            (StateFeaturizer::Dense { scaler, names }, _) => values
                .as_ref()
                .and_then(|v| v.get(i))
                .map(|r| scaler.bin_tokens(names, r))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    };
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
    let mut p = vec![0f64; n * k];
    let mut n_dis = 0usize;
    for i in 0..n {
        let (idx, val) = x.row(i);
        let pr = state.model.proba(idx, val);
        p[i * k..i * k + k].copy_from_slice(&pr);
        let Some(&yi) = y.get(i) else { continue };
        if yi >= k {
            continue;
        }
        let j = argmax(&pr);
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
    let mut stats: HashMap<u64, GramStat> = HashMap::new();
    let mut row_grams: Vec<Vec<(u64, usize, usize)>> = Vec::with_capacity(n);
    let mut seen_rows: HashSet<u64> = HashSet::new();
    for i in 0..n {
        let toks = tokens(i);
        if !seen_rows.insert(content_hash(&toks)) {
            row_grams.push(Vec::new());
            continue;
        }
        let g = ngrams(&toks, max_n);
        let yi = y.get(i).copied().unwrap_or(usize::MAX);
        for &(h, nn, pos) in &g {
            let e = stats.entry(h).or_insert_with(|| (vec![0; k], (i, pos, nn)));
            if yi < k {
                e.0[yi] += 1;
            }
        }
        row_grams.push(g);
    }
    let row_hashes: Vec<Vec<u64>> = (0..n)
        .map(|i| tokens(i).iter().map(|t| token_hash(t)).collect())
        .collect();
    // Per row: baseline NB scores and sorted token counts (for O(words) ablation).
    let row_base: Vec<Vec<f64>> = row_hashes.iter().map(|hs| state.nb.scores(hs)).collect();
    let row_counts: Vec<Vec<(u64, f64)>> = row_hashes
        .iter()
        .map(|hs| {
            let mut v = hs.clone();
            v.sort_unstable();
            let mut out: Vec<(u64, f64)> = Vec::new();
            for h in v {
                match out.last_mut() {
                    Some((lh, c)) if *lh == h => *c += 1.0,
                    _ => out.push((h, 1.0)),
                }
            }
            out
        })
        .collect();
    let mut cands: Vec<(u64, usize, u32)> = Vec::new();
    for (h, (c, _)) in &stats {
        let df: u32 = c.iter().sum();
        if df < 3 {
            continue;
        }
        let t = (0..k)
            .max_by_key(|&j| (c[j], std::cmp::Reverse(j)))
            .unwrap_or(0);
        if f64::from(c[t]) / f64::from(df) >= 0.9 {
            cands.push((*h, t, df));
        }
    }
    cands.sort_unstable();
    let cand_set: HashSet<u64> = cands.iter().map(|c| c.0).collect();
    let mut postings: HashMap<u64, Vec<(usize, usize, usize)>> = HashMap::new();
    for (i, grams) in row_grams.iter().enumerate() {
        for &(h, nn, pos) in grams {
            if cand_set.contains(&h) {
                postings.entry(h).or_default().push((i, nn, pos));
            }
        }
    }
    let m = cands.len().max(1) as f64;
    let mut triggers: Vec<NewTrigger> = Vec::new();
    for &(h, t, df) in &cands {
        let base_df = state.ngram_df.get(cell(h)).copied().unwrap_or(0);
        let mut rows = Vec::new();
        let mut dis = 0usize;
        let mut pairs: HashSet<(u64, u64)> = HashSet::new();
        for &(i, g1, g2) in postings.get(&h).map(Vec::as_slice).unwrap_or(&[]) {
            if y.get(i) != Some(&t) {
                continue;
            }
            let g = (h, g1, g2);
            let Some(hs) = row_hashes.get(i) else {
                continue;
            };
            let (pos, nn) = (g.2, g.1);
            pairs.insert((
                if pos > 0 { hs[pos - 1] } else { 0 },
                hs.get(pos + nn).copied().unwrap_or(0),
            ));
            let wc = crate::trigger::ablated_word_counts(&hs[pos..pos + nn], &row_counts[i]);
            let terms = state.nb.word_terms(&wc, None, hs.len() as f64);
            let s: Vec<f64> = row_base[i].iter().zip(&terms).map(|(b, t)| b - t).collect();
            if argmax(&s) != t {
                dis += 1;
            }
            rows.push(i);
        }
        if rows.is_empty() {
            continue;
        }
        let pval = (binom_sf(dis as u64, rows.len() as u64, state.nb_disagreement) * m).min(1.0);
        let dirty = dis * 2 >= rows.len() && pval < 1e-3 && rows.len() >= 5;
        // Clean-label: absent from the baseline, pure, frequent, inserted in diverse contexts.
        let diversity = pairs.len() as f64 / rows.len() as f64;
        let clean = !dirty
            && base_df == 0
            && rows.len() as u32 == df
            && df >= 5.max((n / 50) as u32)
            && diversity >= 0.9;
        if dirty || clean {
            let name = stats
                .get(&h)
                .map(|s| {
                    let (r, pos, nn) = s.1;
                    let toks = tokens(r);
                    toks.get(pos..pos + nn)
                        .map(|w| w.join(" "))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            triggers.push(NewTrigger {
                name,
                target: t,
                rows,
                dis,
                pval,
                dirty,
                base_df: u32::from(base_df),
                aliases: Vec::new(),
            });
        }
    }
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

    // 3. Duplicates of and contradictions with baseline rows (exact and MinHash).
    let content: HashMap<u64, u32> = state.content.iter().copied().collect();
    let mut conflicts = 0usize;
    let mut exact_dups = 0usize;
    for i in 0..n {
        let Some(&yi) = y.get(i) else { continue };
        if yi >= k {
            continue;
        }
        let toks = tokens(i);
        if toks.is_empty() {
            continue;
        }
        if let Some(&bl) = content.get(&content_hash(&toks)) {
            exact_dups += 1;
            if bl as usize != yi {
                conflicts += 1;
                col.add(i, reason::BASELINE_CONFLICT, 0.95, json!({"given": classes[yi], "baseline_label": classes.get(bl as usize), "match": "exact"}));
            }
            continue;
        }
        if let Some(sig) = signature(&toks, 2) {
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
                conflicts += 1;
                col.add(i, reason::BASELINE_CONFLICT, 0.85, json!({"given": classes[yi], "baseline_label": classes.get(bl as usize), "match": "near", "baseline_row": row, "bands_shared": h}));
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
        let (mut new_tok, mut tot) = (0usize, 0usize);
        for i in 0..n {
            for t in tokens(i) {
                tot += 1;
                let h = token_hash(&t);
                if (0..k).all(|c| state.nb.count(h, c) == 0.0) {
                    new_tok += 1;
                }
            }
        }
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

/// Label counts of a batch n-gram and where it first occurs (row, position, length).
type GramStat = (Vec<u32>, (usize, usize, usize));

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
