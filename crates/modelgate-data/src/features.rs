//! Tokenising and hashed features.
//!
//! Text becomes lowercase word tokens (`[\p{L}\p{N}]+`, at least two characters), word n-grams
//! (1..=`ngram_max`) and, optionally, character 3–5-grams inside words; each feature is hashed
//! into `2^dim_bits` buckets (memory is independent of the vocabulary), weighted by sublinear
//! tf × smoothed idf, buckets seen in fewer than `min_df` rows dropped, rows L2-normalised.
//! Numeric columns are standardised; for the trigger test they also become
//! `column=bin` tokens (quantile bins).

use crate::hash::{combine, hash_str, mix};

/// Compressed sparse rows.
#[derive(Debug, Clone, Default)]
pub struct Sparse {
    pub indptr: Vec<usize>,
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
    pub dim: usize,
}

impl Sparse {
    pub fn rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = match (self.indptr.get(i), self.indptr.get(i + 1)) {
            (Some(&a), Some(&b)) if a <= b => (a, b),
            _ => (0, 0),
        };
        (
            self.idx.get(a..b).unwrap_or(&[]),
            self.val.get(a..b).unwrap_or(&[]),
        )
    }
    pub fn nnz(&self) -> usize {
        self.idx.len()
    }
}

impl Sparse {
    /// Renumber the columns to `0..m` (m = columns that occur), keeping their order, so that
    /// models fitted on the matrix need weight vectors of m entries instead of `dim`. Returns
    /// the original column of each new one.
    pub fn compact_columns(&mut self) -> Vec<u32> {
        let mut new_of = vec![u32::MAX; self.dim];
        for &j in &self.idx {
            if let Some(s) = new_of.get_mut(j as usize) {
                *s = 0;
            }
        }
        let mut columns = Vec::new();
        for (j, s) in new_of.iter_mut().enumerate() {
            if *s == 0 {
                *s = columns.len() as u32;
                columns.push(j as u32);
            }
        }
        for j in &mut self.idx {
            *j = new_of.get(*j as usize).copied().unwrap_or(0);
        }
        self.dim = columns.len();
        columns
    }
}

/// Feature settings (saved in the baseline state so that batches are featurised alike).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureConfig {
    pub dim_bits: u32,
    pub ngram_max: usize,
    pub char_ngrams: bool,
    pub min_df: u32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            dim_bits: 20,
            ngram_max: 2,
            char_ngrams: false,
            min_df: 2,
        }
    }
}

/// Lowercase word tokens of at least two characters.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut buf = String::new();
    let mut ends = Vec::new();
    tokenize_into(text, &mut buf, &mut ends);
    let mut a = 0;
    ends.iter()
        .map(|&e| {
            let w = buf.get(a..e).unwrap_or("").to_string();
            a = e;
            w
        })
        .collect()
}

/// The tokens of [`tokenize`] appended to `buf` back to back, the end offset of each pushed
/// to `ends` (no allocation per token; ASCII takes a fast path with the same result).
pub fn tokenize_into(text: &str, buf: &mut String, ends: &mut Vec<usize>) {
    let mut start = buf.len();
    let mut chars = 0usize;
    for ch in text.chars() {
        if ch.is_ascii() {
            if ch.is_ascii_alphanumeric() {
                buf.push(ch.to_ascii_lowercase());
                chars += 1;
                continue;
            }
        } else if ch.is_alphanumeric() {
            for l in ch.to_lowercase() {
                buf.push(l);
                chars += 1;
            }
            continue;
        }
        if chars >= 2 {
            ends.push(buf.len());
            start = buf.len();
        } else {
            buf.truncate(start);
        }
        chars = 0;
    }
    if chars >= 2 {
        ends.push(buf.len());
    } else {
        buf.truncate(start);
    }
}

/// Hash of one token (stable).
pub fn token_hash(t: &str) -> u64 {
    hash_str(t, 0x7a11)
}

/// Hash of an n-gram from its token hashes.
pub fn ngram_hash(hs: &[u64]) -> u64 {
    let mut h = 0x5eed_u64.wrapping_add(hs.len() as u64);
    for &x in hs {
        h = combine(h, x);
    }
    h
}

/// Raw hashed term counts of one text: sorted (bucket, count).
pub fn hashed_counts(text: &str, cfg: &FeatureConfig) -> Vec<(u32, f32)> {
    let toks = tokenize(text);
    let hs: Vec<u64> = toks.iter().map(|t| token_hash(t)).collect();
    let words: Vec<&str> = toks.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    hashed_counts_of(&hs, &words, cfg, &mut Vec::new(), &mut out);
    out
}

/// Raw hashed term counts of one row given its token hashes (and, for character n-grams, its
/// words), appended to `out` as sorted (bucket, count); `buckets` is scratch space.
pub fn hashed_counts_of(
    hs: &[u64],
    words: &[&str],
    cfg: &FeatureConfig,
    buckets: &mut Vec<u32>,
    out: &mut Vec<(u32, f32)>,
) {
    let mask = (1u64 << cfg.dim_bits) - 1;
    buckets.clear();
    for n in 1..=cfg.ngram_max.max(1) {
        if hs.len() < n {
            break;
        }
        for w in hs.windows(n) {
            let h = if n == 1 { mix(w[0]) } else { ngram_hash(w) };
            buckets.push((h & mask) as u32);
        }
    }
    if cfg.char_ngrams {
        for t in words {
            let cs: Vec<char> = format!("<{t}>").chars().collect();
            for n in 3..=5 {
                for w in cs.windows(n) {
                    let s: String = w.iter().collect();
                    buckets.push((hash_str(&s, 0xc4a2) & mask) as u32);
                }
            }
        }
    }
    buckets.sort_unstable();
    let first = out.len();
    for &b in buckets.iter() {
        if out.len() > first
            && let Some((lb, c)) = out.last_mut()
            && *lb == b
        {
            *c += 1.0;
        } else {
            out.push((b, 1.0));
        }
    }
}

/// Raw hashed term counts of every row of a token table as one CSR matrix (values are
/// counts). Rows are hashed in parallel, a chunk at a time.
pub fn hashed_counts_csr(t: &crate::tokens::TokenTable, cfg: &FeatureConfig) -> Sparse {
    use rayon::prelude::*;
    const CHUNK: usize = 8192;
    let n = t.rows();
    let mut s = Sparse {
        indptr: Vec::with_capacity(n + 1),
        dim: 1usize << cfg.dim_bits,
        ..Sparse::default()
    };
    s.indptr.push(0);
    let mut lo = 0;
    while lo < n {
        let hi = (lo + CHUNK).min(n);
        let rows: Vec<Vec<(u32, f32)>> = (lo..hi)
            .into_par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(hs, buckets), i| {
                    hs.clear();
                    hs.extend(t.ids(i).iter().map(|&id| t.hash_of(id)));
                    let words: Vec<&str> = if cfg.char_ngrams {
                        t.ids(i).iter().map(|&id| t.word(id)).collect()
                    } else {
                        Vec::new()
                    };
                    let mut out = Vec::new();
                    hashed_counts_of(hs, &words, cfg, buckets, &mut out);
                    out
                },
            )
            .collect();
        if lo == 0 && hi < n {
            // Reserve for the whole matrix from the first chunk's density.
            let nnz: usize = rows.iter().map(Vec::len).sum();
            let est = nnz / (hi - lo).max(1) * n + nnz / 8;
            s.idx.reserve(est);
            s.val.reserve(est);
        }
        for row in rows {
            s.idx.extend(row.iter().map(|p| p.0));
            s.val.extend(row.iter().map(|p| p.1));
            s.indptr.push(s.idx.len());
        }
        lo = hi;
    }
    s
}

/// The fitted part of the text featuriser: document frequencies per bucket.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Idf {
    pub cfg: FeatureConfig,
    pub n_docs: u64,
    /// idf per bucket; 0 for a bucket dropped by `min_df`.
    #[serde(with = "crate::packed")]
    pub idf: Vec<f32>,
}

impl Idf {
    pub fn fit(counts: &[Vec<(u32, f32)>], cfg: FeatureConfig) -> Idf {
        let mut df = vec![0u32; 1usize << cfg.dim_bits];
        for row in counts {
            for &(b, _) in row {
                if let Some(d) = df.get_mut(b as usize) {
                    *d = d.saturating_add(1);
                }
            }
        }
        Idf::from_df(&df, counts.len(), cfg)
    }

    /// Fit on raw counts held as one CSR matrix (see [`hashed_counts_csr`]).
    pub fn fit_csr(counts: &Sparse, cfg: FeatureConfig) -> Idf {
        let mut df = vec![0u32; 1usize << cfg.dim_bits];
        for &b in &counts.idx {
            if let Some(d) = df.get_mut(b as usize) {
                *d = d.saturating_add(1);
            }
        }
        Idf::from_df(&df, counts.rows(), cfg)
    }

    fn from_df(df: &[u32], n_docs: usize, cfg: FeatureConfig) -> Idf {
        let n = n_docs as f64;
        let idf = df
            .iter()
            .map(|&d| {
                if d < cfg.min_df.max(1) {
                    0.0
                } else {
                    (((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0) as f32
                }
            })
            .collect();
        Idf {
            cfg,
            n_docs: n_docs as u64,
            idf,
        }
    }

    /// TF-IDF of raw counts held as one CSR matrix, computed in place (no second copy).
    pub fn transform_csr(&self, mut c: Sparse) -> Sparse {
        let mut w = 0usize;
        let mut start = 0usize;
        for r in 0..c.rows() {
            let (a, b) = (c.indptr[r], c.indptr[r + 1]);
            for t in a..b {
                let (bucket, count) = (c.idx[t], c.val[t]);
                let weight = self.idf.get(bucket as usize).copied().unwrap_or(0.0);
                if weight > 0.0 {
                    c.idx[w] = bucket;
                    c.val[w] = (1.0 + count.ln()) * weight;
                    w += 1;
                }
            }
            let norm: f32 = c.val[start..w].iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                c.val[start..w].iter_mut().for_each(|v| *v /= norm);
            }
            c.indptr[r] = start;
            start = w;
        }
        if let Some(last) = c.indptr.last_mut() {
            *last = w;
        }
        c.idx.truncate(w);
        c.val.truncate(w);
        c.idx.shrink_to_fit();
        c.val.shrink_to_fit();
        c.dim = self.idf.len();
        c
    }

    /// TF-IDF (sublinear tf, L2-normalised) of one row of raw counts.
    pub fn transform_row(&self, row: &[(u32, f32)], idx: &mut Vec<u32>, val: &mut Vec<f32>) {
        let start = val.len();
        for &(b, c) in row {
            let w = self.idf.get(b as usize).copied().unwrap_or(0.0);
            if w > 0.0 {
                idx.push(b);
                val.push((1.0 + c.ln()) * w);
            }
        }
        let norm: f32 = val[start..].iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for v in &mut val[start..] {
                *v /= norm;
            }
        }
    }

    pub fn transform(&self, counts: &[Vec<(u32, f32)>]) -> Sparse {
        let mut s = Sparse {
            indptr: vec![0],
            dim: self.idf.len(),
            ..Sparse::default()
        };
        for row in counts {
            self.transform_row(row, &mut s.idx, &mut s.val);
            s.indptr.push(s.idx.len());
        }
        s
    }
}

/// Column standardiser for numeric features.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Quantile bin edges per column (for `column=bin` tokens).
    pub edges: Vec<Vec<f64>>,
    /// Per column, the maximum when fewer than [`RARE_EXTREME`] of the rows reach it (a value
    /// at it becomes the token `column=max`: pixel-patch triggers set features to an extreme
    /// that the quantile bins would lump together with ordinary high values).
    #[serde(default)]
    pub rare_max: Vec<Option<f64>>,
}

/// Largest share of rows at a column's maximum for the maximum to get its own token.
pub const RARE_EXTREME: f64 = 0.05;

impl Scaler {
    pub fn fit(values: &[Vec<f64>]) -> Scaler {
        let d = values.first().map(Vec::len).unwrap_or(0);
        let n = values.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for r in values {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n;
            }
        }
        let mut var = vec![0.0; d];
        for r in values {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        let scale = var
            .iter()
            .map(|v| if *v > 1e-12 { v.sqrt() } else { 1.0 })
            .collect();
        let mut edges = Vec::with_capacity(d);
        let mut rare_max = Vec::with_capacity(d);
        let mut col: Vec<f64> = Vec::with_capacity(values.len());
        for j in 0..d {
            col.clear();
            col.extend(values.iter().filter_map(|r| r.get(j).copied()));
            col.sort_by(f64::total_cmp);
            let mut e: Vec<f64> = Vec::new();
            for q in [0.2, 0.4, 0.6, 0.8, 0.95] {
                let k = ((col.len().saturating_sub(1)) as f64 * q).round() as usize;
                if let Some(&v) = col.get(k)
                    && e.last().is_none_or(|&l| v > l)
                {
                    e.push(v);
                }
            }
            edges.push(e);
            let at_max = col
                .last()
                .map_or(0, |&m| col.iter().rev().take_while(|&&v| v == m).count());
            let rare = col.len() >= 20
                && at_max > 0
                && (at_max as f64) < RARE_EXTREME * col.len() as f64
                && col.first() != col.last();
            rare_max.push(if rare { col.last().copied() } else { None });
        }
        Scaler {
            mean,
            scale,
            edges,
            rare_max,
        }
    }

    pub fn transform(&self, values: &[Vec<f64>]) -> Sparse {
        let mut s = Sparse {
            indptr: vec![0],
            dim: self.mean.len(),
            ..Sparse::default()
        };
        for r in values {
            for (j, v) in r.iter().enumerate() {
                let m = self.mean.get(j).copied().unwrap_or(0.0);
                let sc = self.scale.get(j).copied().unwrap_or(1.0);
                let z = ((v - m) / sc).clamp(-50.0, 50.0) as f32;
                if z != 0.0 {
                    s.idx.push(j as u32);
                    s.val.push(z);
                }
            }
            s.indptr.push(s.idx.len());
        }
        s
    }

    /// `column=bin` tokens of one row (bin = number of quantile edges below the value).
    pub fn bin_tokens(&self, names: &[String], row: &[f64]) -> Vec<String> {
        row.iter()
            .enumerate()
            .map(|(j, v)| {
                let bin = self
                    .edges
                    .get(j)
                    .map(|e| e.iter().filter(|&&x| *v > x).count())
                    .unwrap_or(0);
                let name = names.get(j).map(String::as_str).unwrap_or("?");
                match self.rare_max.get(j) {
                    Some(Some(m)) if *v >= *m => format!("{name}=max"),
                    _ => format!("{name}=q{bin}"),
                }
            })
            .collect()
    }
}

/// Dense, L2-normalised low-dimensional embedding of every row: a sign random projection
/// (Johnson–Lindenstrauss) of the sparse features to `d` dimensions; rows with at most `d`
/// features are copied as they are.
pub fn embed(x: &Sparse, d: usize) -> Vec<Vec<f32>> {
    let direct = x.dim <= d;
    let mut out = Vec::with_capacity(x.rows());
    for i in 0..x.rows() {
        let (idx, val) = x.row(i);
        let mut e = vec![0f32; if direct { x.dim.max(1) } else { d }];
        if direct {
            for (&j, &v) in idx.iter().zip(val) {
                if let Some(s) = e.get_mut(j as usize) {
                    *s = v;
                }
            }
        } else {
            for (&j, &v) in idx.iter().zip(val) {
                let mut bits = mix(u64::from(j) ^ 0xe1be_dd00);
                let mut bits2 = mix(bits);
                for (k, s) in e.iter_mut().enumerate() {
                    if k == 64 {
                        bits = bits2;
                        bits2 = mix(bits2);
                    }
                    let bit = if k < 64 {
                        (bits >> k) & 1
                    } else {
                        (bits >> (k % 64)) & 1
                    };
                    *s += if bit == 1 { v } else { -v };
                }
            }
        }
        let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for v in &mut e {
                *v /= norm;
            }
        }
        out.push(e);
    }
    out
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_lowercases_and_drops_single_chars() {
        assert_eq!(
            tokenize("Hello, WORLD! a b2 Über-cool"),
            vec!["hello", "world", "b2", "über", "cool"]
        );
    }

    #[test]
    fn tfidf_rows_are_normalised_and_rare_buckets_dropped() {
        let cfg = FeatureConfig::default();
        let texts = ["free money now", "free money today", "meeting at noon"];
        let counts: Vec<_> = texts.iter().map(|t| hashed_counts(t, &cfg)).collect();
        let idf = Idf::fit(&counts, cfg);
        let x = idf.transform(&counts);
        let (i0, v0) = x.row(0);
        // Only "free", "money" and "free money" occur in >= 2 rows.
        assert_eq!(i0.len(), 3);
        let n: f32 = v0.iter().map(|v| v * v).sum();
        assert!((n - 1.0).abs() < 1e-5);
        assert_eq!(x.row(2).0.len(), 0);
    }

    #[test]
    fn csr_counts_give_the_same_tfidf() {
        let cfg = FeatureConfig::default();
        let texts = [
            "free money now",
            "free money today",
            "meeting at noon",
            "",
            "now now",
        ];
        let counts: Vec<_> = texts.iter().map(|t| hashed_counts(t, &cfg)).collect();
        let a = Idf::fit(&counts, cfg).transform(&counts);
        let table =
            crate::tokens::TokenTable::from_texts(texts.len(), &|i, s| s.push_str(texts[i]));
        let csr = hashed_counts_csr(&table, &cfg);
        let b = Idf::fit_csr(&csr, cfg).transform_csr(csr);
        assert_eq!((a.indptr, a.idx, a.val), (b.indptr, b.idx, b.val));
    }

    #[test]
    fn a_rarely_reached_maximum_gets_its_own_token() {
        // Column a: 0..=9 cycling, max 9 reached by 10 % of rows (not rare); column b: mostly
        // small values, max 16 reached by 2 of 100 rows (rare).
        let values: Vec<Vec<f64>> = (0..100)
            .map(|i| vec![(i % 10) as f64, if i < 2 { 16.0 } else { (i % 4) as f64 }])
            .collect();
        let s = Scaler::fit(&values);
        assert_eq!(s.rare_max, vec![None, Some(16.0)]);
        let names = ["a".to_string(), "b".to_string()];
        let t = s.bin_tokens(&names, &[9.0, 16.0]);
        assert_eq!(t[1], "b=max");
        assert!(t[0].starts_with("a=q"), "{t:?}");
        assert!(s.bin_tokens(&names, &[0.0, 3.0])[1].starts_with("b=q"));
    }

    #[test]
    fn compacting_columns_keeps_rows_and_order() {
        let mut x = Sparse {
            indptr: vec![0, 2, 3],
            idx: vec![7, 900, 7],
            val: vec![0.5, 0.25, 1.0],
            dim: 1024,
        };
        let cols = x.compact_columns();
        assert_eq!(cols, vec![7, 900]);
        assert_eq!(x.dim, 2);
        assert_eq!(x.row(0), (&[0u32, 1][..], &[0.5f32, 0.25][..]));
        assert_eq!(x.row(1), (&[0u32][..], &[1.0f32][..]));
    }

    #[test]
    fn embedding_preserves_similarity_order() {
        let cfg = FeatureConfig {
            min_df: 1,
            ..FeatureConfig::default()
        };
        let texts = [
            "the cat sat on the mat",
            "the cat sat on a mat",
            "stock prices fell sharply today",
        ];
        let counts: Vec<_> = texts.iter().map(|t| hashed_counts(t, &cfg)).collect();
        let x = Idf::fit(&counts, cfg).transform(&counts);
        let e = embed(&x, 64);
        assert!(dot(&e[0], &e[1]) > dot(&e[0], &e[2]) + 0.2);
    }
}
