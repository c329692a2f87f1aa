//! Spherical k-means (k-means++ seeding, fixed seed) and k-nearest-neighbour distances on the
//! L2-normalised row embeddings.

use crate::features::dot;
use crate::hash::Rng;
use rayon::prelude::*;

/// Cluster id per row. `k` is clamped to `1..=n`.
pub fn kmeans(e: &[Vec<f32>], k: usize, iters: usize, seed: u64) -> Vec<usize> {
    let n = e.len();
    if n == 0 {
        return Vec::new();
    }
    let k = k.clamp(1, n);
    let d = e[0].len();
    let mut rng = Rng::new(seed);
    // k-means++ seeding on cosine distance (1 - dot).
    let mut centers: Vec<Vec<f32>> = vec![e[rng.below(n)].clone()];
    let mut best: Vec<f32> = e
        .iter()
        .map(|x| (1.0 - dot(x, &centers[0])).max(0.0))
        .collect();
    while centers.len() < k {
        let total: f64 = best.iter().map(|&v| f64::from(v * v)).sum();
        let pick = if total <= 0.0 {
            rng.below(n)
        } else {
            let mut r = rng.next_f64() * total;
            let mut idx = n - 1;
            for (i, &v) in best.iter().enumerate() {
                r -= f64::from(v * v);
                if r <= 0.0 {
                    idx = i;
                    break;
                }
            }
            idx
        };
        let c = e[pick].clone();
        for (b, x) in best.iter_mut().zip(e) {
            *b = b.min((1.0 - dot(x, &c)).max(0.0));
        }
        centers.push(c);
    }
    let mut assign = vec![0usize; n];
    for _ in 0..iters.max(1) {
        let new: Vec<usize> = e
            .par_iter()
            .map(|x| {
                let mut bi = 0;
                let mut bs = f32::NEG_INFINITY;
                for (ci, c) in centers.iter().enumerate() {
                    let s = dot(x, c);
                    if s > bs {
                        bs = s;
                        bi = ci;
                    }
                }
                bi
            })
            .collect();
        let changed = new != assign;
        assign = new;
        let mut sums = vec![vec![0f32; d]; k];
        for (x, &a) in e.iter().zip(&assign) {
            for (s, v) in sums[a].iter_mut().zip(x) {
                *s += v;
            }
        }
        for (c, s) in centers.iter_mut().zip(sums) {
            let norm = s.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                *c = s.iter().map(|v| v / norm).collect();
            }
        }
        if !changed {
            break;
        }
    }
    assign
}

/// Mean cosine distance from each row to its `k` nearest rows among a deterministic reference
/// sample of at most `max_ref` rows (the row itself excluded).
pub fn knn_distance(e: &[Vec<f32>], k: usize, max_ref: usize) -> Vec<f32> {
    let n = e.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let step = n.div_ceil(max_ref.max(1)).max(1);
    let refs: Vec<usize> = (0..n).step_by(step).collect();
    let k = k.clamp(1, refs.len().saturating_sub(1).max(1));
    e.par_iter()
        .enumerate()
        .map(|(i, x)| {
            let mut top: Vec<f32> = Vec::with_capacity(k + 1);
            for &r in &refs {
                if r == i {
                    continue;
                }
                let s = dot(x, &e[r]);
                if top.len() < k {
                    top.push(s);
                    top.sort_by(|a, b| b.total_cmp(a));
                } else if let Some(last) = top.last()
                    && s > *last
                {
                    top.pop();
                    let pos = top.partition_point(|v| *v >= s);
                    top.insert(pos, s);
                }
            }
            let m = top.iter().sum::<f32>() / top.len().max(1) as f32;
            (1.0 - m).max(0.0)
        })
        .collect()
}

/// Spherical k-means directly on sparse L2-normalised rows (TF-IDF). Centroids are sparse
/// (the features of their rows) and rows are scored against all centroids at once through an
/// inverted index (feature -> centroids carrying it), so the cost is the number of shared
/// features, not rows × centroids × dimension. Centroids are fitted on at most `max_fit` rows
/// (a deterministic sample), then every row is assigned.
pub fn kmeans_sparse(
    x: &crate::features::Sparse,
    k: usize,
    iters: usize,
    seed: u64,
    max_fit: usize,
) -> Vec<usize> {
    kmeans_topics(&topic_rows(x), k, iters, seed, max_fit)
}

/// The rows [`kmeans_sparse`] clusters on: each row's [`TOPIC_FEATURES`] heaviest features,
/// re-normalised (the topic words decide the cluster, and the cost no longer grows with
/// document length).
fn topic_rows(x: &crate::features::Sparse) -> crate::features::Sparse {
    top_features(x, TOPIC_FEATURES)
}

/// Features per row that [`kmeans_sparse`] clusters on.
const TOPIC_FEATURES: usize = 32;

/// [`kmeans_sparse`] on rows already reduced by [`topic_rows`].
fn kmeans_topics(
    x: &crate::features::Sparse,
    k: usize,
    iters: usize,
    seed: u64,
    max_fit: usize,
) -> Vec<usize> {
    let n = x.rows();
    if n == 0 {
        return Vec::new();
    }
    let k = k.clamp(1, n);
    let step = n.div_ceil(max_fit.max(1)).max(1);
    let fit: Vec<usize> = (0..n).step_by(step).collect();
    let mut rng = Rng::new(seed);
    // k-means++ seeding on cosine distance, with an inverted index of the sample rows.
    let rows_of = FeatureRows::new(x, &fit);
    let first = fit[rng.below(fit.len())];
    let mut centers: Vec<SparseCenter> = vec![SparseCenter::of_row(x, first)];
    let mut sim = vec![0f32; fit.len()];
    rows_of.similarities(&centers[0], &mut sim);
    let mut best: Vec<f32> = sim.iter().map(|&s| (1.0 - s).max(0.0)).collect();
    while centers.len() < k.min(fit.len()) {
        let total: f64 = best.iter().map(|&v| f64::from(v * v)).sum();
        let pick = if total <= 0.0 {
            fit[rng.below(fit.len())]
        } else {
            let mut r = rng.next_f64() * total;
            let mut idx = fit[fit.len() - 1];
            for (t, &v) in best.iter().enumerate() {
                r -= f64::from(v * v);
                if r <= 0.0 {
                    idx = fit[t];
                    break;
                }
            }
            idx
        };
        let c = SparseCenter::of_row(x, pick);
        rows_of.similarities(&c, &mut sim);
        for (b, &s) in best.iter_mut().zip(&sim) {
            *b = b.min((1.0 - s).max(0.0));
        }
        centers.push(c);
    }
    let mut assign = vec![usize::MAX; fit.len()];
    let mut acc = CenterSums::new(x.dim);
    for _ in 0..iters.clamp(1, 8) {
        let new = CenterIndex::new(&centers).assign(x, &fit);
        let changed = new != assign;
        assign = new;
        // Each center's members, in row order.
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); centers.len()];
        for (&i, &a) in fit.iter().zip(&assign) {
            if let Some(m) = members.get_mut(a) {
                m.push(i);
            }
        }
        for (c, m) in centers.iter_mut().zip(members) {
            if let Some(mean) = acc.normalised_mean(x, &m) {
                *c = mean;
            }
        }
        if !changed {
            break;
        }
    }
    let all: Vec<usize> = (0..n).collect();
    CenterIndex::new(&centers).assign(x, &all)
}

/// A centroid: (feature bucket, weight) sorted by bucket.
struct SparseCenter(Vec<(u32, f32)>);

impl SparseCenter {
    fn of_row(x: &crate::features::Sparse, i: usize) -> Self {
        let (idx, val) = x.row(i);
        SparseCenter(idx.iter().copied().zip(val.iter().copied()).collect())
    }

    /// Sum of the pairs per bucket (in the order given), L2-normalised; None when all zero.
    #[cfg(test)]
    fn normalised_sum(mut pairs: Vec<(u32, f32)>) -> Option<Self> {
        pairs.sort_by_key(|p| p.0); // stable: per-bucket sums keep the row order
        let mut out: Vec<(u32, f32)> = Vec::new();
        for (j, v) in pairs {
            match out.last_mut() {
                Some((lj, s)) if *lj == j => *s += v,
                _ => out.push((j, v)),
            }
        }
        let norm = out.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|p| p.1 /= norm);
            Some(SparseCenter(out))
        } else {
            None
        }
    }
}

/// Dense per-feature sums for one center at a time (reused across centers): the same sums,
/// added in the same order, as [`SparseCenter::normalised_sum`] over the members' pairs,
/// without sorting the pairs.
struct CenterSums {
    sum: Vec<f32>,
    /// `stamp[j] == round`: feature j has a sum in this round.
    stamp: Vec<u32>,
    round: u32,
    touched: Vec<u32>,
}

impl CenterSums {
    fn new(dim: usize) -> Self {
        CenterSums {
            sum: vec![0.0; dim],
            stamp: vec![0; dim],
            round: 0,
            touched: Vec::new(),
        }
    }

    /// The L2-normalised sum of rows `rows` of `x` (None when all zero).
    fn normalised_mean(
        &mut self,
        x: &crate::features::Sparse,
        rows: &[usize],
    ) -> Option<SparseCenter> {
        if self.round == u32::MAX {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.round = 0;
        }
        self.round += 1;
        let round = self.round;
        self.touched.clear();
        for &i in rows {
            let (idx, val) = x.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                let (Some(st), Some(sm)) =
                    (self.stamp.get_mut(j as usize), self.sum.get_mut(j as usize))
                else {
                    continue;
                };
                if *st == round {
                    *sm += v;
                } else {
                    *st = round;
                    *sm = v;
                    self.touched.push(j);
                }
            }
        }
        self.touched.sort_unstable();
        let out: Vec<(u32, f32)> = self
            .touched
            .iter()
            .map(|&j| (j, self.sum.get(j as usize).copied().unwrap_or(0.0)))
            .collect();
        let norm = out.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            Some(SparseCenter(
                out.into_iter().map(|(j, v)| (j, v / norm)).collect(),
            ))
        } else {
            None
        }
    }
}

/// Postings in CSR form: `start[j]..start[j + 1]` of `items` are the entries of column j, in
/// the order they were added.
struct Postings {
    start: Vec<usize>,
    items: Vec<(u32, f32)>,
}

impl Postings {
    /// `entries` yields (column, (id, value)) in the order the postings should keep.
    fn new(entries: impl Iterator<Item = (u32, (u32, f32))> + Clone) -> Self {
        let dim = entries
            .clone()
            .map(|(j, _)| j as usize + 1)
            .max()
            .unwrap_or(0);
        let mut start = vec![0usize; dim + 1];
        for (j, _) in entries.clone() {
            if let Some(s) = start.get_mut(j as usize + 1) {
                *s += 1;
            }
        }
        for j in 0..dim {
            start[j + 1] += start[j];
        }
        let mut fill = start.clone();
        let mut items = vec![(0u32, 0f32); start.last().copied().unwrap_or(0)];
        for (j, e) in entries {
            if let Some(f) = fill.get_mut(j as usize) {
                if let Some(slot) = items.get_mut(*f) {
                    *slot = e;
                }
                *f += 1;
            }
        }
        Postings { start, items }
    }

    fn of(&self, j: u32) -> &[(u32, f32)] {
        let j = j as usize;
        match (self.start.get(j), self.start.get(j + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Inverted index of sample rows: bucket -> (position in the sample, value).
struct FeatureRows {
    postings: Postings,
}

impl FeatureRows {
    fn new(x: &crate::features::Sparse, rows: &[usize]) -> Self {
        let entries = rows.iter().enumerate().flat_map(|(t, &i)| {
            let (idx, val) = x.row(i);
            idx.iter().zip(val).map(move |(&j, &v)| (j, (t as u32, v)))
        });
        FeatureRows {
            postings: Postings::new(entries),
        }
    }

    /// `out[t]` = cosine similarity of sample row t to `c`.
    fn similarities(&self, c: &SparseCenter, out: &mut [f32]) {
        out.iter_mut().for_each(|s| *s = 0.0);
        for &(j, w) in &c.0 {
            for &(t, v) in self.postings.of(j) {
                if let Some(s) = out.get_mut(t as usize) {
                    *s += w * v;
                }
            }
        }
    }
}

/// Inverted index of centroids: bucket -> (centroid, weight).
struct CenterIndex {
    postings: Postings,
    k: usize,
}

impl CenterIndex {
    fn new(centers: &[SparseCenter]) -> Self {
        let entries = centers
            .iter()
            .enumerate()
            .flat_map(|(ci, c)| c.0.iter().map(move |&(j, w)| (j, (ci as u32, w))));
        CenterIndex {
            postings: Postings::new(entries),
            k: centers.len(),
        }
    }

    /// The most similar centroid of each row (the first on ties).
    fn assign(&self, x: &crate::features::Sparse, rows: &[usize]) -> Vec<usize> {
        rows.par_iter()
            .map_init(
                || vec![0f32; self.k],
                |scores, &i| {
                    scores.iter_mut().for_each(|s| *s = 0.0);
                    let (idx, val) = x.row(i);
                    for (&j, &v) in idx.iter().zip(val) {
                        for &(ci, w) in self.postings.of(j) {
                            if let Some(s) = scores.get_mut(ci as usize) {
                                *s += w * v;
                            }
                        }
                    }
                    let mut bi = 0;
                    let mut bs = f32::NEG_INFINITY;
                    for (ci, &s) in scores.iter().enumerate() {
                        if s > bs {
                            bs = s;
                            bi = ci;
                        }
                    }
                    bi
                },
            )
            .collect()
    }
}

/// Keep each row's `m` largest-weight features, L2-normalised.
pub fn top_features(x: &crate::features::Sparse, m: usize) -> crate::features::Sparse {
    let kept: usize = (0..x.rows()).map(|i| x.row(i).0.len().min(m)).sum();
    let mut out = crate::features::Sparse {
        indptr: Vec::with_capacity(x.rows() + 1),
        idx: Vec::with_capacity(kept),
        val: Vec::with_capacity(kept),
        dim: x.dim,
    };
    out.indptr.push(0);
    // The heaviest are a selection under a total order (weight, then feature): the same set
    // a full sort would keep.
    let mut pairs: Vec<(u32, f32)> = Vec::new();
    for i in 0..x.rows() {
        let (idx, val) = x.row(i);
        pairs.clear();
        pairs.extend(idx.iter().copied().zip(val.iter().copied()));
        if pairs.len() > m {
            if m > 0 {
                pairs.select_nth_unstable_by(m - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            }
            pairs.truncate(m);
            pairs.sort_by_key(|p| p.0);
        }
        let norm = pairs.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        for &(j, v) in &pairs {
            out.idx.push(j);
            out.val.push(if norm > 0.0 { v / norm } else { v });
        }
        out.indptr.push(out.idx.len());
    }
    out
}

/// Per cluster: (size, the largest cosine similarity of its centroid to any other cluster's
/// centroid). Centroids are the L2-normalised mean of the sparse rows.
pub fn isolation(x: &crate::features::Sparse, clusters: &[usize]) -> Vec<(usize, f64)> {
    let k = clusters.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut cents: Vec<std::collections::HashMap<u32, f64>> =
        vec![std::collections::HashMap::new(); k];
    let mut size = vec![0usize; k];
    for (i, &c) in clusters.iter().enumerate() {
        size[c] += 1;
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            *cents[c].entry(j).or_default() += f64::from(v);
        }
    }
    // Each centroid: its 200 heaviest features, L2-normalised, sorted by feature (merge dot).
    let tops: Vec<Vec<(u32, f64)>> = cents
        .iter()
        .map(|c| {
            let mut v: Vec<(u32, f64)> = c.iter().map(|(&j, &w)| (j, w)).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(200);
            let norm = v.iter().map(|p| p.1 * p.1).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|p| p.1 /= norm);
            }
            v.sort_by_key(|p| p.0);
            v
        })
        .collect();
    let dot = |a: &[(u32, f64)], b: &[(u32, f64)]| -> f64 {
        let (mut i, mut j, mut s) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    s += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        s
    };
    (0..k)
        .map(|a| {
            let mut best: f64 = 0.0;
            for b in 0..k {
                if a == b || size[b] == 0 {
                    continue;
                }
                best = best.max(dot(&tops[a], &tops[b]));
            }
            (size[a], best)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_separates_two_blobs_and_knn_finds_the_loner() {
        let mut e = Vec::new();
        for i in 0..20 {
            let t = i as f32 * 0.01;
            e.push(vec![1.0 - t, t, 0.0]);
            e.push(vec![t, 1.0 - t, 0.0]);
        }
        e.push(vec![0.0, 0.0, 1.0]);
        for v in &mut e {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= n);
        }
        let a = kmeans(&e, 3, 10, 1);
        assert_ne!(a[0], a[1]);
        assert_eq!(a[0], a[2]);
        let d = knn_distance(&e, 3, 1000);
        let loner = d[40];
        assert!(d[..40].iter().all(|&x| x < loner));
    }
}

#[cfg(test)]
mod center_tests {
    use super::*;
    use crate::features::Sparse;

    fn random_rows(seed: u64, n: usize, dim: u32) -> Sparse {
        let mut rng = Rng::new(seed);
        let mut x = Sparse {
            indptr: vec![0],
            dim: dim as usize,
            ..Sparse::default()
        };
        for i in 0..n {
            let mut cols: Vec<u32> = (0..(5 + i % 60))
                .map(|_| rng.below(dim as usize) as u32)
                .collect();
            cols.sort_unstable();
            cols.dedup();
            for j in cols {
                x.idx.push(j);
                // Repeated weights: ties that the selection must break by feature.
                x.val.push((rng.below(7) + 1) as f32 * 0.125);
            }
            x.indptr.push(x.idx.len());
        }
        x
    }

    #[test]
    fn dense_center_sums_equal_the_sorted_pair_sums() {
        let x = random_rows(5, 300, 500);
        let mut acc = CenterSums::new(x.dim);
        for members in [
            vec![0usize, 3, 9, 100, 299],
            (0..300).step_by(7).collect(),
            vec![42],
        ] {
            let pairs: Vec<(u32, f32)> = members
                .iter()
                .flat_map(|&i| {
                    let (idx, val) = x.row(i);
                    idx.iter()
                        .copied()
                        .zip(val.iter().copied())
                        .collect::<Vec<_>>()
                })
                .collect();
            let want = SparseCenter::normalised_sum(pairs).map(|c| c.0);
            let got = acc.normalised_mean(&x, &members).map(|c| c.0);
            let bits = |v: Option<Vec<(u32, f32)>>| {
                v.map(|c| {
                    c.into_iter()
                        .map(|(j, w)| (j, w.to_bits()))
                        .collect::<Vec<_>>()
                })
            };
            assert_eq!(bits(got), bits(want));
        }
        assert!(acc.normalised_mean(&x, &[]).is_none());
    }

    #[test]
    fn top_features_keep_the_heaviest_with_ties_broken_by_feature() {
        let x = random_rows(9, 200, 300);
        let t = top_features(&x, 8);
        for i in 0..x.rows() {
            let (idx, val) = x.row(i);
            let mut pairs: Vec<(u32, f32)> = idx.iter().copied().zip(val.iter().copied()).collect();
            pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            pairs.truncate(8);
            pairs.sort_by_key(|p| p.0);
            let norm = pairs.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
            let (ti, tv) = t.row(i);
            assert_eq!(
                ti,
                pairs.iter().map(|p| p.0).collect::<Vec<_>>().as_slice(),
                "row {i}"
            );
            for (a, p) in tv.iter().zip(&pairs) {
                assert_eq!(a.to_bits(), (p.1 / norm).to_bits());
            }
        }
    }
}
