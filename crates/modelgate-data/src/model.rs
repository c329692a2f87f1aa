//! Linear models on sparse hashed features, written by hand: multinomial naive Bayes
//! (closed form) and L2-regularised softmax logistic regression (L-BFGS), plus K-fold
//! out-of-fold probabilities (random stratified folds or folds that keep groups together).

use crate::features::Sparse;
use crate::hash::Rng;
use crate::logistic_dual::{DualSettings, TrainRows, fit_binary};
use rayon::prelude::*;

/// L-BFGS iterations for the logistic regression (probabilities change by < 1e-3 past it on
/// the benchmark files).
pub const LR_MAX_ITER: usize = 60;

/// Which model produces probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Lr,
    Nb,
}

/// A fitted linear model: `score_k(x) = b_k + Σ_j x_j W[j,k]`, probabilities by softmax.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Linear {
    pub k: usize,
    /// Feature bucket -> compact row of `w` (u32::MAX = unseen in training).
    #[serde(with = "crate::packed")]
    pub map: Vec<u32>,
    /// Compact weights, row-major (feature, class).
    #[serde(with = "crate::packed")]
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl Linear {
    pub fn scores(&self, idx: &[u32], val: &[f32], out: &mut [f64]) {
        for (o, b) in out.iter_mut().zip(&self.b) {
            *o = f64::from(*b);
        }
        for (&j, &v) in idx.iter().zip(val) {
            let Some(&m) = self.map.get(j as usize) else {
                continue;
            };
            if m == u32::MAX {
                continue;
            }
            let base = m as usize * self.k;
            if let Some(ws) = self.w.get(base..base + self.k) {
                for (o, w) in out.iter_mut().zip(ws) {
                    *o += f64::from(*w) * f64::from(v);
                }
            }
        }
    }

    pub fn proba(&self, idx: &[u32], val: &[f32]) -> Vec<f64> {
        let mut s = vec![0.0; self.k];
        self.scores(idx, val, &mut s);
        softmax(&mut s);
        s
    }
}

pub fn softmax(s: &mut [f64]) {
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for v in s.iter_mut() {
        *v = (*v - m).exp();
        z += *v;
    }
    if z > 0.0 {
        for v in s.iter_mut() {
            *v /= z;
        }
    }
}

fn compact_map(x: &Sparse, rows: &[usize]) -> (Vec<u32>, usize) {
    let mut map = vec![u32::MAX; x.dim];
    let mut m = 0u32;
    for &i in rows {
        for &j in x.row(i).0 {
            if let Some(slot) = map.get_mut(j as usize)
                && *slot == u32::MAX
            {
                *slot = m;
                m += 1;
            }
        }
    }
    (map, m as usize)
}

/// Multinomial naive Bayes with additive smoothing `alpha` (features must be non-negative).
pub fn fit_nb(x: &Sparse, y: &[usize], k: usize, rows: &[usize], alpha: f64) -> Linear {
    let (map, m) = compact_map(x, rows);
    let mut counts = vec![0f64; m * k];
    let mut class_n = vec![0f64; k];
    for &i in rows {
        let Some(&c) = y.get(i) else { continue };
        if c >= k {
            continue;
        }
        class_n[c] += 1.0;
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            if let Some(&mj) = map.get(j as usize)
                && let Some(slot) = counts.get_mut(mj as usize * k + c)
            {
                *slot += f64::from(v.max(0.0));
            }
        }
    }
    let mut totals = vec![0f64; k];
    for f in 0..m {
        for c in 0..k {
            totals[c] += counts[f * k + c];
        }
    }
    let n: f64 = class_n.iter().sum::<f64>().max(1.0);
    let mut w = vec![0f32; m * k];
    for f in 0..m {
        for c in 0..k {
            let theta = (counts[f * k + c] + alpha) / (totals[c] + alpha * m as f64);
            w[f * k + c] = theta.ln() as f32;
        }
    }
    let b = class_n
        .iter()
        .map(|&c| (((c + 1e-3) / n).ln()) as f32)
        .collect();
    Linear { k, map, w, b }
}

/// Softmax logistic regression, objective `mean CE + ||W||² / (2 C n)` (as scikit-learn's
/// `LogisticRegression(C)`), solved by L-BFGS with a backtracking line search.
pub fn fit_lr(
    x: &Sparse,
    y: &[usize],
    k: usize,
    rows: &[usize],
    c: f64,
    max_iter: usize,
) -> Linear {
    if k == 2 {
        return binary_lr(x, y, rows, c, max_iter);
    }
    let (map, m) = compact_map(x, rows);
    // Compact copies of the training rows (contiguous, cache friendly).
    let mut cidx: Vec<u32> = Vec::new();
    let mut cval: Vec<f32> = Vec::new();
    let mut cptr: Vec<usize> = vec![0];
    let mut cy: Vec<usize> = Vec::with_capacity(rows.len());
    for &i in rows {
        let Some(&yi) = y.get(i) else { continue };
        let (idx, val) = x.row(i);
        for (&j, &v) in idx.iter().zip(val) {
            if let Some(&mj) = map.get(j as usize) {
                cidx.push(mj);
                cval.push(v);
            }
        }
        cptr.push(cidx.len());
        cy.push(yi.min(k.saturating_sub(1)));
    }
    let n = cy.len().max(1) as f64;
    let np = m * k + k;
    let lambda = 1.0 / (c * n);
    let eval = |theta: &[f64], grad: &mut [f64]| -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let (w, b) = theta.split_at(m * k);
        let mut loss = 0.0;
        let mut s = vec![0f64; k];
        // Per-row class deltas of the gradient.
        let mut dq = vec![0f64; k];
        for r in 0..cy.len() {
            let (a, e) = (cptr[r], cptr[r + 1]);
            s.copy_from_slice(b);
            for t in a..e {
                let base = cidx[t] as usize * k;
                let v = f64::from(cval[t]);
                if let Some(wr) = w.get(base..base + k) {
                    for (sv, &wv) in s.iter_mut().zip(wr) {
                        *sv += wv * v;
                    }
                }
            }
            let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            for sv in s.iter_mut() {
                *sv = (*sv - mx).exp();
                z += *sv;
            }
            let yi = cy[r];
            loss += -(s[yi] / z).max(1e-300).ln();
            // Each gradient entry receives this row's terms in the same order as a loop over
            // classes, then features would give (entries of different classes never mix).
            let mut all_nonzero = true;
            for (q, d) in dq.iter_mut().enumerate() {
                *d = (s[q] / z - if q == yi { 1.0 } else { 0.0 }) / n;
                if *d == 0.0 {
                    all_nonzero = false;
                } else {
                    grad[m * k + q] += *d;
                }
            }
            for t in a..e {
                let base = cidx[t] as usize * k;
                let v = f64::from(cval[t]);
                let Some(gr) = grad.get_mut(base..base + k) else {
                    continue;
                };
                if all_nonzero {
                    for (g, &d) in gr.iter_mut().zip(&dq) {
                        *g += d * v;
                    }
                } else {
                    for (g, &d) in gr.iter_mut().zip(&dq) {
                        if d != 0.0 {
                            *g += d * v;
                        }
                    }
                }
            }
        }
        loss /= n;
        let mut reg = 0.0;
        for (g, wv) in grad.iter_mut().zip(w) {
            reg += wv * wv;
            *g += lambda * wv;
        }
        loss + 0.5 * lambda * reg
    };
    let theta = lbfgs(np, max_iter, 1e-5, eval);
    let (w, b) = theta.split_at(m * k);
    Linear {
        k,
        map,
        w: w.iter().map(|&v| v as f32).collect(),
        b: b.iter().map(|&v| v as f32).collect(),
    }
}

/// Two classes: the softmax objective above with `W = [−d/2, d/2]` is exactly binary logistic
/// regression on `d` with twice the `C` (`‖W‖² = ‖d‖²/2`), solved in the dual by coordinate
/// descent and stored back in the two-column form.
fn binary_lr(x: &Sparse, y: &[usize], rows: &[usize], c: f64, max_passes: usize) -> Linear {
    // Rows without a label are left out, as in the softmax path.
    let rows: Vec<usize> = rows.iter().copied().filter(|&i| i < y.len()).collect();
    let pos: Vec<bool> = rows.iter().map(|&i| y.get(i) == Some(&1)).collect();
    let fit = fit_binary(
        &TrainRows { x, rows: &rows },
        &pos,
        2.0 * c,
        DualSettings {
            max_passes: max_passes.max(1),
            ..DualSettings::default()
        },
    );
    if std::env::var_os("MODELGATE_DATA_DEBUG_LR").is_some() {
        eprintln!("dual lr: {} rows, {} passes", rows.len(), fit.passes);
    }
    // Compact storage: only the buckets with a weight.
    let mut map = vec![u32::MAX; fit.w.len()];
    let mut w = Vec::new();
    for (j, &d) in fit.w.iter().enumerate() {
        if d != 0.0 {
            map[j] = (w.len() / 2) as u32;
            w.push((-0.5 * d) as f32);
            w.push((0.5 * d) as f32);
        }
    }
    Linear {
        k: 2,
        map,
        w,
        b: vec![(-0.5 * fit.bias) as f32, (0.5 * fit.bias) as f32],
    }
}

/// Minimise `f` from zero with L-BFGS (history 7, Armijo backtracking).
fn lbfgs(
    np: usize,
    max_iter: usize,
    gtol: f64,
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Vec<f64> {
    const HIST: usize = 7;
    let mut x = vec![0f64; np];
    let mut g = vec![0f64; np];
    let mut fx = f(&x, &mut g);
    let mut ss: Vec<Vec<f64>> = Vec::new();
    let mut ys: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut xn = vec![0f64; np];
    let mut gn = vec![0f64; np];
    for _ in 0..max_iter {
        let gmax = g.iter().fold(0f64, |a, v| a.max(v.abs()));
        if gmax < gtol {
            break;
        }
        // Two-loop recursion.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alpha = vec![0f64; ss.len()];
        for i in (0..ss.len()).rev() {
            let a = rho[i] * dotf(&ss[i], &d);
            alpha[i] = a;
            for (dv, yv) in d.iter_mut().zip(&ys[i]) {
                *dv -= a * yv;
            }
        }
        if let (Some(s), Some(y)) = (ss.last(), ys.last()) {
            let gamma = dotf(s, y) / dotf(y, y).max(1e-300);
            d.iter_mut().for_each(|v| *v *= gamma);
        } else {
            let gn2 = dotf(&g, &g).sqrt().max(1e-12);
            d.iter_mut().for_each(|v| *v /= gn2);
        }
        for i in 0..ss.len() {
            let bcoef = rho[i] * dotf(&ys[i], &d);
            for (dv, sv) in d.iter_mut().zip(&ss[i]) {
                *dv += (alpha[i] - bcoef) * sv;
            }
        }
        let mut slope = dotf(&g, &d);
        if slope >= 0.0 {
            d = g.iter().map(|v| -v).collect();
            slope = dotf(&g, &d);
            ss.clear();
            ys.clear();
            rho.clear();
        }
        let mut step = 1.0;
        let mut fnew = fx;
        let mut ok = false;
        for _ in 0..30 {
            for ((xv, x0), dv) in xn.iter_mut().zip(&x).zip(&d) {
                *xv = x0 + step * dv;
            }
            fnew = f(&xn, &mut gn);
            if fnew <= fx + 1e-4 * step * slope {
                ok = true;
                break;
            }
            step *= 0.5;
        }
        if !ok {
            break;
        }
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dotf(&s, &y);
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        let improved = (fx - fnew).abs() > 1e-12 * fx.abs().max(1.0);
        fx = fnew;
        if sy > 1e-12 {
            if ss.len() == HIST {
                ss.remove(0);
                ys.remove(0);
                rho.remove(0);
            }
            ss.push(s);
            ys.push(y);
            rho.push(1.0 / sy);
        }
        if !improved {
            break;
        }
    }
    x
}

fn dotf(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Stratified fold assignment (per class, rows shuffled with `seed`, dealt round-robin).
pub fn stratified_folds(y: &[usize], k: usize, n_folds: usize, seed: u64) -> Vec<usize> {
    let mut fold = vec![0usize; y.len()];
    let mut rng = Rng::new(seed);
    let mut offset = 0;
    for c in 0..k {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        rng.shuffle(&mut rows);
        for (t, &i) in rows.iter().enumerate() {
            fold[i] = (t + offset) % n_folds.max(1);
        }
        offset += rows.len();
    }
    fold
}

/// Fold assignment that keeps each group in one fold (largest groups first, each into the
/// currently smallest fold), like scikit-learn's `GroupKFold`.
pub fn group_folds(groups: &[usize], n_folds: usize) -> Vec<usize> {
    let ng = groups.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut size = vec![0usize; ng];
    for &g in groups {
        size[g] += 1;
    }
    let mut order: Vec<usize> = (0..ng).collect();
    order.sort_by(|&a, &b| size[b].cmp(&size[a]).then(a.cmp(&b)));
    let mut load = vec![0usize; n_folds.max(1)];
    let mut gf = vec![0usize; ng];
    for g in order {
        let (f, _) = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)))
            .unwrap_or((0, &0));
        gf[g] = f;
        load[f] += size[g];
    }
    groups.iter().map(|&g| gf[g]).collect()
}

/// Out-of-fold probabilities (row-major n × k): each row predicted by a model that did not
/// see it. Folds run in parallel; the result does not depend on the thread count.
pub fn oof_proba(
    x: &Sparse,
    y: &[usize],
    k: usize,
    folds: &[usize],
    kind: ModelKind,
    c: f64,
) -> Vec<f64> {
    let n_folds = folds.iter().copied().max().map(|m| m + 1).unwrap_or(1);
    let parts: Vec<Vec<(usize, Vec<f64>)>> = (0..n_folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != f).collect();
            let test: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == f).collect();
            if test.is_empty() {
                return Vec::new();
            }
            let model = match kind {
                ModelKind::Lr => fit_lr(x, y, k, &train, c, LR_MAX_ITER),
                ModelKind::Nb => fit_nb(x, y, k, &train, 0.1),
            };
            test.into_iter()
                .map(|i| {
                    let (idx, val) = x.row(i);
                    (i, model.proba(idx, val))
                })
                .collect()
        })
        .collect();
    let mut p = vec![0f64; y.len() * k];
    for part in parts {
        for (i, pr) in part {
            if let Some(dst) = p.get_mut(i * k..i * k + k) {
                dst.copy_from_slice(&pr);
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Sparse, Vec<usize>) {
        // Feature 0 says class 0, feature 1 says class 1; 40 rows.
        let mut x = Sparse {
            indptr: vec![0],
            dim: 4,
            ..Sparse::default()
        };
        let mut y = Vec::new();
        for i in 0..40 {
            let c = i % 2;
            x.idx.push(c as u32);
            x.val.push(1.0);
            x.idx.push(2 + (i % 3 == 0) as u32);
            x.val.push(0.3);
            x.indptr.push(x.idx.len());
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn lr_and_nb_learn_a_separable_problem() {
        let (x, y) = toy();
        let rows: Vec<usize> = (0..40).collect();
        for m in [
            fit_lr(&x, &y, 2, &rows, 1.0, 100),
            fit_nb(&x, &y, 2, &rows, 0.1),
        ] {
            for i in 0..40 {
                let (a, b) = x.row(i);
                let p = m.proba(a, b);
                assert!(p[y[i]] > 0.6, "row {i}: {p:?}");
            }
        }
    }

    #[test]
    fn folds_are_stratified_and_groups_stay_together() {
        let y: Vec<usize> = (0..100).map(|i| usize::from(i < 30)).collect();
        let f = stratified_folds(&y, 2, 5, 1);
        for fold in 0..5 {
            let pos = (0..100).filter(|&i| f[i] == fold && y[i] == 1).count();
            assert_eq!(pos, 6);
        }
        let groups: Vec<usize> = (0..100).map(|i| i / 10).collect();
        let g = group_folds(&groups, 5);
        for i in 0..100 {
            assert_eq!(g[i], g[(i / 10) * 10]);
        }
    }
}
