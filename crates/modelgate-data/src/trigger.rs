//! Backdoor trigger test: word n-grams (or `column=bin` tokens) almost perfectly associated
//! with one label, carried by rows whose *other* evidence says another label.
//!
//! 1. n-gram × label counts (each n-gram once per row); candidates: df ≥ `min_df`, purity of
//!    the dominant label `t` ≥ `min_purity`.
//! 2. Ablation: a count-based multinomial naive Bayes over the unigrams is additive in log space,
//!    so the row's class scores without the n-gram are its scores minus the n-gram words' terms.
//!    `k_dis` = rows (containing g, labelled t) whose ablated argmax is not t.
//! 3. Significance: `P[Binomial(|R_g|, p_base) ≥ k_dis]` with `p_base` the file's background
//!    disagreement rate, Bonferroni over the candidates, and `k_dis/|R_g| ≥ 0.5`.
//! 4. Flagged n-grams whose rows coincide are merged; the most frequent names the trigger.
//!
//! Also ranks clean-label candidates (pure, frequent unigrams inserted in diverse contexts),
//! which are reported but only flagged against a trusted baseline.

use crate::features::ngram_hash;
use crate::hash::mix;
use crate::ngram_counts::{NgramCounts, RowGroups, U64Map};
use crate::stats::binom_sf;
use crate::tokens::TokenTable;
use rayon::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct TriggerConfig {
    pub max_n: usize,
    pub min_df: u32,
    pub min_purity: f64,
    /// Family-wise significance level.
    pub alpha: f64,
    /// Maximum distinct n-grams kept while counting (rare ones are pruned past it).
    pub map_cap: usize,
    pub nb_bits: u32,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        TriggerConfig {
            max_n: 3,
            min_df: 5,
            min_purity: 0.7,
            alpha: 0.01,
            map_cap: 4_000_000,
            nb_bits: 18,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Trigger {
    pub ngram: String,
    pub aliases: Vec<String>,
    pub target: usize,
    pub df: u32,
    pub purity: f64,
    pub disagree: usize,
    pub tested_rows: usize,
    pub p_value: f64,
    /// Label counts of the rows carrying the n-gram.
    pub label_counts: Vec<u32>,
    #[serde(skip)]
    pub rows: Vec<usize>,
    /// Per flagged row, the label the row's other evidence points to.
    #[serde(skip)]
    pub ablated: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CleanLabelCandidate {
    pub token: String,
    pub target: usize,
    pub df: u32,
    pub purity: f64,
    pub diversity: f64,
    pub score: f64,
}

/// Count-based naive Bayes over hashed unigrams. Scores can be computed leave-one-out (the
/// row's own counts removed from its class), so that a row's rare words cannot vouch for its
/// own label, and with some words ablated.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UnigramNb {
    pub k: usize,
    pub bits: u32,
    #[serde(with = "crate::packed")]
    pub counts: Vec<f32>,
    pub class_rows: Vec<f64>,
    pub alpha: f64,
    #[serde(skip)]
    totals: Vec<f64>,
    #[serde(skip)]
    used: f64,
}

impl UnigramNb {
    pub fn new(k: usize, bits: u32) -> Self {
        UnigramNb {
            k,
            bits,
            counts: vec![0.0; (1usize << bits) * k],
            class_rows: vec![0.0; k],
            alpha: 0.1,
            totals: Vec::new(),
            used: 1.0,
        }
    }
    fn bucket(&self, h: u64) -> usize {
        (mix(h) & ((1u64 << self.bits) - 1)) as usize
    }
    pub fn add(&mut self, toks: &[u64], y: usize) {
        self.add_copies(toks, y, 1);
    }
    /// Add `copies` identical rows.
    pub fn add_copies(&mut self, toks: &[u64], y: usize, copies: u32) {
        if y >= self.k {
            return;
        }
        let w = copies as f32;
        self.class_rows[y] += f64::from(copies);
        for &h in toks {
            let b = self.bucket(h) * self.k + y;
            if let Some(c) = self.counts.get_mut(b) {
                *c += w;
            }
        }
    }
    pub fn finish(&mut self) {
        let k = self.k.max(1);
        let nb = self.counts.len() / k;
        self.used = (0..nb)
            .filter(|&b| (0..k).any(|c| self.counts[b * k + c] > 0.0))
            .count()
            .max(1) as f64;
        let mut tot = vec![0f64; k];
        for b in 0..nb {
            for (c, t) in tot.iter_mut().enumerate() {
                *t += f64::from(self.counts[b * k + c]);
            }
        }
        self.totals = tot;
    }
    /// Count of a token in class c.
    pub fn count(&self, h: u64, c: usize) -> f64 {
        f64::from(
            self.counts
                .get(self.bucket(h) * self.k + c)
                .copied()
                .unwrap_or(0.0),
        )
    }
    /// Class log-scores of a row. `own`: the row's label when the row is part of the training
    /// counts (leave-one-out). Tokens in `ablate` are left out.
    pub fn scores_with(&self, toks: &[u64], own: Option<usize>, ablate: &[u64]) -> Vec<f64> {
        let k = self.k;
        let mut sorted: Vec<u64> = toks.to_vec();
        sorted.sort_unstable();
        let mut grouped: Vec<(u64, f64)> = Vec::new();
        for h in sorted {
            match grouped.last_mut() {
                Some((lh, c)) if *lh == h => *c += 1.0,
                _ => grouped.push((h, 1.0)),
            }
        }
        let n: f64 = self.class_rows.iter().sum::<f64>() - if own.is_some() { 1.0 } else { 0.0 };
        let len = toks.len() as f64;
        (0..k)
            .map(|c| {
                let mine = own == Some(c);
                let rows_c =
                    self.class_rows.get(c).copied().unwrap_or(0.0) - if mine { 1.0 } else { 0.0 };
                let mut s = ((rows_c.max(0.0) + 1e-3) / n.max(1.0)).ln();
                let tot = self.totals.get(c).copied().unwrap_or(0.0) - if mine { len } else { 0.0 };
                let denom = tot.max(0.0) + self.alpha * self.used;
                for &(h, cnt) in &grouped {
                    if ablate.contains(&h) {
                        continue;
                    }
                    let num =
                        (self.count(h, c) - if mine { cnt } else { 0.0 }).max(0.0) + self.alpha;
                    s += cnt * (num / denom).ln();
                }
                s
            })
            .collect()
    }
    pub fn scores(&self, toks: &[u64]) -> Vec<f64> {
        self.scores_with(toks, None, &[])
    }
    /// The score terms that `words` (each with its count in the row) contribute to class c,
    /// for a row of `len` tokens (leave-one-out when `own` is the row's label). Subtracting
    /// them from [`scores_with`](Self::scores_with) ablates the words in O(words · k).
    pub fn word_terms(&self, words: &[(u64, f64)], own: Option<usize>, len: f64) -> Vec<f64> {
        (0..self.k)
            .map(|c| {
                let mine = own == Some(c);
                let tot = self.totals.get(c).copied().unwrap_or(0.0) - if mine { len } else { 0.0 };
                let denom = tot.max(0.0) + self.alpha * self.used;
                words
                    .iter()
                    .map(|&(h, cnt)| self.word_term(h, cnt, c, mine, denom))
                    .sum()
            })
            .collect()
    }

    /// What one word (`cnt` times in the row) contributes to class c's score.
    fn word_term(&self, h: u64, cnt: f64, c: usize, mine: bool, denom: f64) -> f64 {
        let num = (self.count(h, c) - if mine { cnt } else { 0.0 }).max(0.0) + self.alpha;
        cnt * (num / denom).ln()
    }

    /// [`word_terms`](Self::word_terms) of each word separately (own = None): `out[j * k +
    /// c]` is what `words[j]` contributes to class c. Summing entries of this table in the
    /// order of a word list gives exactly the sums of `word_terms` on that list.
    pub fn word_term_table(&self, words: &[(u64, f64)]) -> Vec<f64> {
        let k = self.k;
        let denoms: Vec<f64> = (0..k)
            .map(|c| {
                let tot = self.totals.get(c).copied().unwrap_or(0.0);
                tot.max(0.0) + self.alpha * self.used
            })
            .collect();
        let mut out = Vec::with_capacity(words.len() * k);
        for &(h, cnt) in words {
            for (c, &denom) in denoms.iter().enumerate() {
                out.push(self.word_term(h, cnt, c, false, denom));
            }
        }
        out
    }
}

/// A row's class scores and each distinct word's score terms, computed once so that any set
/// of its words can be ablated by subtraction without another logarithm.
pub struct RowTerms {
    pub k: usize,
    /// Class log-scores of the whole row (as [`UnigramNb::scores_with`]).
    pub base: Vec<f64>,
    /// `terms[j * k + c]`: what distinct word j (in the order of the row's sorted counts)
    /// contributes to class c.
    pub terms: Vec<f64>,
}

impl RowTerms {
    /// Scores of the row without the words at positions `words` of its sorted counts (each
    /// once, in increasing order), written to `out`.
    pub fn ablated(&self, words: &[usize], out: &mut Vec<f64>) {
        out.clear();
        for c in 0..self.k {
            let mut t = 0.0;
            for &j in words {
                t += self.terms.get(j * self.k + c).copied().unwrap_or(0.0);
            }
            out.push(self.base.get(c).copied().unwrap_or(0.0) - t);
        }
    }
}

impl UnigramNb {
    /// [`RowTerms`] of a row given its sorted distinct word counts (`len` tokens in all;
    /// leave-one-out when `own` is the row's label).
    pub fn row_terms(&self, grouped: &[(u64, f64)], own: Option<usize>, len: f64) -> RowTerms {
        let k = self.k;
        let n: f64 = self.class_rows.iter().sum::<f64>() - if own.is_some() { 1.0 } else { 0.0 };
        let mut terms = vec![0f64; grouped.len() * k];
        let base = (0..k)
            .map(|c| {
                let mine = own == Some(c);
                let rows_c =
                    self.class_rows.get(c).copied().unwrap_or(0.0) - if mine { 1.0 } else { 0.0 };
                let mut s = ((rows_c.max(0.0) + 1e-3) / n.max(1.0)).ln();
                let tot = self.totals.get(c).copied().unwrap_or(0.0) - if mine { len } else { 0.0 };
                let denom = tot.max(0.0) + self.alpha * self.used;
                for (j, &(h, cnt)) in grouped.iter().enumerate() {
                    let num =
                        (self.count(h, c) - if mine { cnt } else { 0.0 }).max(0.0) + self.alpha;
                    let t = cnt * (num / denom).ln();
                    if let Some(slot) = terms.get_mut(j * k + c) {
                        *slot = t;
                    }
                    s += t;
                }
                s
            })
            .collect();
        RowTerms { k, base, terms }
    }
}

pub struct TriggerResult {
    pub triggers: Vec<Trigger>,
    pub clean_label: Vec<CleanLabelCandidate>,
    pub background_disagreement: f64,
    pub candidates_tested: usize,
    pub nb: UnigramNb,
}

/// Distinct n-gram hashes of one row (with their n and first position): the reference for
/// what the counting pass and [`row_candidates`] find.
#[cfg(test)]
fn row_ngrams(hs: &[u64], max_n: usize) -> Vec<(u64, u8, usize)> {
    // (hash, position << 8 | n): sorting the pairs orders by hash, then first position.
    let mut v: Vec<(u64, u64)> = Vec::with_capacity(hs.len() * max_n);
    for n in 1..=max_n {
        if hs.len() < n {
            break;
        }
        for (p, w) in hs.windows(n).enumerate() {
            let h = if n == 1 { w[0] } else { ngram_hash(w) };
            v.push((h, (p as u64) << 8 | n as u64));
        }
    }
    v.sort_unstable();
    v.dedup_by_key(|t| t.0);
    v.into_iter()
        .map(|(h, pn)| (h, (pn & 0xff) as u8, (pn >> 8) as usize))
        .collect()
}

/// The distinct n-grams of a row (token hashes `hs`) that pass `keep`, written to `out` in
/// hash order, each named by its first position and then its shortest length (as
/// [`row_ngrams`] names them).
fn row_candidates(
    hs: &[u64],
    max_n: usize,
    keep: impl Fn(u64) -> bool,
    out: &mut Vec<(u64, u8, usize)>,
) {
    out.clear();
    // The occurrences that pass `keep`, in (position, length) order, so that a stable sort by
    // hash puts each n-gram's first occurrence first.
    for p in 0..hs.len() {
        for n in 1..=max_n {
            let Some(win) = hs.get(p..p + n) else { break };
            let h = if n == 1 { win[0] } else { ngram_hash(win) };
            if keep(h) {
                out.push((h, n as u8, p));
            }
        }
    }
    out.sort_by_key(|t| t.0);
    out.dedup_by_key(|t| t.0);
}

fn argmax(s: &[f64]) -> usize {
    let mut b = 0;
    for (i, v) in s.iter().enumerate() {
        if *v > s[b] {
            b = i;
        }
    }
    b
}

/// Per candidate n-gram: rows tested (carrying it, labelled its target), rows that look like
/// another class without it, and where its text was first seen.
struct Tally {
    tested: u64,
    disagree: u64,
    name_row: usize,
    name_pos: usize,
}

/// A row's distinct token hashes (sorted) with their counts.
fn word_counts(hs: &[u64]) -> Vec<(u64, f64)> {
    let mut sorted = hs.to_vec();
    sorted.sort_unstable();
    let mut counts: Vec<(u64, f64)> = Vec::new();
    for h in sorted {
        match counts.last_mut() {
            Some((lh, c)) if *lh == h => *c += 1.0,
            _ => counts.push((h, 1.0)),
        }
    }
    counts
}

/// What pass 2 finds in one row: whether the row looks like another class, and per candidate
/// n-gram of the row (first position `p`) its neighbour pairs (clean-label candidates) and,
/// when the row carries the candidate's label, whether it looks like another class without it.
struct RowPass2 {
    disagree: bool,
    hits: Vec<Hit>,
}

struct Hit {
    h: u64,
    p: usize,
    clean: bool,
    contexts: Vec<(u64, u64)>,
    other: Option<bool>,
}

/// Reused buffers for the ablation.
#[derive(Default)]
struct Scratch {
    word_pos: Vec<usize>,
    scores: Vec<f64>,
}

impl Scratch {
    /// The row's argmax class with every occurrence of the words of the n-gram at `p..p + n`
    /// ablated.
    fn ablated_argmax(
        &mut self,
        rt: &RowTerms,
        counts: &[(u64, f64)],
        hs: &[u64],
        p: usize,
        n: usize,
    ) -> usize {
        self.word_pos.clear();
        for w in hs.get(p..p + n).unwrap_or(&[]) {
            if let Ok(j) = counts.binary_search_by(|x| x.0.cmp(w)) {
                self.word_pos.push(j);
            }
        }
        self.word_pos.sort_unstable();
        self.word_pos.dedup();
        rt.ablated(&self.word_pos, &mut self.scores);
        argmax(&self.scores)
    }
}

/// Run the trigger test on the rows of a token table.
pub fn find_triggers(
    table: &TokenTable,
    y: &[usize],
    k: usize,
    cfg: &TriggerConfig,
) -> TriggerResult {
    let n_rows = table.rows();
    // Identical rows (same tokens, same label) are analysed once, counted with multiplicity.
    let hashes = |i: usize| -> Vec<u64> { table.hashes(i) };
    let groups = RowGroups::new(n_rows, &hashes, y);
    let rep = |g: usize| groups.rep.get(g).copied().unwrap_or(0);
    let label = |g: usize| -> (usize, u32) {
        (
            y.get(rep(g)).copied().unwrap_or(0),
            groups.weight.get(g).copied().unwrap_or(0),
        )
    };
    // The naive Bayes counts and the n-gram counts are independent: both at once.
    let (nb, stats) = rayon::join(
        || {
            let mut nb = UnigramNb::new(k, cfg.nb_bits);
            let mut hs: Vec<u64> = Vec::new();
            for g in 0..groups.len() {
                table.hashes_into(rep(g), &mut hs);
                let (yi, w) = label(g);
                nb.add_copies(&hs, yi, w);
            }
            nb.finish();
            nb
        },
        || {
            let mut stats = NgramCounts::new(k);
            stats.count_groups(
                groups.len(),
                &|g| table.ids(rep(g)).len(),
                &|g, out| table.hashes_into(rep(g), out),
                &label,
                cfg.max_n,
                cfg.map_cap,
            );
            stats
        },
    );
    // Candidates.
    let mut cand: U64Map<(usize, u8)> = U64Map::default();
    for (h, counts, n) in stats.iter() {
        let df: u32 = counts.iter().sum();
        if df < cfg.min_df {
            continue;
        }
        let t = (0..k)
            .max_by_key(|&c| (counts[c], std::cmp::Reverse(c)))
            .unwrap_or(0);
        if f64::from(counts[t]) / f64::from(df) >= cfg.min_purity {
            cand.insert(h, (t, n));
        }
    }
    // Unigrams that may be clean-label triggers (their contexts are collected).
    let clean_cand: std::collections::HashSet<u64> = cand
        .iter()
        .filter(|(h, (t, n))| {
            *n == 1
                && stats.get(**h).is_some_and(|(c, _)| {
                    let df: u32 = c.iter().sum();
                    df >= 20 && f64::from(c[*t]) >= 0.98 * f64::from(df)
                })
        })
        .map(|(h, _)| *h)
        .collect();
    // Pass 2 (one row per group): background disagreement and, per candidate, how many of its
    // rows look like another class without it (counts only: memory grows with the candidates,
    // not with their occurrences).
    let mut disagree_rows = 0usize;
    let mut tally: U64Map<Tally> = U64Map::default();
    // Context diversity for clean-label candidates: distinct (left, right) neighbour pairs.
    let mut ctx: HashMap<u64, (u32, std::collections::HashSet<(u64, u64)>)> = HashMap::new();
    // The rows are scored in parallel, a chunk at a time, and their findings merged in row
    // order: the tallies and contexts are exactly those of one pass in sequence.
    const CHUNK: usize = 2048;
    let mut chunk_start = 0usize;
    while chunk_start < groups.len() {
        let chunk_end = (chunk_start + CHUNK).min(groups.len());
        let outs: Vec<RowPass2> = (chunk_start..chunk_end)
            .into_par_iter()
            .map_init(
                || (Scratch::default(), Vec::new(), Vec::new()),
                |(scratch, hs, hits), g| {
                    let i = groups.rep.get(g).copied().unwrap_or(0);
                    table.hashes_into(i, hs);
                    let yi = y.get(i).copied().unwrap_or(0);
                    let counts = word_counts(hs);
                    let rt = nb.row_terms(&counts, Some(yi), hs.len() as f64);
                    let mut out = RowPass2 {
                        disagree: argmax(&rt.base) != yi,
                        hits: Vec::new(),
                    };
                    row_candidates(hs, cfg.max_n, |h| cand.contains_key(&h), hits);
                    for &(h, n, p) in hits.iter() {
                        let Some(&(t, _)) = cand.get(&h) else {
                            continue;
                        };
                        let n = n as usize;
                        let mut hit = Hit {
                            h,
                            p,
                            clean: n == 1 && clean_cand.contains(&h),
                            contexts: Vec::new(),
                            other: None,
                        };
                        if hit.clean {
                            for (q, &word) in hs.iter().enumerate() {
                                if word == h {
                                    let l = if q > 0 { hs[q - 1] } else { 0 };
                                    let r = hs.get(q + 1).copied().unwrap_or(0);
                                    hit.contexts.push((l, r));
                                }
                            }
                        }
                        if yi == t {
                            hit.other = Some(scratch.ablated_argmax(&rt, &counts, hs, p, n) != t);
                        }
                        if hit.clean || hit.other.is_some() {
                            out.hits.push(hit);
                        }
                    }
                    out
                },
            )
            .collect();
        for (g, out) in (chunk_start..chunk_end).zip(outs) {
            let i = groups.rep.get(g).copied().unwrap_or(0);
            let w = groups.weight.get(g).copied().unwrap_or(0);
            if out.disagree {
                disagree_rows += w as usize;
            }
            for hit in out.hits {
                if hit.clean {
                    let e = ctx.entry(hit.h).or_default();
                    for lr in hit.contexts {
                        if e.0 < 10_000 {
                            e.0 = e.0.saturating_add(w);
                            e.1.insert(lr);
                        }
                    }
                }
                if let Some(other) = hit.other {
                    let e = tally.entry(hit.h).or_insert(Tally {
                        tested: 0,
                        disagree: 0,
                        name_row: i,
                        name_pos: hit.p,
                    });
                    e.tested += u64::from(w);
                    if other {
                        e.disagree += u64::from(w);
                    }
                }
            }
        }
        chunk_start = chunk_end;
    }
    let p_base = (disagree_rows as f64 / n_rows.max(1) as f64).max(1e-3);
    let m = cand.len().max(1) as f64;
    // The significant candidates.
    let mut keys: Vec<u64> = tally
        .iter()
        .filter(|(h, e)| {
            let Some(&(_, _)) = cand.get(*h) else {
                return false;
            };
            let frac = e.disagree as f64 / e.tested.max(1) as f64;
            frac >= 0.5 && binom_sf(e.disagree, e.tested, p_base) * m < cfg.alpha
        })
        .map(|(h, _)| *h)
        .collect();
    keys.sort_unstable();
    // Pass 3, only when something is significant: the rows of those candidates.
    let mut rows_of: U64Map<Vec<(usize, usize)>> = keys.iter().map(|&h| (h, Vec::new())).collect();
    if !keys.is_empty() {
        // The rows are scored in parallel and their findings kept in row order.
        let found: Vec<Vec<(u64, usize)>> = (0..groups.len())
            .into_par_iter()
            .map_init(
                || (Scratch::default(), Vec::new(), Vec::new()),
                |(scratch, hs, hits), g| {
                    let i = rep(g);
                    table.hashes_into(i, hs);
                    let yi = y.get(i).copied().unwrap_or(0);
                    row_candidates(
                        hs,
                        cfg.max_n,
                        |h| rows_of.contains_key(&h) && cand.get(&h).map(|c| c.0) == Some(yi),
                        hits,
                    );
                    if hits.is_empty() {
                        return Vec::new();
                    }
                    let counts = word_counts(hs);
                    let rt = nb.row_terms(&counts, Some(yi), hs.len() as f64);
                    hits.iter()
                        .map(|&(h, n, p)| {
                            (h, scratch.ablated_argmax(&rt, &counts, hs, p, n as usize))
                        })
                        .collect()
                },
            )
            .collect();
        for (g, v) in found.into_iter().enumerate() {
            for (h, a) in v {
                if let Some(r) = rows_of.get_mut(&h) {
                    r.push((g, a));
                }
            }
        }
    }
    let mut flagged: Vec<Trigger> = Vec::new();
    for h in &keys {
        let (Some(gs), Some(&(t, n)), Some(e)) = (rows_of.get(h), cand.get(h), tally.get(h)) else {
            continue;
        };
        let rows = groups.expand(gs);
        let k_dis = rows.iter().filter(|r| r.1 != t).count();
        let p = binom_sf(k_dis as u64, rows.len() as u64, p_base);
        let Some((counts, _)) = stats.get(*h) else {
            continue;
        };
        let df: u32 = counts.iter().sum();
        flagged.push(Trigger {
            ngram: table.phrase(e.name_row, e.name_pos, n as usize),
            aliases: Vec::new(),
            target: t,
            df,
            purity: f64::from(counts[t]) / f64::from(df.max(1)),
            disagree: k_dis,
            tested_rows: rows.len(),
            p_value: (p * m).min(1.0),
            label_counts: counts.to_vec(),
            rows: rows.iter().map(|r| r.0).collect(),
            ablated: rows.iter().filter(|r| r.1 != t).copied().collect(),
        });
    }
    // Merge n-grams explaining the same poisoned rows. The purest (largest share of rows that
    // look like another class without it), then most frequent, then longest n-gram names the
    // trigger; an n-gram whose disagreeing rows are (mostly) covered by a kept one is an alias.
    flagged.sort_by(|a, b| {
        // Near-pure n-grams (>= 90 % of their rows look like another class without them)
        // first, then the most frequent, then the longest.
        let fa = a.disagree * 10 >= a.tested_rows * 9;
        let fb = b.disagree * 10 >= b.tested_rows * 9;
        fb.cmp(&fa)
            .then(b.df.cmp(&a.df))
            .then(b.ngram.split(' ').count().cmp(&a.ngram.split(' ').count()))
            .then(a.ngram.cmp(&b.ngram))
    });
    let mut groups: Vec<Vec<Trigger>> = Vec::new();
    for tr in flagged {
        let found = groups.iter_mut().find(|g| {
            let kt = &g[0];
            kt.target == tr.target
                && tr
                    .ablated
                    .iter()
                    .filter(|(r, _)| kt.rows.binary_search(r).is_ok())
                    .count() as f64
                    >= 0.8 * tr.ablated.len() as f64
        });
        match found {
            Some(g) => g.push(tr),
            None => groups.push(vec![tr]),
        }
    }
    // Each group is named and its rows taken from the member with the largest net evidence:
    // rows that look like another class without it minus rows that do not (then the purest,
    // the most frequent, the longest).
    let mut kept: Vec<Trigger> = Vec::new();
    for mut g in groups {
        g.sort_by(|a, b| {
            let na = 2 * a.disagree as i64 - a.tested_rows as i64;
            let nb = 2 * b.disagree as i64 - b.tested_rows as i64;
            let fa = a.disagree as f64 / a.tested_rows.max(1) as f64;
            let fb = b.disagree as f64 / b.tested_rows.max(1) as f64;
            nb.cmp(&na)
                .then(fb.total_cmp(&fa))
                .then(b.df.cmp(&a.df))
                .then(b.ngram.split(' ').count().cmp(&a.ngram.split(' ').count()))
                .then(a.ngram.cmp(&b.ngram))
        });
        let mut it = g.into_iter();
        let Some(mut rep) = it.next() else { continue };
        rep.aliases = it.map(|t| t.ngram).take(8).collect();
        kept.push(rep);
    }
    // Clean-label candidates.
    let mut clean: Vec<CleanLabelCandidate> = Vec::new();
    for (h, (occ, pairs)) in &ctx {
        let Some((counts, _)) = stats.get(*h) else {
            continue;
        };
        let df: u32 = counts.iter().sum();
        let Some(&(t, n)) = cand.get(h) else { continue };
        if n != 1 || df < 20 {
            continue;
        }
        let purity = f64::from(counts[t]) / f64::from(df);
        let diversity = pairs.len() as f64 / f64::from((*occ).max(1));
        if purity >= 0.98 && diversity >= 0.9 {
            clean.push(CleanLabelCandidate {
                token: String::new(),
                target: t,
                df,
                purity,
                diversity,
                score: purity * diversity * f64::from(df).ln(),
            });
            if let Some(c) = clean.last_mut() {
                c.token = format!("#{h:016x}");
            }
        }
    }
    clean.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.token.cmp(&b.token)));
    clean.truncate(10);
    // Name the clean-label candidates.
    for c in &mut clean {
        if let Ok(h) = u64::from_str_radix(c.token.trim_start_matches('#'), 16)
            && let Some(w) = table.word_of_hash(h)
        {
            c.token = w.to_string();
        }
    }
    kept.sort_by(|a, b| a.p_value.total_cmp(&b.p_value).then(a.ngram.cmp(&b.ngram)));
    TriggerResult {
        triggers: kept,
        clean_label: clean,
        background_disagreement: p_base,
        candidates_tested: cand.len(),
        nb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Rng;

    fn corpus(trigger: bool) -> (Vec<String>, Vec<usize>, Vec<bool>) {
        let ham = [
            "meeting", "agenda", "project", "lunch", "report", "team", "schedule", "notes",
            "review", "budget",
        ];
        let spam = [
            "viagra", "winner", "cash", "prize", "offer", "cheap", "free", "click", "deal", "money",
        ];
        let mut rng = Rng::new(3);
        let mut texts = Vec::new();
        let mut y = Vec::new();
        let mut poison = Vec::new();
        for i in 0..400 {
            let c = i % 2;
            let words = if c == 0 { &ham } else { &spam };
            let mut t: Vec<String> = (0..12).map(|_| words[rng.below(10)].to_string()).collect();
            let mut label = c;
            let mut p = false;
            if trigger && c == 0 && i % 20 == 0 {
                t.insert(rng.below(12), "zqx".into());
                label = 1;
                p = true;
            }
            texts.push(t.join(" "));
            y.push(label);
            poison.push(p);
        }
        (texts, y, poison)
    }

    #[test]
    fn planted_trigger_is_named_and_its_rows_flagged() {
        let (texts, y, poison) = corpus(true);
        let table = TokenTable::from_texts(texts.len(), &|i, s| s.push_str(&texts[i]));
        let r = find_triggers(&table, &y, 2, &TriggerConfig::default());
        assert_eq!(r.triggers.len(), 1, "{:?}", r.triggers);
        assert_eq!(r.triggers[0].ngram, "zqx");
        assert_eq!(r.triggers[0].target, 1);
        let flagged: Vec<usize> = r.triggers[0].rows.clone();
        let truth: Vec<usize> = (0..texts.len()).filter(|&i| poison[i]).collect();
        assert_eq!(flagged, truth);
    }

    /// Everything the report takes from a trigger result.
    fn summary(r: &TriggerResult) -> String {
        let t: Vec<String> = r.triggers.iter().map(|t| format!("{t:?}")).collect();
        let c: Vec<String> = r.clean_label.iter().map(|c| format!("{c:?}")).collect();
        format!(
            "{t:?} {c:?} {} {}",
            r.background_disagreement.to_bits(),
            r.candidates_tested
        )
    }

    #[test]
    fn result_does_not_depend_on_the_thread_count() {
        let (mut texts, mut y, _) = corpus(true);
        // Identical rows and a phrase trigger too.
        for i in 0..60 {
            texts.push(format!(
                "cash cash cash free cash lunch report alpha beta gamma {i}"
            ));
            y.push(1);
        }
        let table = TokenTable::from_texts(texts.len(), &|i, s| s.push_str(&texts[i]));
        let cfg = TriggerConfig::default();
        let base = find_triggers(&table, &y, 2, &cfg);
        assert!(!base.triggers.is_empty());
        for threads in [1, 3] {
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
                panic!("thread pool");
            };
            let r = pool.install(|| find_triggers(&table, &y, 2, &cfg));
            assert_eq!(summary(&r), summary(&base), "{threads} threads");
            assert_eq!(
                r.triggers.iter().map(|t| &t.rows).collect::<Vec<_>>(),
                base.triggers.iter().map(|t| &t.rows).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn counted_ngrams_match_the_sorted_row_ngrams() {
        let mut rng = Rng::new(11);
        let rows: Vec<Vec<u64>> = (0..50)
            .map(|i| (0..(i % 17)).map(|_| rng.below(6) as u64 + 1).collect())
            .collect();
        let mut stats = NgramCounts::new(2);
        stats.count_groups(
            rows.len(),
            &|g| rows[g].len(),
            &|g, out| {
                out.clear();
                out.extend_from_slice(&rows[g]);
            },
            &|g| (g % 2, 1),
            3,
            usize::MAX,
        );
        let mut want: HashMap<u64, (Vec<u32>, u8)> = HashMap::new();
        let mut got = Vec::new();
        for (g, hs) in rows.iter().enumerate() {
            row_candidates(hs, 3, |_| true, &mut got);
            assert_eq!(got, row_ngrams(hs, 3), "row {g}");
            for (h, n, _) in row_ngrams(hs, 3) {
                let e = want.entry(h).or_insert((vec![0, 0], n));
                e.0[g % 2] += 1;
            }
        }
        assert_eq!(stats.len(), want.len());
        for (h, (c, n)) in &want {
            assert_eq!(stats.get(*h), Some((&c[..], *n)));
        }
    }

    #[test]
    fn candidate_filter_keeps_first_positions() {
        // "a b a b": the bigram "a b" first occurs at 0, the unigram "b" at 1.
        let hs = [1u64, 2, 1, 2];
        let ab = ngram_hash(&[1, 2]);
        let mut out = Vec::new();
        row_candidates(&hs, 3, |h| h == ab || h == 2, &mut out);
        let mut want = vec![(ab, 2u8, 0usize), (2, 1, 1)];
        want.sort_unstable();
        assert_eq!(out, want);
    }

    #[test]
    fn clean_corpus_has_no_trigger() {
        let (texts, y, _) = corpus(false);
        let table = TokenTable::from_texts(texts.len(), &|i, s| s.push_str(&texts[i]));
        let r = find_triggers(&table, &y, 2, &TriggerConfig::default());
        assert!(r.triggers.is_empty(), "{:?}", r.triggers);
    }
}
