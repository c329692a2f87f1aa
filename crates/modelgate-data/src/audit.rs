//! `modelgate data audit` for labelled data (text, numeric features, vectors): runs every
//! detector and assembles the report.

use crate::cl::{argmax, find_label_issues};
use crate::cluster::{kmeans, kmeans_sparse};
use crate::dup::{components, content_hash_of_hashes, signature_of_hashes};
use crate::error::{DataError, Result};
use crate::features::{FeatureConfig, Idf, Scaler, Sparse, embed, hashed_counts_csr};
use crate::model::{ModelKind, fit_lr, fit_nb, group_folds, oof_proba, stratified_folds};
use crate::read::{Content, Records};
use crate::report::{Attack, Collector, PlotData, Report, Stats, r4, reason};
use crate::tokens::TokenTable;
use crate::trigger::{TriggerConfig, find_triggers};
use rayon::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Settings of an audit (defaults are the documented ones).
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub model: ModelKind,
    pub folds: usize,
    /// Inverse L2 strength of the logistic regression (scikit-learn's `C`).
    pub c: f64,
    pub seed: u64,
    pub features: FeatureConfig,
    pub trigger: TriggerConfig,
    pub campaigns: bool,
    pub triggers: bool,
    pub duplicates: bool,
    pub ood: bool,
    /// Estimated Jaccard similarity from which two rows count as near duplicates.
    pub dup_threshold: f64,
    /// A cluster whose centroid is at most this cosine-similar to every other cluster's is
    /// isolated (junk candidate).
    pub ood_max_similarity: f64,
    /// Also flag small isolated clusters with mixed labels as junk (off by default: natural
    /// isolated topics with mixed labels exist in real data).
    pub ood_clusters: bool,
    /// Smallest number of rows in one cluster that makes a flip campaign.
    pub campaign_min_rows: usize,
    /// Mean rows per similarity cluster for the campaign folds.
    pub cluster_size: usize,
    /// Run the campaign test on numeric features / vectors too.
    pub campaigns_dense: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            model: ModelKind::Lr,
            folds: 5,
            c: 1.0,
            seed: 0,
            features: FeatureConfig::default(),
            trigger: TriggerConfig::default(),
            campaigns: true,
            triggers: true,
            duplicates: true,
            ood: true,
            dup_threshold: 0.8,
            ood_max_similarity: 0.05,
            ood_clusters: false,
            campaign_min_rows: 5,
            cluster_size: 100,
            campaigns_dense: false,
        }
    }
}

/// How the rows were turned into features.
#[derive(Debug, Clone)]
pub enum Featurizer {
    Text(Idf),
    Dense { scaler: Scaler, names: Vec<String> },
}

/// Labels encoded, features built.
pub struct Prepared {
    pub classes: Vec<String>,
    pub y: Vec<usize>,
    pub x: Sparse,
    pub featurizer: Featurizer,
    pub mode: &'static str,
    /// Dense values (features / vectors mode).
    pub values: Option<Vec<Vec<f64>>>,
    /// Every row tokenised once (words for text, `column=bin` tokens for numeric rows).
    pub tokens: TokenTable,
}

impl Prepared {
    /// The row's tokens for the trigger and duplicate tests.
    pub fn tokens(&self, i: usize) -> Vec<String> {
        self.tokens.strings(i)
    }
}

/// Encode string labels as 0..k in sorted order; errors on a missing or single class.
pub fn encode_labels(records: &Records) -> Result<(Vec<String>, Vec<usize>)> {
    if records.labels.is_empty() {
        return Err(DataError::Invalid(format!(
            "{}: no labels: give --label COL (chat files without labels are audited with the chat detectors)",
            records.path.display()
        )));
    }
    let mut classes: Vec<String> = records.labels.clone();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(DataError::Invalid(format!(
            "{}: the label column has only one class ({:?}); label-noise and trigger tests need at least two",
            records.path.display(),
            classes.first().cloned().unwrap_or_default()
        )));
    }
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let y = records
        .labels
        .iter()
        .map(|l| index.get(l.as_str()).copied().unwrap_or(0))
        .collect();
    Ok((classes, y))
}

/// Text rows of any content kind (chat rows are prompt + response).
pub fn row_text(records: &Records, i: usize) -> Option<String> {
    match &records.content {
        Content::Text(t) => t.get(i).cloned(),
        Content::Chat {
            prompts, responses, ..
        } => Some(format!(
            "{}\n{}",
            prompts.get(i).map(String::as_str).unwrap_or(""),
            responses.get(i).map(String::as_str).unwrap_or("")
        )),
        _ => None,
    }
}

/// Append row i's text (chat rows: prompt, newline, response) to `s`.
fn push_row_text(records: &Records, i: usize, s: &mut String) {
    match &records.content {
        Content::Text(t) => s.push_str(t.get(i).map(String::as_str).unwrap_or("")),
        Content::Chat {
            prompts, responses, ..
        } => {
            s.push_str(prompts.get(i).map(String::as_str).unwrap_or(""));
            s.push('\n');
            s.push_str(responses.get(i).map(String::as_str).unwrap_or(""));
        }
        _ => {}
    }
}

/// The `column=bin` tokens of numeric rows.
fn bin_token_table(scaler: &Scaler, names: &[String], values: &[Vec<f64>]) -> TokenTable {
    TokenTable::from_lists(values.len(), &|i| {
        values
            .get(i)
            .map(|row| scaler.bin_tokens(names, row))
            .unwrap_or_default()
    })
}

/// Text features from tokenised rows.
fn prepare_tokens(
    classes: Vec<String>,
    y: Vec<usize>,
    tokens: TokenTable,
    opts: &AuditOptions,
) -> Prepared {
    let counts = hashed_counts_csr(&tokens, &opts.features);
    let idf = Idf::fit_csr(&counts, opts.features);
    let x = idf.transform_csr(counts);
    Prepared {
        classes,
        y,
        x,
        featurizer: Featurizer::Text(idf),
        mode: "text",
        values: None,
        tokens,
    }
}

pub fn prepare(
    records: &Records,
    vectors: Option<Vec<Vec<f64>>>,
    opts: &AuditOptions,
) -> Result<Prepared> {
    let (classes, y) = encode_labels(records)?;
    let n = records.rows;
    if let Some(v) = vectors {
        if v.len() != n {
            return Err(DataError::Invalid(format!(
                "the vectors have {} rows but {} has {n}",
                v.len(),
                records.path.display()
            )));
        }
        let names: Vec<String> = (0..v.first().map(Vec::len).unwrap_or(0))
            .map(|j| format!("v{j}"))
            .collect();
        let scaler = Scaler::fit(&v);
        let x = scaler.transform(&v);
        let tokens = bin_token_table(&scaler, &names, &v);
        return Ok(Prepared {
            classes,
            y,
            x,
            featurizer: Featurizer::Dense { scaler, names },
            mode: "vectors",
            values: Some(v),
            tokens,
        });
    }
    match &records.content {
        Content::Features { names, values } => {
            let scaler = Scaler::fit(values);
            let x = scaler.transform(values);
            let tokens = bin_token_table(&scaler, names, values);
            Ok(Prepared {
                classes,
                y,
                x,
                featurizer: Featurizer::Dense {
                    scaler,
                    names: names.clone(),
                },
                mode: "features",
                values: Some(values.clone()),
                tokens,
            })
        }
        Content::Text(_) | Content::Chat { .. } => {
            let tokens = TokenTable::from_texts(n, &|i, s| push_row_text(records, i, s));
            Ok(prepare_tokens(classes, y, tokens, opts))
        }
        Content::None => Err(DataError::Invalid(format!(
            "{}: no row content: give --text COL, --features COLS or --vectors X.npy",
            records.path.display()
        ))),
    }
}

fn label_counts(y: &[usize], k: usize) -> Vec<usize> {
    let mut c = vec![0usize; k];
    for &v in y {
        if let Some(s) = c.get_mut(v) {
            *s += 1;
        }
    }
    c
}

/// Audit labelled data.
pub fn audit(
    records: &Records,
    vectors: Option<Vec<Vec<f64>>>,
    opts: &AuditOptions,
) -> Result<Report> {
    let t0 = std::time::Instant::now();
    let prep = prepare(records, vectors, opts)?;
    audit_prepared(records, prep, opts, t0)
}

/// Audit labelled data, releasing the row texts as soon as they are tokenised (the detectors
/// work on the token table and the features; the report needs only ids and labels).
pub fn audit_owned(
    mut records: Records,
    vectors: Option<Vec<Vec<f64>>>,
    opts: &AuditOptions,
) -> Result<Report> {
    let t0 = std::time::Instant::now();
    let prep = match (&vectors, &mut records.content) {
        (None, Content::Text(texts)) => {
            // Each chunk of texts is freed as soon as it is tokenised.
            let texts = std::mem::take(texts);
            records.content = Content::None;
            let (classes, y) = encode_labels(&records)?;
            let tokens = TokenTable::from_owned_texts(texts);
            prepare_tokens(classes, y, tokens, opts)
        }
        _ => prepare(&records, vectors, opts)?,
    };
    if matches!(records.content, Content::Chat { .. }) {
        records.content = Content::None;
    }
    audit_prepared(&records, prep, opts, t0)
}

/// Audit labelled text rows whose texts were tokenised while they were read (a streaming
/// read, [`crate::read::read_streaming`]): `records` holds the labels and ids, `tokens` one
/// row per record. The report is the one [`audit_owned`] gives for the same file.
pub fn audit_tokenized(
    records: Records,
    tokens: TokenTable,
    opts: &AuditOptions,
    t0: std::time::Instant,
) -> Result<Report> {
    if tokens.rows() != records.rows {
        return Err(DataError::Invalid(format!(
            "{}: internal: {} rows were read but {} tokenised",
            records.path.display(),
            records.rows,
            tokens.rows()
        )));
    }
    let (classes, y) = encode_labels(&records)?;
    let prep = prepare_tokens(classes, y, tokens, opts);
    audit_prepared(&records, prep, opts, t0)
}

fn audit_prepared(
    records: &Records,
    mut prep: Prepared,
    opts: &AuditOptions,
    t0: std::time::Instant,
) -> Result<Report> {
    // Every model below is fitted on these rows only: weight vectors over the columns that
    // occur, not over all 2^dim_bits hashed buckets.
    if prep.mode == "text" {
        prep.x.compact_columns();
    }
    let prep = prep;
    // The trigger test needs only the token table and the labels: it runs on its own thread
    // while confident learning and the campaign folds use the rayon pool (same result as
    // running it in sequence; it is single-threaded and was the longest stage).
    std::thread::scope(|s| {
        let triggers = opts.triggers.then(|| {
            let tcfg = TriggerConfig {
                max_n: if prep.mode == "text" {
                    opts.trigger.max_n
                } else {
                    2
                },
                ..opts.trigger.clone()
            };
            let (tokens, y, k) = (&prep.tokens, &prep.y, prep.classes.len());
            s.spawn(move || find_triggers(tokens, y, k, &tcfg))
        });
        audit_stages(records, &prep, opts, t0, triggers)
    })
}

fn audit_stages(
    records: &Records,
    prep: &Prepared,
    opts: &AuditOptions,
    t0: std::time::Instant,
    triggers: Option<std::thread::ScopedJoinHandle<'_, crate::trigger::TriggerResult>>,
) -> Result<Report> {
    let mut timings = serde_json::Map::new();
    let mut t_lap = t0;
    let mut lap = |m: &mut serde_json::Map<String, Value>, name: &str| {
        m.insert(name.to_string(), json!(r4(t_lap.elapsed().as_secs_f64())));
        if let Some(peak) = peak_rss_mb() {
            m.insert(format!("{name}_peak_rss_mb"), json!(peak));
        }
        t_lap = std::time::Instant::now();
    };
    let n = records.rows;
    let k = prep.classes.len();
    let y = &prep.y;
    let classes = &prep.classes;
    let model = if matches!(prep.featurizer, Featurizer::Dense { .. }) {
        ModelKind::Lr
    } else {
        opts.model
    };
    let mut col = Collector::default();
    let mut attacks: Vec<Attack> = Vec::new();
    let mut plots = PlotData::default();
    let mut extra = serde_json::Map::new();

    lap(&mut timings, "features");
    // The dense embedding only serves k-means on numeric data (text clusters on the sparse rows).
    let emb = if (opts.campaigns || opts.ood) && prep.mode != "text" {
        embed(&prep.x, 64)
    } else {
        Vec::new()
    };
    // Numeric features: natural sub-populations (a handwriting style) behave like campaigns
    // under cluster-held-out folds, so the campaign test runs on text only unless asked for.
    let run_campaigns = opts.campaigns && n >= 50 && (prep.mode == "text" || opts.campaigns_dense);
    // The stratified folds (1.) and the clustering and cluster-held-out folds (2.) do not
    // depend on each other: both run at once in the rayon pool, so that its threads always have
    // a fit to work on (each result is the same as when computed alone).
    let (p, campaign_fit) = rayon::join(
        || {
            let folds = stratified_folds(y, k, opts.folds.max(2), opts.seed);
            oof_proba(&prep.x, y, k, &folds, model, opts.c)
        },
        || {
            run_campaigns.then(|| {
                let n_clusters = (n / opts.cluster_size.max(2)).clamp(2, 500);
                let clusters = if prep.mode == "text" {
                    kmeans_sparse(&prep.x, n_clusters, 15, opts.seed ^ 0xc1, 50_000)
                } else {
                    kmeans(&emb, n_clusters, 15, opts.seed ^ 0xc1)
                };
                let gfolds = group_folds(&clusters, opts.folds.max(2));
                let pg = oof_proba(&prep.x, y, k, &gfolds, model, opts.c);
                (n_clusters, clusters, pg)
            })
        },
    );
    // 1. Confident learning on stratified out-of-fold probabilities.
    let mask = find_label_issues(y, &p, k);
    let mut pair_counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for i in (0..n).filter(|&i| mask[i]) {
        let row = &p[i * k..i * k + k];
        let j = argmax(row);
        *pair_counts.entry((y[i], j)).or_default() += 1;
        col.add(
            i,
            reason::LABEL_ISSUE,
            1.0 - row[y[i]],
            json!({"given": classes[y[i]], "predicted": classes[j], "p_given": r4(row[y[i]]), "p_predicted": r4(row[j]), "model": format!("{model:?}").to_lowercase(), "folds": "stratified"}),
        );
    }
    let n_issue = mask.iter().filter(|&&b| b).count();
    if n_issue > 0 {
        let by: Vec<String> = pair_counts
            .iter()
            .map(|((s, j), c)| format!("{} labelled {} looks like {}", c, classes[*s], classes[*j]))
            .collect();
        attacks.push(Attack {
            kind: "label-flips".into(),
            summary: format!(
                "{n_issue} rows ({:.2}%) whose label disagrees with out-of-fold predictions (confident learning): {}",
                100.0 * n_issue as f64 / n as f64,
                by.join("; ")
            ),
            rows: n_issue,
            details: json!({"by_pair": pair_counts.iter().map(|((s, j), c)| json!({"given": classes[*s], "predicted": classes[*j], "rows": c})).collect::<Vec<_>>()}),
        });
    }
    plots.series.push((
        "1 - p(given label), out-of-fold".into(),
        (0..n).map(|i| 1.0 - p[i * k + y[i]]).collect(),
    ));

    lap(&mut timings, "confident_learning");

    // 2. Flip campaigns: folds that hold out whole similarity clusters.
    if let Some((n_clusters, clusters, pg)) = campaign_fit {
        let gmask = find_label_issues(y, &pg, k);
        let mut groups: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
        for i in (0..n).filter(|&i| gmask[i]) {
            let j = argmax(&pg[i * k..i * k + k]);
            groups.entry((clusters[i], y[i], j)).or_default().push(i);
        }
        // Candidate groups, most hidden rows first; at most 4 are confirmed by refitting.
        let mut groups: Vec<((usize, usize, usize), Vec<usize>)> = groups
            .into_iter()
            .filter(|(_, rows)| {
                let hidden = rows.iter().filter(|&&i| !mask[i]).count();
                hidden >= opts.campaign_min_rows && hidden * 2 >= rows.len()
            })
            .collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        groups.truncate(4);
        groups.sort_by_key(|g| g.0);
        // Exclusionary reclassification: a model trained on everything but a group's rows
        // (their cluster-mates stay in) must still call them the other class. A natural
        // sub-population that merely went unseen while its cluster was held out does not.
        // The (at most 4) refits are independent and run in parallel.
        let refits: Vec<crate::model::Linear> = groups
            .par_iter()
            .map(|(_, rows)| {
                let out: std::collections::HashSet<usize> = rows.iter().copied().collect();
                let train: Vec<usize> = (0..n).filter(|i| !out.contains(i)).collect();
                match model {
                    ModelKind::Lr => fit_lr(&prep.x, y, k, &train, opts.c, 30),
                    ModelKind::Nb => fit_nb(&prep.x, y, k, &train, 0.1),
                }
            })
            .collect();
        let mut campaign_id = 0usize;
        for (((cl, s, j), rows), m) in groups.into_iter().zip(refits) {
            // A campaign hides from ordinary cross-validation: most of its rows are caught only
            // when their whole cluster is held out (the groups were filtered on this above).
            let hidden = rows.iter().filter(|&&i| !mask[i]).count();
            if hidden < opts.campaign_min_rows || hidden * 2 < rows.len() {
                continue;
            }
            let rows: Vec<usize> = rows
                .into_iter()
                .filter(|&i| {
                    let (idx, val) = prep.x.row(i);
                    argmax(&m.proba(idx, val)) != s
                })
                .collect();
            if rows.len() < opts.campaign_min_rows {
                continue;
            }
            let cluster_size = clusters.iter().filter(|&&c| c == cl).count();
            let cluster_label_s = (0..n).filter(|&i| clusters[i] == cl && y[i] == s).count();
            let mean_p = rows.iter().map(|&i| pg[i * k + j]).sum::<f64>() / rows.len() as f64;
            campaign_id += 1;
            let terms = top_terms(prep, &rows, 6);
            for &i in &rows {
                col.add(
                    i,
                    reason::FLIP_CAMPAIGN,
                    pg[i * k + j],
                    json!({"campaign": campaign_id, "cluster": cl, "cluster_rows": cluster_size, "campaign_rows": rows.len(), "given": classes[s], "predicted": classes[j], "p_predicted_cluster_held_out": r4(pg[i * k + j]), "top_terms": terms}),
                );
            }
            attacks.push(Attack {
                kind: "flip-campaign".into(),
                summary: format!(
                    "campaign {campaign_id}: {} similar rows labelled {} that a model trained without their cluster calls {} (mean p {:.2}); cluster {cl} has {cluster_size} rows, {cluster_label_s} labelled {}; common terms: {}",
                    rows.len(),
                    classes[s],
                    classes[j],
                    mean_p,
                    classes[s],
                    terms.join(", ")
                ),
                rows: rows.len(),
                details: json!({"campaign": campaign_id, "cluster": cl, "given": classes[s], "predicted": classes[j], "mean_p_predicted": r4(mean_p), "top_terms": terms}),
            });
        }
        extra.insert("clusters".into(), json!(n_clusters));
    }

    lap(&mut timings, "campaigns");
    // 3. Backdoor triggers.
    if let Some(handle) = triggers {
        // A panic in the trigger thread is re-raised here, as if it had run in sequence.
        let tr = handle
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        for t in &tr.triggers {
            let ablated: HashMap<usize, usize> = t.ablated.iter().copied().collect();
            for &i in &t.rows {
                let other = ablated.get(&i).map(|&c| classes[c].clone());
                let score = if other.is_some() {
                    1.0 - t.p_value.min(0.5)
                } else {
                    0.5
                };
                col.add(
                    i,
                    reason::BACKDOOR_TRIGGER,
                    score,
                    json!({"trigger": t.ngram, "target": classes[t.target], "without_trigger_predicted": other, "trigger_rows": t.df, "purity": r4(t.purity), "p_value": t.p_value}),
                );
            }
            attacks.push(Attack {
                kind: "backdoor-trigger".into(),
                summary: format!(
                    "trigger {:?} -> {}: in {} rows ({:.0}% labelled {}); without it {} of {} such rows look like another class (p = {:.2e}, Bonferroni over {} candidates){}",
                    t.ngram,
                    classes[t.target],
                    t.df,
                    100.0 * t.purity,
                    classes[t.target],
                    t.disagree,
                    t.tested_rows,
                    t.p_value,
                    tr.candidates_tested,
                    if t.aliases.is_empty() { String::new() } else { format!("; also seen as {:?}", t.aliases) }
                ),
                rows: t.rows.len(),
                details: json!({"trigger": t.ngram, "aliases": t.aliases, "target": classes[t.target], "df": t.df, "purity": r4(t.purity), "disagree": t.disagree, "tested_rows": t.tested_rows, "p_value": t.p_value, "label_counts": classes.iter().cloned().zip(t.label_counts.iter().copied()).collect::<BTreeMap<_, _>>()}),
            });
            plots.bars.push((
                format!("rows containing {:?} by label", t.ngram),
                classes
                    .iter()
                    .cloned()
                    .zip(t.label_counts.iter().map(|&c| f64::from(c)))
                    .collect(),
            ));
        }
        if !tr.clean_label.is_empty() {
            extra.insert(
                "clean_label_trigger_candidates".into(),
                json!(tr.clean_label.iter().map(|c| json!({"token": c.token, "target": classes[c.target], "df": c.df, "purity": r4(c.purity), "context_diversity": r4(c.diversity), "score": r4(c.score)})).collect::<Vec<_>>()),
            );
        }
        extra.insert(
            "trigger_candidates_tested".into(),
            json!(tr.candidates_tested),
        );
        extra.insert(
            "background_disagreement".into(),
            json!(r4(tr.background_disagreement)),
        );
    }

    lap(&mut timings, "triggers");
    // 4. Exact and near duplicates with conflicting labels.
    if opts.duplicates {
        let comp: Vec<usize> = if prep.mode == "text" {
            let sigs: Vec<_> = (0..n)
                .into_par_iter()
                .map(|i| signature_of_hashes(&prep.tokens.hashes(i), 2))
                .collect();
            components(&sigs, opts.dup_threshold)
        } else {
            // Exact duplicates of the numeric row.
            let mut first: HashMap<u64, usize> = HashMap::new();
            (0..n)
                .map(|i| {
                    let h = prep
                        .values
                        .as_ref()
                        .and_then(|v| v.get(i))
                        .map(|r| {
                            r.iter()
                                .fold(0x9u64, |h, v| crate::hash::mix(h ^ v.to_bits()))
                        })
                        .unwrap_or(i as u64);
                    *first.entry(h).or_insert(i)
                })
                .collect()
        };
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &c) in comp.iter().enumerate() {
            members.entry(c).or_default().push(i);
        }
        let mut conflicts = 0usize;
        let mut conflict_rows = 0usize;
        for rows in members.values().filter(|r| r.len() > 1) {
            let mut cnt: BTreeMap<usize, usize> = BTreeMap::new();
            for &i in rows {
                *cnt.entry(y[i]).or_default() += 1;
            }
            if cnt.len() < 2 {
                continue;
            }
            conflicts += 1;
            // Majority label; ties broken by the summed out-of-fold probability.
            let best = cnt
                .iter()
                .max_by(|a, b| {
                    a.1.cmp(b.1).then_with(|| {
                        let pa: f64 = rows.iter().map(|&i| p[i * k + *a.0]).sum();
                        let pb: f64 = rows.iter().map(|&i| p[i * k + *b.0]).sum();
                        pa.total_cmp(&pb)
                    })
                })
                .map(|(c, _)| *c)
                .unwrap_or(0);
            let exact = {
                let h0 = content_hash_of_hashes(&prep.tokens.hashes(rows[0]));
                rows.iter()
                    .all(|&i| content_hash_of_hashes(&prep.tokens.hashes(i)) == h0)
            };
            let ids: Vec<Value> = rows
                .iter()
                .take(10)
                .map(|&i| id_value(records, i))
                .collect();
            for &i in rows.iter().filter(|&&i| y[i] != best) {
                conflict_rows += 1;
                col.add(
                    i,
                    reason::DUPLICATE_CONFLICT,
                    0.9,
                    json!({"given": classes[y[i]], "duplicates_say": classes[best], "group_rows": rows.len(), "exact": exact, "group_ids": ids}),
                );
            }
        }
        if conflicts > 0 {
            attacks.push(Attack {
                kind: "duplicate-label-conflict".into(),
                summary: format!(
                    "{conflicts} groups of exact/near duplicates (Jaccard >= {}) carry conflicting labels; {conflict_rows} minority-label rows flagged",
                    opts.dup_threshold
                ),
                rows: conflict_rows,
                details: json!({"groups": conflicts}),
            });
        }
    }

    lap(&mut timings, "duplicates");
    // 5. Out-of-distribution junk: (a) gibberish rows, most of whose words occur nowhere else
    // in the file; (b) small, tight clusters unlike the rest of the data whose labels look
    // random (natural isolated topics carry a consistent label, injected junk does not).
    if opts.ood && n >= 20 {
        let mut flagged_ood = 0usize;
        if prep.mode == "text" {
            // Exact document frequencies of the words (64-bit hashes, no bucket collisions),
            // in two passes over the rows so that no row's words are kept.
            let words = |i: usize| -> Vec<u64> {
                let mut w: Vec<u64> = prep.tokens.hashes(i);
                w.sort_unstable();
                w
            };
            let mut df: crate::ngram_counts::U64Map<u32> = Default::default();
            for i in 0..n {
                let mut u = words(i);
                u.dedup();
                for h in u {
                    let d = df.entry(h).or_default();
                    *d = d.saturating_add(1);
                }
            }
            let gibberish: Vec<(usize, usize, f64)> = (0..n)
                .into_par_iter()
                .filter_map(|i| {
                    let w = words(i);
                    if w.len() < 5 {
                        return None;
                    }
                    let unique = w
                        .iter()
                        .filter(|h| df.get(h).copied().unwrap_or(0) <= 1)
                        .count();
                    let share = unique as f64 / w.len() as f64;
                    (share >= 0.7).then_some((i, w.len(), share))
                })
                .collect();
            for (i, len, share) in gibberish {
                flagged_ood += 1;
                col.add(
                    i,
                    reason::OUT_OF_DISTRIBUTION,
                    share.min(0.99),
                    json!({"kind": "gibberish", "words": len, "unique_word_share": r4(share)}),
                );
            }
        }
        let k_ood = if opts.ood_clusters {
            (n / 25).clamp(2, 200)
        } else {
            0
        };
        let clusters = if k_ood == 0 {
            Vec::new()
        } else if prep.mode == "text" {
            kmeans_sparse(&prep.x, k_ood, 15, opts.seed ^ 0x00d, 50_000)
        } else {
            kmeans(&emb, k_ood, 15, opts.seed ^ 0x00d)
        };
        let iso = crate::cluster::isolation(&prep.x, &clusters);
        let mut junk_clusters = 0usize;
        for (c, &(size, sim)) in iso.iter().enumerate() {
            if size < 5 || size as f64 > 0.05 * n as f64 || sim > opts.ood_max_similarity {
                continue;
            }
            let rows: Vec<usize> = (0..n).filter(|&i| clusters[i] == c).collect();
            let lc = label_counts(&rows.iter().map(|&i| y[i]).collect::<Vec<_>>(), k);
            let top = lc.iter().copied().max().unwrap_or(0);
            if top as f64 > 0.7 * size as f64 {
                continue; // a natural, label-consistent topic
            }
            junk_clusters += 1;
            for &i in &rows {
                flagged_ood += 1;
                col.add(
                    i,
                    reason::OUT_OF_DISTRIBUTION,
                    (1.0 - sim).clamp(0.5, 0.99),
                    json!({"kind": "isolated-cluster", "cluster_rows": size, "max_similarity_to_other_clusters": r4(sim), "cluster_labels": classes.iter().cloned().zip(lc.iter().copied()).collect::<BTreeMap<_, _>>()}),
                );
            }
        }
        if flagged_ood > 0 {
            attacks.push(Attack {
                kind: "out-of-distribution".into(),
                summary: format!(
                    "{flagged_ood} junk rows: gibberish (>= 70% of words unique to the row) or in {junk_clusters} small isolated clusters with mixed labels"
                ),
                rows: flagged_ood,
                details: json!({"isolated_clusters": junk_clusters}),
            });
        }
    }

    lap(&mut timings, "junk");
    let flagged = col.finish(records.ids.as_deref(), &records.labels);
    let nf = flagged.len();
    if std::env::var_os("MODELGATE_DATA_TIMINGS").is_some() {
        eprintln!(
            "modelgate data audit timings (s): {}",
            Value::Object(timings)
        );
    }
    Ok(Report {
        tool: "modelgate",
        version: env!("CARGO_PKG_VERSION"),
        command: "data audit",
        file: records.path.display().to_string(),
        format: records.format.to_string(),
        mode: prep.mode.to_string(),
        labels: classes.clone(),
        label_counts: label_counts(y, k),
        flagged,
        attacks,
        verdict: None,
        stats: Stats {
            rows: n,
            flagged_rows: nf,
            flagged_rate: r4(nf as f64 / n.max(1) as f64),
            truncated_fields: records.truncated_fields,
            seconds: r4(t0.elapsed().as_secs_f64()),
            extra,
        },
        plots,
    })
}

/// The process's peak resident memory so far in MB (Linux `/proc/self/status`; `None`
/// elsewhere). Only used for the optional timing report.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

pub fn id_value(records: &Records, i: usize) -> Value {
    match records.ids.as_ref().and_then(|v| v.get(i)) {
        Some(s) => Value::String(s.clone()),
        None => Value::from(i),
    }
}

/// The most characteristic tokens of a set of rows (frequency in the set × idf).
fn top_terms(prep: &Prepared, rows: &[usize], m: usize) -> Vec<String> {
    let mut cnt: HashMap<String, usize> = HashMap::new();
    for &i in rows.iter().take(500) {
        let mut toks = prep.tokens(i);
        toks.sort();
        toks.dedup();
        for t in toks {
            *cnt.entry(t).or_default() += 1;
        }
    }
    let idf = |t: &str| -> f64 {
        match &prep.featurizer {
            Featurizer::Text(idf) => {
                let b = (crate::hash::mix(crate::features::token_hash(t))
                    & ((1u64 << idf.cfg.dim_bits) - 1)) as usize;
                f64::from(idf.idf.get(b).copied().unwrap_or(0.0))
            }
            Featurizer::Dense { .. } => 1.0,
        }
    };
    let mut v: Vec<(f64, String)> = cnt
        .into_iter()
        .filter(|(_, c)| *c * 2 >= rows.len().min(500))
        .map(|(t, c)| (c as f64 * idf(&t), t))
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(m).map(|(_, t)| t).collect()
}
