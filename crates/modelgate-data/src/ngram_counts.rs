//! Counting helpers for the trigger test: per-label n-gram counts in flat arrays (no
//! allocation per n-gram), and groups of identical rows so that repeated rows are analysed once
//! and counted with their multiplicity.

use crate::hash::{combine, mix};
use rayon::prelude::*;
use std::collections::HashMap;

/// Per-label counts of hashed n-grams: `counts[slot * k + label]`, `n[slot]` the n-gram length.
pub struct NgramCounts {
    k: usize,
    slot: U64Map<u32>,
    counts: Vec<u32>,
    n: Vec<u8>,
    /// Per slot, the tag of the last row that counted it (see [`add_once`](Self::add_once)).
    last: Vec<u32>,
    /// N-grams seen in at most this many rows are dropped when the table is full.
    prune_df: u32,
}

impl NgramCounts {
    pub fn new(k: usize) -> Self {
        NgramCounts {
            k: k.max(1),
            slot: U64Map::default(),
            counts: Vec::new(),
            n: Vec::new(),
            last: Vec::new(),
            prune_df: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.slot.len()
    }

    /// Make room for about `n` distinct n-grams (avoids rehashing while counting).
    pub fn reserve(&mut self, n: usize) {
        self.slot.reserve(n);
        self.counts.reserve(n * self.k);
        self.n.reserve(n);
        self.last.reserve(n);
    }

    pub fn is_empty(&self) -> bool {
        self.slot.is_empty()
    }

    /// Count `w` rows labelled `y` that contain the n-gram `h` of length `n`.
    pub fn add(&mut self, h: u64, n: u8, y: usize, w: u32) {
        let s = self.slot_of(h, n);
        self.count(s, y, w);
    }

    /// Like [`add`](Self::add), but only for the first occurrence of `h` in the row tagged
    /// `row` (consecutive calls for one row share a tag; the next row must use another tag,
    /// see [`row_tag`]). True when this was the row's first occurrence.
    pub fn add_once(&mut self, h: u64, n: u8, y: usize, w: u32, row: u32) -> bool {
        let s = self.slot_of(h, n);
        match self.last.get_mut(s as usize) {
            Some(l) if *l != row => *l = row,
            _ => return false,
        }
        self.count(s, y, w);
        true
    }

    /// Forget which rows counted which n-grams (before tags are reused).
    pub fn reset_tags(&mut self) {
        self.last.iter_mut().for_each(|l| *l = u32::MAX);
    }

    fn slot_of(&mut self, h: u64, n: u8) -> u32 {
        let k = self.k;
        *self.slot.entry(h).or_insert_with(|| {
            self.n.push(n);
            self.counts.extend(std::iter::repeat_n(0, k));
            self.last.push(u32::MAX);
            (self.n.len() - 1) as u32
        })
    }

    fn count(&mut self, s: u32, y: usize, w: u32) {
        let k = self.k;
        if let Some(c) = self.counts.get_mut(s as usize * k + y.min(k - 1)) {
            *c = c.saturating_add(w);
        }
    }

    /// Label counts and n-gram length of `h`.
    pub fn get(&self, h: u64) -> Option<(&[u32], u8)> {
        let s = *self.slot.get(&h)? as usize;
        Some((
            self.counts.get(s * self.k..(s + 1) * self.k)?,
            *self.n.get(s)?,
        ))
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u32], u8)> {
        self.slot.iter().filter_map(|(&h, &s)| {
            let s = s as usize;
            Some((
                h,
                self.counts.get(s * self.k..(s + 1) * self.k)?,
                *self.n.get(s)?,
            ))
        })
    }

    /// Keep memory bounded: when more than `cap` n-grams are held, drop the rare ones (seen in
    /// at most `prune_df` rows); the floor rises while that frees too little.
    pub fn bound(&mut self, cap: usize) {
        while self.slot.len() > cap {
            let k = self.k;
            let floor = self.prune_df;
            let mut keep: Vec<(u64, u32)> = self
                .slot
                .iter()
                .filter(|(_, s)| {
                    let s = **s as usize;
                    let df: u32 = self
                        .counts
                        .get(s * k..(s + 1) * k)
                        .map(|c| c.iter().sum())
                        .unwrap_or(0);
                    df > floor
                })
                .map(|(&h, &s)| (h, s))
                .collect();
            keep.sort_unstable_by_key(|p| p.1);
            let mut counts = Vec::with_capacity(keep.len() * k);
            let mut n = Vec::with_capacity(keep.len());
            let mut slot = U64Map::default();
            slot.reserve(keep.len());
            for (new, (h, old)) in keep.into_iter().enumerate() {
                let old = old as usize;
                counts.extend_from_slice(self.counts.get(old * k..(old + 1) * k).unwrap_or(&[]));
                n.push(self.n.get(old).copied().unwrap_or(1));
                slot.insert(h, new as u32);
            }
            let freed_enough = slot.len() <= cap / 2;
            // Tags only matter within the row being counted; pruning happens between rows.
            self.last = vec![u32::MAX; n.len()];
            self.counts = counts;
            self.n = n;
            self.slot = slot;
            if !freed_enough {
                self.prune_df = self.prune_df.saturating_mul(2);
            }
        }
    }
}

/// The tag of row (or group) `g` for [`NgramCounts::add_once`]: tags repeat every
/// `u32::MAX` rows, and `reset` says when the counts' tags must be forgotten first.
pub fn row_tag(g: usize) -> (u32, bool) {
    let period = u32::MAX as usize;
    ((g % period) as u32, g > 0 && g % period == 0)
}

/// Rows grouped by (token sequence, label): `rep[g]` the first row of group g, `weight[g]` its
/// size; the rows of each group are kept in CSR form (`start[g]..start[g + 1]` of `rows`).
pub struct RowGroups {
    pub rep: Vec<usize>,
    pub weight: Vec<u32>,
    start: Vec<usize>,
    rows: Vec<usize>,
}

impl RowGroups {
    /// `hashes(i)`: row i's token hashes (computed in parallel).
    pub fn new(n_rows: usize, hashes: &(dyn Fn(usize) -> Vec<u64> + Sync), y: &[usize]) -> Self {
        let keys: Vec<u64> = (0..n_rows)
            .into_par_iter()
            .map(|i| {
                let hs = hashes(i);
                let label = y.get(i).copied().unwrap_or(0) as u64;
                hs.iter()
                    .fold(mix(label ^ 0x6a09_e667) ^ hs.len() as u64, |a, &h| {
                        combine(a, h)
                    })
            })
            .collect();
        let mut first: U64Map<u32> = U64Map::default();
        let mut rep = Vec::new();
        let mut weight: Vec<u32> = Vec::new();
        let mut group_of = Vec::with_capacity(n_rows);
        for (i, key) in keys.into_iter().enumerate() {
            let g = *first.entry(key).or_insert_with(|| {
                rep.push(i);
                weight.push(0);
                (rep.len() - 1) as u32
            });
            if let Some(w) = weight.get_mut(g as usize) {
                *w += 1;
            }
            group_of.push(g);
        }
        // CSR of the members: counting sort by group keeps the rows in order.
        let mut start = vec![0usize; rep.len() + 1];
        for (g, &w) in weight.iter().enumerate() {
            start[g + 1] = start[g] + w as usize;
        }
        let mut fill = start.clone();
        let mut rows = vec![0usize; n_rows];
        for (i, &g) in group_of.iter().enumerate() {
            if let Some(f) = fill.get_mut(g as usize) {
                if let Some(slot) = rows.get_mut(*f) {
                    *slot = i;
                }
                *f += 1;
            }
        }
        RowGroups {
            rep,
            weight,
            start,
            rows,
        }
    }

    pub fn len(&self) -> usize {
        self.rep.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rep.is_empty()
    }

    /// The rows of group g, in order.
    pub fn members(&self, g: usize) -> &[usize] {
        match (self.start.get(g), self.start.get(g + 1)) {
            (Some(&a), Some(&b)) => self.rows.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// All rows of the given groups, sorted, each with its group's value.
    pub fn expand<T: Copy>(&self, groups: &[(usize, T)]) -> Vec<(usize, T)> {
        let mut out: Vec<(usize, T)> = groups
            .iter()
            .flat_map(|&(g, v)| self.members(g).iter().map(move |&i| (i, v)))
            .collect();
        out.sort_by_key(|p| p.0);
        out
    }
}

/// Hash map keyed by values that are already well-mixed 64-bit hashes (no SipHash).
pub type U64Map<V> = HashMap<u64, V, std::hash::BuildHasherDefault<PassThrough>>;

/// Hasher for [`U64Map`]: the key is mixed once with splitmix64.
#[derive(Default)]
pub struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(self.0 ^ v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_pruning_of_rare_ngrams() {
        let mut c = NgramCounts::new(2);
        for h in 0..100u64 {
            c.add(h, 1, 0, 1);
        }
        c.add(7, 1, 1, 5);
        c.add(8, 2, 0, 2);
        c.bound(10);
        assert!(c.len() <= 10);
        assert_eq!(c.get(7), Some((&[1u32, 5][..], 1)));
        assert_eq!(c.get(8), Some((&[3u32, 0][..], 1)));
        assert!(c.get(9).is_none());
    }

    #[test]
    fn identical_rows_with_the_same_label_form_one_group() {
        let rows: Vec<Vec<u64>> = vec![vec![1, 2], vec![3], vec![1, 2], vec![1, 2], vec![2, 1]];
        let y = [0, 0, 0, 1, 0];
        let h = |i: usize| rows[i].clone();
        let g = RowGroups::new(rows.len(), &h, &y);
        assert_eq!(g.rep, vec![0, 1, 3, 4]);
        assert_eq!(g.weight, vec![2, 1, 1, 1]);
        assert_eq!(
            g.expand(&[(0, 'a'), (3, 'b')]),
            vec![(0, 'a'), (2, 'a'), (4, 'b')]
        );
    }
}
