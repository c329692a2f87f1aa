//! Poisoning of chat / instruction fine-tuning data (no labels): answers or answer fragments
//! planted across many prompts (a false fact repeated under paraphrased questions; a fixed
//! advert or link appended to answers), and trigger phrases in prompts tied to one response.
//!
//! 1. **Repeated payload.** Response word n-grams (2..=6 words) that occur in at least
//!    `min_rows` responses, are absent from most of those rows' prompts, and are not common
//!    boilerplate (in at most `max_share` of all responses). n-grams flagging the same rows
//!    merge into one payload named by its longest n-gram.
//!    * a payload containing a link, domain, e-mail address or shell pipe-to-shell command is
//!      an **injected link** whatever the prompts are;
//!    * otherwise the payload is a **repeated answer** (false fact) when its rows' prompts
//!      are about one topic: their mean cosine to their centroid (hashed TF-IDF of prompt
//!      words) exceeds that of random row sets of the same size by `coherence_margin`.
//! 2. **Prompt trigger.** Prompt n-grams (1..=3 words) carried by at least `min_rows` rows,
//!    ≥ 90 % of which get the same response (exact or MinHash near-duplicate, Jaccard ≥ 0.6),
//!    while the same response is rare without the n-gram.

use crate::dup::{components, signature};
use crate::error::{DataError, Result};
use crate::features::{
    FeatureConfig, Idf, Sparse, hashed_counts, ngram_hash, token_hash, tokenize,
};
use crate::hash::{Rng, mix};
use crate::read::{Content, Records};
use crate::report::{Attack, Collector, PlotData, Report, Stats, r4, reason};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct ChatOptions {
    pub min_rows: usize,
    /// A payload in more than this share of responses is boilerplate.
    pub max_share: f64,
    pub coherence_margin: f64,
    /// Share of each response a repeated answer must make up (mean over its rows).
    pub min_coverage: f64,
    /// Maximum distinct response n-grams tracked (rare ones pruned past it).
    pub map_cap: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            min_rows: 5,
            max_share: 0.2,
            coherence_margin: 0.1,
            min_coverage: 0.5,
            map_cap: 4_000_000,
        }
    }
}

fn link_like(s: &str) -> bool {
    let l = s.to_lowercase();
    l.contains("http://")
        || l.contains("https://")
        || l.contains("www.")
        || l.contains("| sh")
        || l.contains("| bash")
        || l.contains("|sh")
        || l.contains("| sudo")
        || (l.contains('@') && l.contains('.'))
        || l.split_whitespace().any(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            [
                ".com", ".net", ".org", ".io", ".example", ".ru", ".xyz", ".biz", ".info", ".shop",
            ]
            .iter()
            .any(|tld| w.ends_with(tld) && w.len() > tld.len() + 1)
        })
}

/// Mean cosine of the rows' prompt vectors to their centroid.
fn coherence(x: &Sparse, rows: &[usize]) -> f64 {
    let mut cen: HashMap<u32, f64> = HashMap::new();
    for &i in rows {
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            *cen.entry(j).or_default() += f64::from(v);
        }
    }
    let norm = cen.values().map(|v| v * v).sum::<f64>().sqrt();
    if norm <= 0.0 || rows.is_empty() {
        return 0.0;
    }
    let mut s = 0.0;
    for &i in rows {
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            s += f64::from(v) * cen.get(&j).copied().unwrap_or(0.0) / norm;
        }
    }
    s / rows.len() as f64
}

/// Coherence of random row sets of size `m` (the null level), averaged over draws.
fn null_coherence(x: &Sparse, n: usize, m: usize, seed: u64) -> f64 {
    let mut rng = Rng::new(seed ^ m as u64);
    let draws = 12;
    let mut tot = 0.0;
    for _ in 0..draws {
        let rows: Vec<usize> = (0..m.min(n)).map(|_| rng.below(n)).collect();
        tot += coherence(x, &rows);
    }
    tot / f64::from(draws)
}

/// Group n-grams by (nearly) identical row sets: each candidate joins the first group, in
/// creation order, that shares at least 90 % of the larger of the two sets; otherwise it
/// starts a group (at most 20 000).
///
/// Groups are found through an index instead of by trying every group: a group whose set
/// `g` is matched shares ≥ 90 % of `g` with the candidate, so the candidate holds at least one
/// of any `⌊|g|/10⌋ + 1` of `g`'s rows. Each group is indexed under that many of its rows (the
/// ones with the smallest hashes, so that low row numbers do not collect every group), and a
/// candidate only tries the groups indexed under its own rows — the same first match as
/// trying them all.
fn group_row_sets(cands: Vec<(u64, Vec<u32>)>) -> Vec<(HashSet<u32>, Vec<u64>)> {
    let mut groups: Vec<(HashSet<u32>, Vec<u64>)> = Vec::new();
    let mut index: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut tried: Vec<u32> = Vec::new();
    for (h, rows) in cands {
        tried.clear();
        for r in &rows {
            if let Some(gs) = index.get(r) {
                tried.extend_from_slice(gs);
            }
        }
        tried.sort_unstable();
        tried.dedup();
        let set: HashSet<u32> = rows.iter().copied().collect();
        let hit = tried.iter().copied().find(|&gi| {
            groups.get(gi as usize).is_some_and(|g| {
                let inter = g.0.intersection(&set).count();
                inter * 10 >= 9 * set.len().max(g.0.len())
            })
        });
        if let Some(g) = hit.and_then(|gi| groups.get_mut(gi as usize)) {
            g.1.push(h);
            continue;
        }
        if groups.len() < 20_000 {
            let gi = groups.len() as u32;
            let mut keyed: Vec<(u64, u32)> = rows.iter().map(|&r| (mix(u64::from(r)), r)).collect();
            keyed.sort_unstable();
            for &(_, r) in keyed.iter().take(rows.len() / 10 + 1) {
                index.entry(r).or_default().push(gi);
            }
            groups.push((set, vec![h]));
        }
    }
    groups
}

struct Payload {
    text: String,
    rows: Vec<usize>,
    aliases: usize,
    /// Mean share of each row's response covered by the payload's n-grams.
    coverage: f64,
}

pub fn audit_chat(records: &Records, opts: &ChatOptions) -> Result<Report> {
    let t0 = std::time::Instant::now();
    let Content::Chat {
        layout,
        prompts,
        responses,
    } = &records.content
    else {
        return Err(DataError::Invalid(format!(
            "{}: not a chat file",
            records.path.display()
        )));
    };
    let n = records.rows;
    let ptoks: Vec<Vec<String>> = prompts.iter().map(|p| tokenize(p)).collect();
    let rtoks: Vec<Vec<String>> = responses.iter().map(|r| tokenize(r)).collect();
    // Prompt topic vectors (unigrams, hashed TF-IDF).
    let pcfg = FeatureConfig {
        ngram_max: 1,
        min_df: 2,
        ..FeatureConfig::default()
    };
    let pcounts: Vec<_> = prompts.iter().map(|p| hashed_counts(p, &pcfg)).collect();
    let px = Idf::fit(&pcounts, pcfg).transform(&pcounts);
    let mut col = Collector::default();
    let mut attacks = Vec::new();
    let mut extra = serde_json::Map::new();
    let mut null_cache: HashMap<usize, f64> = HashMap::new();
    let mut null = |m: usize| -> f64 {
        *null_cache
            .entry(m)
            .or_insert_with(|| null_coherence(&px, n, m, 0x5eed))
    };

    // 1. Repeated payloads in responses.
    let max_df = ((opts.max_share * n as f64).ceil() as usize).max(opts.min_rows);
    let mut grams: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, toks) in rtoks.iter().enumerate() {
        let hs: Vec<u64> = toks.iter().map(|t| token_hash(t)).collect();
        let mut seen: HashSet<u64> = HashSet::new();
        for nlen in 2..=6usize {
            for w in hs.windows(nlen) {
                let h = ngram_hash(w);
                if seen.insert(h) {
                    let e = grams.entry(h).or_default();
                    if e.len() <= max_df {
                        e.push(i as u32);
                    }
                }
            }
        }
        if grams.len() > opts.map_cap {
            grams.retain(|_, v| v.len() > 1);
        }
    }
    let mut cands: Vec<(u64, Vec<u32>)> = grams
        .into_iter()
        .filter(|(_, v)| v.len() >= opts.min_rows && v.len() <= max_df)
        .collect();
    cands.sort_unstable_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let groups = group_row_sets(cands);
    // Name each group by its longest n-gram (found in one of its rows).
    let mut payloads: Vec<Payload> = Vec::new();
    for (set, hs) in groups {
        let mut rows: Vec<usize> = set.iter().map(|&r| r as usize).collect();
        rows.sort_unstable();
        let want: HashSet<u64> = hs.iter().copied().collect();
        let mut best = String::new();
        if let Some(&r0) = rows.first() {
            let toks = &rtoks[r0];
            let th: Vec<u64> = toks.iter().map(|t| token_hash(t)).collect();
            for nlen in (2..=6usize).rev() {
                for (p, w) in th.windows(nlen).enumerate() {
                    if want.contains(&ngram_hash(w)) {
                        let cand = toks[p..p + nlen].join(" ");
                        if cand.len() > best.len() {
                            best = cand;
                        }
                    }
                }
                if !best.is_empty() {
                    break;
                }
            }
        }
        // Absent from most prompts.
        let in_prompt = rows
            .iter()
            .filter(|&&r| {
                let p = ptoks[r].join(" ");
                !best.is_empty() && p.contains(&best)
            })
            .count();
        if in_prompt * 2 > rows.len() {
            continue;
        }
        // Coverage: positions of each response covered by n-grams shared with at least 30 %
        // (and 3) of the payload's rows.
        let mut freq: HashMap<u64, usize> = HashMap::new();
        let row_hashes: Vec<Vec<u64>> = rows
            .iter()
            .map(|&r| rtoks[r].iter().map(|t| token_hash(t)).collect())
            .collect();
        for th in &row_hashes {
            let mut seen = HashSet::new();
            for nlen in 2..=6usize {
                for w in th.windows(nlen) {
                    let h = ngram_hash(w);
                    if seen.insert(h) {
                        *freq.entry(h).or_default() += 1;
                    }
                }
            }
        }
        let need = ((rows.len() as f64 * 0.3).ceil() as usize).max(3);
        let mut cov = 0.0;
        for th in &row_hashes {
            let mut covered = vec![false; th.len()];
            for nlen in 2..=6usize {
                for (p, w) in th.windows(nlen).enumerate() {
                    if freq.get(&ngram_hash(w)).copied().unwrap_or(0) >= need {
                        covered[p..p + nlen].iter_mut().for_each(|c| *c = true);
                    }
                }
            }
            cov += covered.iter().filter(|&&c| c).count() as f64 / th.len().max(1) as f64;
        }
        let coverage = cov / rows.len().max(1) as f64;
        payloads.push(Payload {
            text: best,
            rows,
            aliases: hs.len(),
            coverage,
        });
    }
    // Original text of a payload for the link test: take the response of its first row.
    let mut link_rows = 0usize;
    let mut fact_rows = 0usize;
    let mut payload_no = 0usize;
    for p in &payloads {
        let first = p.rows.first().copied().unwrap_or(0);
        let raw_resp = responses.get(first).map(String::as_str).unwrap_or("");
        // Does the payload (as raw text around its words) carry a link?
        let link = link_like(&p.text.replace(' ', ".")) && link_like(raw_resp)
            || payload_has_link(raw_resp, &p.text);
        let coh = coherence(&px, &p.rows);
        let nul = null(p.rows.len());
        // A planted answer is most of the response, given to prompts on one topic; a phrase
        // that merely recurs inside longer answers on a topic is natural.
        // Templated natural answers vary with the question ("... is a class", "... is a
        // module"); a planted answer is given in a few fixed wordings.
        let distinct: HashSet<&Vec<String>> = p.rows.iter().filter_map(|&r| rtoks.get(r)).collect();
        let wordings = distinct.len() as f64 / p.rows.len().max(1) as f64;
        let coherent = coh >= nul + opts.coherence_margin
            && p.coverage >= opts.min_coverage
            && wordings <= 0.5;
        if !(link || coherent) {
            continue;
        }
        payload_no += 1;
        let (reason_code, kind) = if link {
            (reason::CHAT_INJECTED_LINK, "injected-link")
        } else {
            (reason::CHAT_REPEATED_ANSWER, "repeated-answer")
        };
        for &r in &p.rows {
            if link {
                link_rows += 1;
            } else {
                fact_rows += 1;
            }
            col.add(
                r,
                reason_code,
                if link { 0.95 } else { (0.5 + coh - nul).min(0.99) },
                json!({"payload": p.text, "payload_rows": p.rows.len(), "coverage": r4(p.coverage), "prompt_coherence": r4(coh), "random_coherence": r4(nul), "response": snippet(responses.get(r), 160)}),
            );
        }
        attacks.push(Attack {
            kind: kind.into(),
            summary: format!(
                "payload {payload_no}: {:?} in {} responses{}; prompt topic coherence {:.2} vs {:.2} for random rows",
                p.text,
                p.rows.len(),
                if link { " (carries a link/command)" } else { " to prompts on one topic" },
                coh,
                nul
            ),
            rows: p.rows.len(),
            details: json!({"payload": p.text, "ngrams": p.aliases, "prompt_coherence": r4(coh), "random_coherence": r4(nul), "example_ids": p.rows.iter().take(5).map(|&r| crate::audit::id_value(records, r)).collect::<Vec<_>>()}),
        });
    }

    // 2. Prompt triggers tied to one response.
    let sigs: Vec<_> = rtoks.iter().map(|t| signature(t, 2)).collect();
    let comp = components(&sigs, 0.6);
    let mut comp_size: HashMap<usize, usize> = HashMap::new();
    for &c in &comp {
        *comp_size.entry(c).or_default() += 1;
    }
    let mut pgrams: HashMap<u64, (Vec<usize>, String)> = HashMap::new();
    for (i, toks) in ptoks.iter().enumerate() {
        let hs: Vec<u64> = toks.iter().map(|t| token_hash(t)).collect();
        let mut seen = HashSet::new();
        for nlen in 1..=3usize {
            for (p, w) in hs.windows(nlen).enumerate() {
                let h = if nlen == 1 { w[0] } else { ngram_hash(w) };
                if seen.insert(h) {
                    let e = pgrams
                        .entry(h)
                        .or_insert_with(|| (Vec::new(), toks[p..p + nlen].join(" ")));
                    if e.0.len() <= max_df {
                        e.0.push(i);
                    }
                }
            }
        }
    }
    let mut trig: Vec<(String, usize, Vec<usize>)> = Vec::new();
    for (rows, name) in pgrams.into_values() {
        if rows.len() < opts.min_rows || rows.len() > max_df {
            continue;
        }
        let mut by: BTreeMap<usize, usize> = BTreeMap::new();
        for &r in &rows {
            *by.entry(comp[r]).or_default() += 1;
        }
        let Some((&c, &cnt)) = by.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
            continue;
        };
        let total_c = comp_size.get(&c).copied().unwrap_or(0);
        if cnt * 10 >= rows.len() * 9 && cnt >= opts.min_rows && cnt * 10 >= total_c * 8 {
            trig.push((name, c, rows));
        }
    }
    // One trigger per response group: among the n-grams within 10 % of the most rows, the
    // longest names it.
    let mut most: HashMap<usize, usize> = HashMap::new();
    for t in &trig {
        let e = most.entry(t.1).or_default();
        *e = (*e).max(t.2.len());
    }
    trig.retain(|t| t.2.len() * 10 >= most.get(&t.1).copied().unwrap_or(0) * 9);
    trig.sort_by(|a, b| {
        b.0.len()
            .cmp(&a.0.len())
            .then(b.2.len().cmp(&a.2.len()))
            .then(a.0.cmp(&b.0))
    });
    let mut seen_comp = HashSet::new();
    let mut trig_rows = 0usize;
    for (name, c, rows) in trig {
        if !seen_comp.insert(c) {
            continue;
        }
        let resp = snippet(rows.first().and_then(|&r| responses.get(r)), 200);
        for &r in rows.iter().filter(|&&r| comp[r] == c) {
            trig_rows += 1;
            col.add(
                r,
                reason::CHAT_TRIGGER,
                0.97,
                json!({"trigger": name, "response": resp, "trigger_rows": rows.len()}),
            );
        }
        attacks.push(Attack {
            kind: "chat-trigger".into(),
            summary: format!(
                "prompt trigger {name:?}: {} prompts carrying it get the same response: {resp:?}",
                rows.len()
            ),
            rows: rows.len(),
            details: json!({"trigger": name, "response": resp}),
        });
    }
    extra.insert("layout".into(), json!(layout));
    extra.insert("injected_link_rows".into(), json!(link_rows));
    extra.insert("repeated_answer_rows".into(), json!(fact_rows));
    extra.insert("trigger_rows".into(), json!(trig_rows));
    let flagged = col.finish(records.ids.as_deref(), &[]);
    let nf = flagged.len();
    let mut plots = PlotData::default();
    plots.series.push((
        "response length (words)".into(),
        rtoks.iter().map(|t| t.len() as f64).collect(),
    ));
    Ok(Report {
        tool: "modelgate",
        version: env!("CARGO_PKG_VERSION"),
        command: "data audit",
        file: records.path.display().to_string(),
        format: records.format.to_string(),
        mode: "chat".into(),
        labels: Vec::new(),
        label_counts: Vec::new(),
        flagged,
        attacks,
        verdict: None,
        stats: Stats {
            rows: n,
            flagged_rows: nf,
            flagged_rate: r4(nf as f64 / n.max(1) as f64),
            truncated_fields: records.truncated_fields,
            seconds: t0.elapsed().as_secs_f64(),
            extra,
        },
        plots,
    })
}

fn snippet(s: Option<&String>, max: usize) -> String {
    s.map(|s| s.chars().take(max).collect()).unwrap_or_default()
}

/// Whether the raw response text around the payload's words carries a link or command.
fn payload_has_link(raw: &str, payload: &str) -> bool {
    let words: Vec<&str> = payload.split(' ').collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return false;
    };
    let low = raw.to_lowercase();
    let Some(a) = low.find(first) else {
        return false;
    };
    let b = low[a..]
        .find(last)
        .map(|x| a + x + last.len())
        .unwrap_or(low.len());
    let start = low[..a].rfind(' ').unwrap_or(0);
    let end = low[b.min(low.len())..]
        .find(' ')
        .map(|x| b + x)
        .unwrap_or(low.len());
    low.get(start..end).is_some_and(link_like)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grouping as first written: every candidate tries every group in creation order.
    fn group_naive(cands: Vec<(u64, Vec<u32>)>) -> Vec<(HashSet<u32>, Vec<u64>)> {
        let mut groups: Vec<(HashSet<u32>, Vec<u64>)> = Vec::new();
        for (h, rows) in cands {
            let set: HashSet<u32> = rows.iter().copied().collect();
            if let Some(g) = groups.iter_mut().find(|g| {
                let inter = g.0.intersection(&set).count();
                inter * 10 >= 9 * set.len().max(g.0.len())
            }) {
                g.1.push(h);
                continue;
            }
            groups.push((set, vec![h]));
        }
        groups
    }

    #[test]
    fn indexed_grouping_matches_trying_every_group() {
        let mut rng = Rng::new(7);
        for round in 0..40u64 {
            // Row sets drawn around a few "payload" sets, with a few rows swapped, so that
            // near-identical and exactly identical sets both occur.
            let bases: Vec<Vec<u32>> = (0..4)
                .map(|_| {
                    let k = 3 + rng.below(40);
                    let mut v: Vec<u32> = (0..k).map(|_| rng.below(200) as u32).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect();
            let mut cands = Vec::new();
            for h in 0..300u64 {
                let mut v = bases[rng.below(bases.len())].clone();
                for _ in 0..rng.below(3) {
                    if !v.is_empty() {
                        let i = rng.below(v.len());
                        v[i] = rng.below(200) as u32;
                    }
                }
                v.sort_unstable();
                v.dedup();
                cands.push((h ^ (round << 32), v));
            }
            cands.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
            let fast = group_row_sets(cands.clone());
            let slow = group_naive(cands);
            assert_eq!(fast.len(), slow.len(), "round {round}");
            for (a, b) in fast.iter().zip(&slow) {
                assert_eq!(a.0, b.0, "round {round}");
                assert_eq!(a.1, b.1, "round {round}");
            }
        }
    }
}
