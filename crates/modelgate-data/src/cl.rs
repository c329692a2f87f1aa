//! Confident learning (Northcutt, Jiang & Chuang, JAIR 2021), implemented from the published
//! algorithm with cleanlab 2.x's defaults: per-class self-confidence thresholds, the confident
//! joint (ties between several confident classes go to the overall argmax), calibration to the
//! label counts, `prune_by_noise_rate` ranking by margin, and the final rule that a row whose
//! argmax equals its label is never flagged.

/// Counts of the confident joint `C[given][true]` after calibration (rounded, row totals kept).
pub fn confident_joint(labels: &[usize], p: &[f64], k: usize) -> Vec<Vec<i64>> {
    let n = labels.len();
    let mut thr = vec![0f64; k];
    let mut cnt = vec![0usize; k];
    for (i, &s) in labels.iter().enumerate() {
        if s < k {
            thr[s] += p[i * k + s];
            cnt[s] += 1;
        }
    }
    for c in 0..k {
        thr[c] = if cnt[c] > 0 {
            thr[c] / cnt[c] as f64
        } else {
            0.0
        };
        thr[c] = thr[c].max(1e-6);
    }
    let mut cj = vec![vec![0f64; k]; k];
    for i in 0..n {
        let row = &p[i * k..i * k + k];
        let s = labels[i];
        let passing: Vec<usize> = (0..k).filter(|&j| row[j] >= thr[j] - 1e-6).collect();
        let j = match passing.len() {
            0 => continue,
            1 => passing[0],
            _ => argmax(row),
        };
        cj[s][j] += 1.0;
    }
    for (c, row) in cj.iter_mut().enumerate() {
        if row[c] < 1.0 {
            row[c] = 1.0;
        }
    }
    // Calibrate: each given-label row sums to that label's count, the matrix to n.
    for (c, row) in cj.iter_mut().enumerate() {
        let tot: f64 = row.iter().sum::<f64>().max(1e-12);
        for v in row.iter_mut() {
            *v = *v / tot * cnt[c] as f64;
        }
    }
    let total: f64 = cj.iter().flatten().sum::<f64>().max(1e-12);
    for v in cj.iter_mut().flatten() {
        *v = *v / total * n as f64;
    }
    cj.iter().map(|row| round_keep_sum(row)).collect()
}

/// Round a row so that its integer sum equals the rounded float sum; the needed ±1 changes go
/// to the entries whose rounding moved them furthest in the other direction.
fn round_keep_sum(row: &[f64]) -> Vec<i64> {
    let mut ints: Vec<i64> = row.iter().map(|v| v.round_ties_even() as i64).collect();
    let target = row.iter().sum::<f64>().round_ties_even() as i64;
    let mut diff = target - ints.iter().sum::<i64>();
    let mut guard = 0;
    while diff != 0 && guard < 1000 {
        guard += 1;
        let step: i64 = if diff > 0 { 1 } else { -1 };
        let mut order: Vec<usize> = (0..row.len()).collect();
        // Largest residual (float - int) first when adding, smallest first when removing.
        order.sort_by(|&a, &b| {
            let ra = row[a] - ints[a] as f64;
            let rb = row[b] - ints[b] as f64;
            if step > 0 {
                rb.total_cmp(&ra)
            } else {
                ra.total_cmp(&rb)
            }
            .then(a.cmp(&b))
        });
        for &i in order.iter().take(diff.unsigned_abs() as usize) {
            ints[i] += step;
        }
        diff = target - ints.iter().sum::<i64>();
    }
    ints
}

pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (j, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = j;
        }
    }
    best
}

/// Rows with label issues (`prune_by_noise_rate`), as a boolean mask.
pub fn find_label_issues(labels: &[usize], p: &[f64], k: usize) -> Vec<bool> {
    let n = labels.len();
    let mut mask = vec![false; n];
    if k < 2 || p.len() != n * k {
        return mask;
    }
    let cj = confident_joint(labels, p, k);
    // Keep at least one row per given class: the diagonal is already >= 1 after the clip.
    for given in 0..k {
        let members: Vec<usize> = (0..n).filter(|&i| labels[i] == given).collect();
        for truth in 0..k {
            if truth == given {
                continue;
            }
            let num = cj[given][truth].max(0) as usize;
            if num == 0 {
                continue;
            }
            let mut by_margin: Vec<(f64, usize)> = members
                .iter()
                .map(|&i| (p[i * k + truth] - p[i * k + given], i))
                .collect();
            by_margin.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in by_margin.iter().take(num) {
                mask[i] = true;
            }
        }
    }
    for i in 0..n {
        if mask[i] && argmax(&p[i * k..i * k + k]) == labels[i] {
            mask[i] = false;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_joint_counts_and_calibrates() {
        // 6 rows, 2 classes; rows 2 and 5 look like the other class.
        let labels = [0, 0, 0, 1, 1, 1];
        let p = [0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.1, 0.9, 0.3, 0.7, 0.95, 0.05];
        let cj = confident_joint(&labels, &p, 2);
        assert_eq!(cj, vec![vec![2, 1], vec![1, 2]]);
        let m = find_label_issues(&labels, &p, 2);
        assert_eq!(m, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn argmax_equal_to_label_is_never_flagged() {
        let labels = [0, 0, 1, 1];
        let p = [0.6, 0.4, 0.55, 0.45, 0.45, 0.55, 0.4, 0.6];
        assert!(find_label_issues(&labels, &p, 2).iter().all(|&b| !b));
    }

    #[test]
    fn rounding_keeps_row_sums() {
        let r = round_keep_sum(&[1.4, 1.4, 1.2]);
        assert_eq!(r.iter().sum::<i64>(), 4);
        let r = round_keep_sum(&[0.5, 0.5, 0.5, 0.5]);
        assert_eq!(r.iter().sum::<i64>(), 2);
    }
}
