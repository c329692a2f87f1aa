//! Binary L2-regularised logistic regression solved in the dual by coordinate descent
//! (Yu, Huang & Lin, "Dual coordinate descent methods for logistic regression and maximum
//! entropy models", Machine Learning 85, 2011), written from the paper.
//!
//! Primal: `min_w ½‖w‖² + C Σ_i log(1 + exp(−y_i w·x_i))`, `y_i ∈ {−1, +1}`. The dual keeps
//! one pair `(α_i, C − α_i)` per row and `w = Σ α_i y_i x_i`; each coordinate step is a
//! one-dimensional Newton solve, so a pass over the data costs two sparse dot products per
//! row and needs no line search and no history vectors. The bias is a constant feature of
//! value 1 (regularised like the other weights; with thousands of rows the difference from an
//! unregularised bias is negligible).

use crate::features::Sparse;
use crate::hash::Rng;

/// The training rows: rows `rows[r]` of `x` (features are bucket indices, `w` spans `x.dim`).
pub struct TrainRows<'a> {
    pub x: &'a Sparse,
    pub rows: &'a [usize],
}

impl TrainRows<'_> {
    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        match self.rows.get(r) {
            Some(&i) => self.x.row(i),
            None => (&[], &[]),
        }
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy)]
pub struct DualSettings {
    /// Stop when the largest dual gradient of a pass falls below this (LIBLINEAR's default for
    /// this solver is 0.1).
    pub eps: f64,
    pub max_passes: usize,
    pub seed: u64,
}

impl Default for DualSettings {
    fn default() -> Self {
        DualSettings {
            eps: 0.1,
            max_passes: 100,
            seed: 0x10_9157,
        }
    }
}

/// The fitted weights: `w` over the `x.dim` buckets, and the bias.
pub struct BinaryFit {
    pub w: Vec<f64>,
    pub bias: f64,
    pub passes: usize,
}

/// Fit on the rows with labels `pos[r]` (true = +1). `c` is the per-row loss weight.
pub fn fit_binary(rows: &TrainRows<'_>, pos: &[bool], c: f64, s: DualSettings) -> BinaryFit {
    let n = pos.len().min(rows.rows.len());
    let mut w = vec![0f64; rows.x.dim];
    let mut bias = 0f64;
    let c = c.max(1e-12);
    // alpha[i] and c - alpha[i] are the two dual variables of row i.
    let a0 = (1e-3 * c).min(1e-8);
    let mut alpha = vec![a0; n];
    let mut xsq = vec![0f64; n];
    for r in 0..n {
        let sq = 1.0 // the bias feature
            + rows
                .row(r)
                .1
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>();
        xsq[r] = sq;
        let coef = if pos[r] { a0 } else { -a0 };
        axpy_row(rows, r, coef, &mut w, &mut bias);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(s.seed);
    let mut inner_eps = 1e-2f64;
    let inner_eps_min = s.eps.min(1e-8);
    let mut passes = 0;
    while passes < s.max_passes {
        rng.shuffle(&mut order);
        let mut newton_steps = 0usize;
        let mut gmax = 0f64;
        for &r in &order {
            let yi = if pos[r] { 1.0 } else { -1.0 };
            let ywx = yi * (dot_row(rows, r, &w) + bias);
            let a = xsq[r];
            // Which of the pair to optimise: the one whose sub-problem is on the safe side.
            let (mut cur, sign) = if 0.5 * a * ((c - alpha[r]) - alpha[r]) + ywx < 0.0 {
                (c - alpha[r], -1.0)
            } else {
                (alpha[r], 1.0)
            };
            let old = cur;
            if c - cur < 0.5 * c {
                cur *= 0.1;
            }
            let grad = |z: f64| a * (z - old) + sign * ywx + (z / (c - z)).ln();
            let mut gp = grad(cur);
            gmax = gmax.max(gp.abs());
            let mut inner = 0;
            while inner < 100 && gp.abs() >= inner_eps {
                let gpp = a + c / ((c - cur) * cur);
                let next = cur - gp / gpp;
                cur = if next <= 0.0 { cur * 0.1 } else { next };
                gp = grad(cur);
                newton_steps += 1;
                inner += 1;
            }
            if inner > 0 {
                let new_alpha = if sign > 0.0 { cur } else { c - cur };
                let delta = new_alpha - alpha[r];
                alpha[r] = new_alpha;
                axpy_row(rows, r, delta * yi, &mut w, &mut bias);
            }
        }
        passes += 1;
        if gmax < s.eps {
            break;
        }
        if newton_steps <= n / 10 {
            inner_eps = (0.1 * inner_eps).max(inner_eps_min);
        }
    }
    BinaryFit { w, bias, passes }
}

fn dot_row(rows: &TrainRows<'_>, r: usize, w: &[f64]) -> f64 {
    let (idx, val) = rows.row(r);
    idx.iter()
        .zip(val)
        .map(|(&j, &v)| w.get(j as usize).copied().unwrap_or(0.0) * f64::from(v))
        .sum()
}

fn axpy_row(rows: &TrainRows<'_>, r: usize, coef: f64, w: &mut [f64], bias: &mut f64) {
    let (idx, val) = rows.row(r);
    for (&j, &v) in idx.iter().zip(val) {
        if let Some(wj) = w.get_mut(j as usize) {
            *wj += coef * f64::from(v);
        }
    }
    *bias += coef;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dual solution must satisfy the primal optimality condition
    /// `w = C Σ y_i σ(−y_i w·x_i) x_i` (gradient of the primal is zero).
    #[test]
    fn dual_solution_satisfies_primal_optimality() {
        let mut rng = Rng::new(3);
        let (m, n) = (6usize, 200usize);
        let mut x = Sparse {
            indptr: vec![0],
            dim: m,
            ..Sparse::default()
        };
        let mut pos = Vec::new();
        let truth = [1.5, -2.0, 0.5, 0.0, 1.0, -0.5];
        for _ in 0..n {
            let mut s = 0.3;
            for (j, t) in truth.iter().enumerate() {
                let v = rng.next_f64() * 2.0 - 1.0;
                x.idx.push(j as u32);
                x.val.push(v as f32);
                s += t * f64::from(v as f32);
            }
            x.indptr.push(x.idx.len());
            pos.push(rng.next_f64() < 1.0 / (1.0 + (-s).exp()));
        }
        let all: Vec<usize> = (0..n).collect();
        let rows = TrainRows { x: &x, rows: &all };
        let c = 0.5;
        let fit = fit_binary(
            &rows,
            &pos,
            c,
            DualSettings {
                eps: 1e-6,
                max_passes: 1000,
                seed: 1,
            },
        );
        let mut g = fit.w.clone();
        let mut gb = fit.bias;
        for (r, &p) in pos.iter().enumerate() {
            let y = if p { 1.0 } else { -1.0 };
            let z = y * (dot_row(&rows, r, &fit.w) + fit.bias);
            let coef = -c * y / (1.0 + z.exp());
            axpy_row(&rows, r, coef, &mut g, &mut gb);
        }
        let gmax = g.iter().chain([&gb]).fold(0f64, |a, v| a.max(v.abs()));
        assert!(gmax < 1e-4, "primal gradient {gmax}, w {:?}", fit.w);
        // And it learned the signs of the true weights.
        assert!(fit.w[0] > 0.5 && fit.w[1] < -0.5);
    }
}
