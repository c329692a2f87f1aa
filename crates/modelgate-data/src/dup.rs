//! Exact and near duplicates: one-permutation MinHash (64 slots, densified) over word shingles,
//! LSH banding (16 bands × 4 slots) for candidates, verification by the estimated Jaccard
//! similarity, union-find into components. Candidate work per LSH bucket is linear (each
//! member is compared with the bucket's first member only), so templated data cannot make it
//! quadratic.

use crate::features::token_hash;
use crate::hash::{hash_bytes, mix};
use std::collections::HashMap;

pub const SLOTS: usize = 64;
const BANDS: usize = 16;
const ROWS_PER_BAND: usize = SLOTS / BANDS;

pub type Signature = [u32; SLOTS];

/// MinHash signature of a token list (shingles of `shingle` words; shorter texts use
/// unigrams). `None` for a row without tokens.
pub fn signature(tokens: &[String], shingle: usize) -> Option<Signature> {
    let hs: Vec<u64> = tokens.iter().map(|t| token_hash(t)).collect();
    signature_of_hashes(&hs, shingle)
}

/// [`signature`] of a row given its token hashes.
pub fn signature_of_hashes(hs: &[u64], shingle: usize) -> Option<Signature> {
    if hs.is_empty() {
        return None;
    }
    let w = if hs.len() >= shingle {
        shingle.max(1)
    } else {
        1
    };
    let mut sig = [u32::MAX; SLOTS];
    let mut filled = [false; SLOTS];
    for win in hs.windows(w) {
        let mut h = 0x51a7u64;
        for &x in win {
            h = mix(h ^ x);
        }
        let slot = (h % SLOTS as u64) as usize;
        let v = (h >> 32) as u32;
        if v <= sig[slot] {
            sig[slot] = v;
            filled[slot] = true;
        }
    }
    // Densify empty slots from the next filled slot (rotation), re-hashed per distance.
    let firsts: Vec<usize> = (0..SLOTS).filter(|&s| filled[s]).collect();
    if firsts.is_empty() {
        return None;
    }
    for s in 0..SLOTS {
        if !filled[s] {
            let mut d = 1;
            while !filled[(s + d) % SLOTS] {
                d += 1;
            }
            let src = sig[(s + d) % SLOTS];
            sig[s] = (mix(u64::from(src) ^ (d as u64) << 40) >> 32) as u32;
        }
    }
    Some(sig)
}

pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / SLOTS as f64
}

/// Band keys of a signature (used for LSH buckets and the baseline index).
pub fn band_keys(sig: &Signature) -> [u64; BANDS] {
    let mut out = [0u64; BANDS];
    for (b, o) in out.iter_mut().enumerate() {
        *o = band_key(sig, b);
    }
    out
}

/// The key of band `b` of a signature.
pub fn band_key(sig: &Signature, b: usize) -> u64 {
    let mut bytes = [0u8; ROWS_PER_BAND * 4 + 1];
    bytes[0] = b as u8;
    for (t, v) in sig
        .iter()
        .skip(b * ROWS_PER_BAND)
        .take(ROWS_PER_BAND)
        .enumerate()
    {
        bytes[1 + 4 * t..5 + 4 * t].copy_from_slice(&v.to_le_bytes());
    }
    hash_bytes(&bytes, 0xb4d5)
}

pub struct UnionFind(Vec<usize>);

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// Component id (smallest member row) per row; rows without a signature are alone.
pub fn components(sigs: &[Option<Signature>], threshold: f64) -> Vec<usize> {
    let n = sigs.len();
    let mut uf = UnionFind::new(n);
    for band in 0..BANDS {
        let mut first: HashMap<u64, usize> = HashMap::new();
        for (i, s) in sigs.iter().enumerate() {
            let Some(s) = s else { continue };
            let key = band_key(s, band);
            match first.get(&key) {
                Some(&j) => {
                    if let Some(sj) = &sigs[j]
                        && similarity(s, sj) >= threshold
                    {
                        uf.union(i, j);
                    }
                }
                None => {
                    first.insert(key, i);
                }
            }
        }
    }
    (0..n).map(|i| uf.find(i)).collect()
}

/// Normalised content hash (lowercase tokens) for exact-duplicate tests.
pub fn content_hash(tokens: &[String]) -> u64 {
    let hs: Vec<u64> = tokens.iter().map(|t| token_hash(t)).collect();
    content_hash_of_hashes(&hs)
}

/// [`content_hash`] of a row given its token hashes.
pub fn content_hash_of_hashes(hs: &[u64]) -> u64 {
    hs.iter().fold(0xe7acu64, |h, &t| mix(h ^ t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tokenize;

    #[test]
    fn near_duplicates_join_and_strangers_do_not() {
        let texts = [
            "the quick brown fox jumps over the lazy dog near the river bank today",
            "the quick brown fox jumps over the lazy dog near the river bank tonight",
            "completely different text about stock markets and interest rates rising",
            "the quick brown fox jumps over the lazy dog near the river bank today",
        ];
        let sigs: Vec<_> = texts.iter().map(|t| signature(&tokenize(t), 2)).collect();
        let c = components(&sigs, 0.7);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[0], c[3]);
        assert_ne!(c[0], c[2]);
        assert!(signature(&[], 2).is_none());
        assert_eq!(
            content_hash(&tokenize("Hello, World")),
            content_hash(&tokenize("hello world!"))
        );
    }
}
