//! Counting helpers for the trigger test: per-label n-gram counts in flat arrays (no
//! allocation per n-gram), and groups of identical rows so that repeated rows are analysed once
//! and counted with their multiplicity.

use crate::features::ngram_hash;
use crate::hash::{combine, mix};
use rayon::prelude::*;
use std::collections::HashMap;

/// Per-label counts of hashed n-grams, spread over [`PARTS`] partitions by the top bits of the
/// hash. Each partition is an open-addressing table with flat arrays beside it
/// (`counts[slot * k + label]`, `n[slot]` the n-gram length; no allocation per n-gram), small
/// enough to stay in the caches while it is counted, and the partitions are counted in parallel
/// ([`count_groups`](Self::count_groups)).
pub struct NgramCounts {
    k: usize,
    parts: Vec<Part>,
    /// N-grams seen in at most this many rows are dropped when the table is full.
    prune_df: u32,
}

/// log2 of the partition count.
const PART_BITS: u32 = 6;
/// Partitions of [`NgramCounts`].
pub const PARTS: usize = 1 << PART_BITS;

/// The partition of an n-gram hash: its top bits (the tables place keys by the top bits of a
/// multiple of the hash, which all bits feed).
fn part_of(h: u64) -> usize {
    (h >> (64 - PART_BITS)) as usize
}

/// Occurrences (n-gram positions) counted per chunk of rows: bounds the buffered occurrences
/// (16 bytes each) and how far the table grows past its cap before it is pruned.
const CHUNK_OCCURRENCES: usize = 1 << 18;
/// Rows scattered to the partitions by one task.
const BLOCK_GROUPS: usize = 128;

/// One partition of [`NgramCounts`].
struct Part {
    slot: SlotTable,
    counts: Vec<u32>,
    n: Vec<u8>,
}

impl Part {
    fn new() -> Self {
        Part {
            slot: SlotTable::with_capacity(0),
            counts: Vec::new(),
            n: Vec::new(),
        }
    }

    fn slot_of(&mut self, h: u64, n: u8, k: usize) -> Option<&mut Entry> {
        let next = self.n.len() as u32;
        let e = self.slot.entry(h, next)?;
        if e.slot == next {
            self.n.push(n);
            self.counts.extend(std::iter::repeat_n(0, k));
        }
        Some(e)
    }

    fn count(&mut self, s: u32, y: usize, w: u32, k: usize) {
        if let Some(c) = self.counts.get_mut(s as usize * k + y.min(k - 1)) {
            *c = c.saturating_add(w);
        }
    }

    fn add_once(&mut self, h: u64, n: u8, y: usize, w: u32, row: u32, k: usize) -> bool {
        let s = match self.slot_of(h, n, k) {
            Some(e) if e.last != row => {
                e.last = row;
                e.slot
            }
            _ => return false,
        };
        self.count(s, y, w, k);
        true
    }

    fn get(&self, h: u64, k: usize) -> Option<(&[u32], u8)> {
        let s = self.slot.get(h)?.slot as usize;
        Some((self.counts.get(s * k..(s + 1) * k)?, *self.n.get(s)?))
    }

    fn iter(&self, k: usize) -> impl Iterator<Item = (u64, &[u32], u8)> {
        self.slot.iter().filter_map(move |e| {
            let s = e.slot as usize;
            Some((e.h, self.counts.get(s * k..(s + 1) * k)?, *self.n.get(s)?))
        })
    }

    /// Keep only the n-grams seen in more than `floor` rows.
    fn prune(&mut self, floor: u32, k: usize) {
        let mut keep: Vec<(u64, u32)> = self
            .slot
            .iter()
            .filter(|e| {
                let s = e.slot as usize;
                let df: u32 = self
                    .counts
                    .get(s * k..(s + 1) * k)
                    .map(|c| c.iter().sum())
                    .unwrap_or(0);
                df > floor
            })
            .map(|e| (e.h, e.slot))
            .collect();
        keep.sort_unstable_by_key(|p| p.1);
        let mut counts = Vec::with_capacity(keep.len() * k);
        let mut n = Vec::with_capacity(keep.len());
        // Tags only matter within the row being counted; pruning happens between rows.
        let mut slot = SlotTable::with_capacity(keep.len());
        for (new, (h, old)) in keep.into_iter().enumerate() {
            let old = old as usize;
            counts.extend_from_slice(self.counts.get(old * k..(old + 1) * k).unwrap_or(&[]));
            n.push(self.n.get(old).copied().unwrap_or(1));
            slot.entry(h, new as u32);
        }
        self.counts = counts;
        self.n = n;
        self.slot = slot;
    }
}

/// An n-gram occurrence waiting to be counted: its hash, its length and the row's tag.
#[derive(Clone, Copy, Default)]
struct Occurrence {
    h: u64,
    tag: u32,
    n: u8,
}

/// The occurrences of a block of rows, ordered by partition (and within one partition by row,
/// then position, then length): partition p's are `occ[start[p]..start[p + 1]]`.
struct Block {
    occ: Vec<Occurrence>,
    start: [usize; PARTS + 1],
}

impl Block {
    fn part(&self, p: usize) -> &[Occurrence] {
        match (self.start.get(p), self.start.get(p + 1)) {
            (Some(&a), Some(&b)) => self.occ.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// One bucket of [`SlotTable`]: the n-gram hash, its slot (`u32::MAX`: empty) and the tag of
/// the last row that counted it. 16 bytes: a lookup reads one cache line.
#[derive(Clone, Copy)]
struct Entry {
    h: u64,
    slot: u32,
    last: u32,
}

const EMPTY: Entry = Entry {
    h: 0,
    slot: u32::MAX,
    last: u32::MAX,
};

/// Open addressing with linear probing, hash -> (slot, last row tag). The counting pass looks
/// up every n-gram occurrence of every row here, and a table of millions of n-grams does not
/// fit in the caches: keeping key and value in one bucket halves the cache misses of a
/// general-purpose map (control bytes and buckets apart).
struct SlotTable {
    entries: Vec<Entry>,
    /// log2 of the bucket count.
    bits: u32,
    len: usize,
}

impl SlotTable {
    fn with_capacity(n: usize) -> Self {
        // At most 70 % full.
        let want = (n.saturating_mul(10) / 7).max(16);
        let bits = want.next_power_of_two().trailing_zeros();
        SlotTable {
            entries: vec![EMPTY; 1usize << bits],
            bits,
            len: 0,
        }
    }

    fn home(&self, h: u64) -> usize {
        // Fibonacci hashing: the top bits of the product.
        (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bits)) as usize
    }

    /// Bucket of `h`, or of the empty bucket where it would go.
    fn find(&self, h: u64) -> usize {
        let mask = self.entries.len() - 1;
        let mut i = self.home(h);
        loop {
            match self.entries.get(i) {
                Some(e) if e.slot != u32::MAX && e.h != h => i = (i + 1) & mask,
                _ => return i,
            }
        }
    }

    fn get(&self, h: u64) -> Option<&Entry> {
        self.entries
            .get(self.find(h))
            .filter(|e| e.slot != u32::MAX)
    }

    /// The entry of `h`, inserted with `slot` when absent.
    fn entry(&mut self, h: u64, slot: u32) -> Option<&mut Entry> {
        if (self.len + 1) * 10 > self.entries.len() * 7 {
            self.grow();
        }
        let i = self.find(h);
        let e = self.entries.get_mut(i)?;
        if e.slot == u32::MAX {
            *e = Entry {
                h,
                slot,
                last: u32::MAX,
            };
            self.len += 1;
        }
        Some(e)
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.entries);
        self.bits += 1;
        self.entries = vec![EMPTY; 1usize << self.bits];
        for e in old.into_iter().filter(|e| e.slot != u32::MAX) {
            let i = self.find(e.h);
            if let Some(b) = self.entries.get_mut(i) {
                *b = e;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.slot != u32::MAX)
    }
}

impl NgramCounts {
    pub fn new(k: usize) -> Self {
        NgramCounts {
            k: k.max(1),
            parts: (0..PARTS).map(|_| Part::new()).collect(),
            prune_df: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.slot.len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn part_mut(&mut self, h: u64) -> Option<&mut Part> {
        self.parts.get_mut(part_of(h))
    }

    /// Count `w` rows labelled `y` that contain the n-gram `h` of length `n`.
    pub fn add(&mut self, h: u64, n: u8, y: usize, w: u32) {
        let k = self.k;
        if let Some(part) = self.part_mut(h)
            && let Some(s) = part.slot_of(h, n, k).map(|e| e.slot)
        {
            part.count(s, y, w, k);
        }
    }

    /// Like [`add`](Self::add), but only for the first occurrence of `h` in the row tagged
    /// `row` (consecutive calls for one row share a tag; the next row must use another tag,
    /// as [`count_groups`](Self::count_groups) does with row numbers). True when this was the
    /// row's first occurrence.
    pub fn add_once(&mut self, h: u64, n: u8, y: usize, w: u32, row: u32) -> bool {
        let k = self.k;
        self.part_mut(h)
            .is_some_and(|part| part.add_once(h, n, y, w, row, k))
    }

    /// Forget which rows counted which n-grams (before tags are reused).
    pub fn reset_tags(&mut self) {
        for part in &mut self.parts {
            part.slot.entries.iter_mut().for_each(|e| e.last = u32::MAX);
        }
    }

    /// Count the distinct n-grams (lengths 1 to `max_n`) of rows `0..n_rows`, each once per row
    /// with the row's `label(g)` = (label, weight), as [`add_once`](Self::add_once) over the rows
    /// in order would; `row(g, out)` writes row g's token hashes. The rows are taken in chunks
    /// of about [`CHUNK_OCCURRENCES`] n-gram positions (`len(g)`: row g's token count), and
    /// the table is bounded to `cap` n-grams after each chunk. Within a chunk, blocks of rows
    /// sort their occurrences by partition in parallel, then the partitions are counted in
    /// parallel, each from the blocks in row order: the counts do not depend on the threads.
    pub fn count_groups(
        &mut self,
        n_rows: usize,
        len: &(dyn Fn(usize) -> usize + Sync),
        row: &(dyn Fn(usize, &mut Vec<u64>) + Sync),
        label: &(dyn Fn(usize) -> (usize, u32) + Sync),
        max_n: usize,
        cap: usize,
    ) {
        self.count_in_chunks(n_rows, len, row, label, max_n, cap, CHUNK_OCCURRENCES);
    }

    /// [`count_groups`](Self::count_groups) with chunks of about `chunk` occurrences.
    #[allow(clippy::too_many_arguments)]
    fn count_in_chunks(
        &mut self,
        n_rows: usize,
        len: &(dyn Fn(usize) -> usize + Sync),
        row: &(dyn Fn(usize, &mut Vec<u64>) + Sync),
        label: &(dyn Fn(usize) -> (usize, u32) + Sync),
        max_n: usize,
        cap: usize,
        chunk: usize,
    ) {
        let k = self.k;
        let max_n = max_n.max(1);
        let period = u32::MAX as usize;
        let mut g0 = 0usize;
        while g0 < n_rows {
            // Tags are row numbers modulo `period`; a chunk never spans a wrap, and the tags
            // are forgotten at one.
            let base = g0 - g0 % period;
            if g0 > 0 && g0 == base {
                self.reset_tags();
            }
            let wrap = base.saturating_add(period).min(n_rows);
            let mut g1 = g0;
            let mut occurrences = 0usize;
            while g1 < wrap {
                let more = len(g1).saturating_mul(max_n);
                if g1 > g0 && occurrences.saturating_add(more) > chunk {
                    break;
                }
                occurrences = occurrences.saturating_add(more);
                g1 += 1;
            }
            let blocks: Vec<Block> = (g0..g1)
                .step_by(BLOCK_GROUPS)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map_init(Vec::new, |hs, a| {
                    scatter_block(a..(a + BLOCK_GROUPS).min(g1), base, row, max_n, hs)
                })
                .collect();
            let labels: Vec<(usize, u32)> = (g0..g1).map(label).collect();
            let first = g0 - base;
            self.parts.par_iter_mut().enumerate().for_each(|(p, part)| {
                for b in &blocks {
                    for o in b.part(p) {
                        let (y, w) = labels
                            .get((o.tag as usize).wrapping_sub(first))
                            .copied()
                            .unwrap_or((0, 0));
                        part.add_once(o.h, o.n, y, w, o.tag, k);
                    }
                }
            });
            drop(blocks);
            self.bound(cap);
            g0 = g1;
        }
    }

    /// Label counts and n-gram length of `h`.
    pub fn get(&self, h: u64) -> Option<(&[u32], u8)> {
        self.parts.get(part_of(h))?.get(h, self.k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u32], u8)> {
        let k = self.k;
        self.parts.iter().flat_map(move |p| p.iter(k))
    }

    /// Keep memory bounded: when more than `cap` n-grams are held, drop the rare ones (seen in
    /// at most `prune_df` rows); the floor rises while that frees too little.
    pub fn bound(&mut self, cap: usize) {
        while self.len() > cap {
            let (k, floor) = (self.k, self.prune_df);
            self.parts.par_iter_mut().for_each(|p| p.prune(floor, k));
            if self.len() > cap / 2 {
                self.prune_df = self.prune_df.saturating_mul(2);
            }
        }
    }
}

/// The n-gram occurrences of rows `rows` (tags relative to `base`), ordered by partition.
fn scatter_block(
    rows: std::ops::Range<usize>,
    base: usize,
    row: &(dyn Fn(usize, &mut Vec<u64>) + Sync),
    max_n: usize,
    hs: &mut Vec<u64>,
) -> Block {
    let mut occ: Vec<Occurrence> = Vec::new();
    for g in rows {
        row(g, hs);
        let tag = (g - base) as u32;
        for p in 0..hs.len() {
            for n in 1..=max_n {
                let Some(win) = hs.get(p..p + n) else { break };
                let h = if n == 1 { win[0] } else { ngram_hash(win) };
                occ.push(Occurrence { h, tag, n: n as u8 });
            }
        }
    }
    let mut start = [0usize; PARTS + 1];
    for o in &occ {
        if let Some(c) = start.get_mut(part_of(o.h) + 1) {
            *c += 1;
        }
    }
    for p in 0..PARTS {
        start[p + 1] += start[p];
    }
    let mut fill = start;
    let mut sorted = vec![Occurrence::default(); occ.len()];
    for o in occ {
        if let Some(f) = fill.get_mut(part_of(o.h))
            && let Some(d) = sorted.get_mut(*f)
        {
            *d = o;
            *f += 1;
        }
    }
    Block { occ: sorted, start }
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
    fn slot_table_finds_every_key_through_growth_and_collisions() {
        let mut c = NgramCounts::new(3);
        // Keys that share low bits (zero among them: the hash an empty bucket holds).
        let keys: Vec<u64> = (0..5000u64).map(|i| i << 40).chain([1, u64::MAX]).collect();
        for (r, &h) in keys.iter().enumerate() {
            assert!(c.add_once(h, 2, r % 3, 1, 7));
            assert!(!c.add_once(h, 2, r % 3, 1, 7), "second occurrence in a row");
            assert!(c.add_once(h, 2, (r + 1) % 3, 2, 8));
        }
        assert_eq!(c.len(), keys.len());
        for (r, &h) in keys.iter().enumerate() {
            let mut want = [0u32; 3];
            want[r % 3] += 1;
            want[(r + 1) % 3] += 2;
            assert_eq!(c.get(h), Some((&want[..], 2)));
        }
        assert!(c.get(12345).is_none());
        assert_eq!(c.iter().count(), keys.len());
    }

    /// Trigrams and shorter of `rows` (3 labels), counted in chunks of `chunk` positions.
    fn count_rows(
        rows: &[Vec<u64>],
        label: &(dyn Fn(usize) -> (usize, u32) + Sync),
        cap: usize,
        chunk: usize,
    ) -> NgramCounts {
        let mut c = NgramCounts::new(3);
        c.count_in_chunks(
            rows.len(),
            &|g| rows[g].len(),
            &|g, out| {
                out.clear();
                out.extend_from_slice(&rows[g]);
            },
            label,
            3,
            cap,
            chunk,
        );
        c
    }

    #[test]
    fn chunked_parallel_counts_equal_counting_row_by_row() {
        let mut rng = crate::hash::Rng::new(4);
        // Hashes spread over all partitions (top bits) and repeated within and across rows.
        let vocab: Vec<u64> = (0..40).map(|i| mix(i as u64 * 7 + 1)).collect();
        let rows: Vec<Vec<u64>> = (0..300)
            .map(|i| {
                (0..(i % 23))
                    .map(|_| vocab[rng.below(vocab.len())])
                    .collect()
            })
            .collect();
        let label = |g: usize| (g % 3, 1 + (g % 2) as u32);
        let mut want = NgramCounts::new(3);
        for (g, hs) in rows.iter().enumerate() {
            let (y, w) = label(g);
            for p in 0..hs.len() {
                for n in 1..=3 {
                    let Some(win) = hs.get(p..p + n) else { break };
                    let h = if n == 1 { win[0] } else { ngram_hash(win) };
                    want.add_once(h, n as u8, y, w, g as u32);
                }
            }
        }
        for chunk in [1, 10, 97, usize::MAX] {
            let got = count_rows(&rows, &label, usize::MAX, chunk);
            assert_eq!(got.len(), want.len(), "chunk {chunk}");
            for (h, c, n) in want.iter() {
                assert_eq!(got.get(h), Some((c, n)), "chunk {chunk}");
            }
        }
        // A cap: the table stays within it between chunks, and an n-gram in every row
        // keeps its exact counts.
        let common = mix(999);
        let rows: Vec<Vec<u64>> = rows
            .into_iter()
            .map(|mut r| {
                r.push(common);
                r
            })
            .collect();
        let capped = count_rows(&rows, &label, 200, 50);
        assert!(capped.len() <= 200, "{}", capped.len());
        let mut c = [0u32; 3];
        for g in 0..rows.len() {
            let (y, w) = label(g);
            c[y] += w;
        }
        assert_eq!(capped.get(common), Some((&c[..], 1)));
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
