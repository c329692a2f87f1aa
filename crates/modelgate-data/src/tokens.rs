//! Every row tokenised once: a CSR of vocabulary ids (4 bytes per token) shared by all the
//! detectors (features, trigger test, duplicates, junk, campaign terms), with each vocabulary
//! entry's stable hash ([`token_hash`]) and its text (for naming triggers and terms).
//!
//! Rows are tokenised in parallel a chunk at a time; ids are assigned in row order, so the
//! table does not depend on the thread count. Two different words with the same 64-bit hash
//! share an id (the detectors work on hashes anyway).

use crate::features::{token_hash, tokenize_into};
use crate::ngram_counts::U64Map;
use rayon::prelude::*;

/// Rows tokenised in one parallel step.
const CHUNK: usize = 8192;

#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    /// `start[i]..start[i + 1]` are row i's positions in `ids`.
    start: Vec<u64>,
    ids: Vec<u32>,
    /// Per vocabulary id: the token's hash.
    hash: Vec<u64>,
    /// Per vocabulary id: end of its text in `text` (start = previous end).
    text_end: Vec<usize>,
    text: String,
}

/// One row's tokens before interning: their text back to back and the end of each.
struct RawRow {
    buf: String,
    ends: Vec<usize>,
}

impl TokenTable {
    /// Tokenise `n` texts ([`crate::features::tokenize`] rules).
    pub fn from_texts(n: usize, text: &(dyn Fn(usize, &mut String) + Sync)) -> TokenTable {
        let mut t = TokenTable::with_rows(n);
        let mut vocab: U64Map<u32> = U64Map::default();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + CHUNK).min(n);
            let rows: Vec<RawRow> = (lo..hi)
                .into_par_iter()
                .map_init(String::new, |src, i| {
                    src.clear();
                    text(i, src);
                    let mut r = RawRow {
                        buf: String::new(),
                        ends: Vec::new(),
                    };
                    tokenize_into(src, &mut r.buf, &mut r.ends);
                    r
                })
                .collect();
            t.intern_rows(&mut vocab, rows);
            lo = hi;
        }
        t.shrink();
        t
    }

    /// Tokenise owned texts, freeing each chunk of them once it is tokenised (the texts and
    /// the table are never both held whole).
    pub fn from_owned_texts(texts: Vec<String>) -> TokenTable {
        let n = texts.len();
        let mut b = TokenTableBuilder::new();
        let mut it = texts.into_iter();
        loop {
            let chunk: Vec<String> = it.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            b.push_owned(chunk, b.rows() as f64 / n.max(1) as f64);
        }
        b.finish()
    }

    fn intern_rows(&mut self, vocab: &mut U64Map<u32>, rows: Vec<RawRow>) {
        for r in rows {
            let mut a = 0;
            for &e in &r.ends {
                self.push_token(vocab, r.buf.get(a..e).unwrap_or(""));
                a = e;
            }
            self.start.push(self.ids.len() as u64);
        }
    }

    /// Rows given as token lists (e.g. the `column=bin` tokens of numeric rows).
    pub fn from_lists(n: usize, tokens: &(dyn Fn(usize) -> Vec<String> + Sync)) -> TokenTable {
        let mut t = TokenTable::with_rows(n);
        let mut vocab: U64Map<u32> = U64Map::default();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + CHUNK).min(n);
            let rows: Vec<Vec<String>> = (lo..hi).into_par_iter().map(tokens).collect();
            for r in rows {
                for w in &r {
                    t.push_token(&mut vocab, w);
                }
                t.start.push(t.ids.len() as u64);
            }
            lo = hi;
        }
        t.shrink();
        t
    }

    fn with_rows(n: usize) -> TokenTable {
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        TokenTable {
            start,
            ..TokenTable::default()
        }
    }

    fn push_token(&mut self, vocab: &mut U64Map<u32>, w: &str) {
        let h = token_hash(w);
        let id = *vocab.entry(h).or_insert_with(|| {
            self.hash.push(h);
            self.text.push_str(w);
            self.text_end.push(self.text.len());
            (self.hash.len() - 1) as u32
        });
        self.ids.push(id);
    }

    fn shrink(&mut self) {
        self.ids.shrink_to_fit();
        self.hash.shrink_to_fit();
        self.text_end.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    pub fn rows(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Total tokens over all rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Distinct tokens.
    pub fn vocabulary(&self) -> usize {
        self.hash.len()
    }

    /// Row i's vocabulary ids in order.
    pub fn ids(&self, i: usize) -> &[u32] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) if a <= b => self.ids.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Hash of a vocabulary id.
    pub fn hash_of(&self, id: u32) -> u64 {
        self.hash.get(id as usize).copied().unwrap_or(0)
    }

    /// Row i's token hashes in order.
    pub fn hashes(&self, i: usize) -> Vec<u64> {
        self.ids(i).iter().map(|&id| self.hash_of(id)).collect()
    }

    /// Row i's token hashes in order, written to `out` (cleared first).
    pub fn hashes_into(&self, i: usize, out: &mut Vec<u64>) {
        out.clear();
        out.extend(self.ids(i).iter().map(|&id| self.hash_of(id)));
    }

    /// Text of a vocabulary id.
    pub fn word(&self, id: u32) -> &str {
        let id = id as usize;
        let a = if id == 0 {
            0
        } else {
            self.text_end.get(id - 1).copied().unwrap_or(0)
        };
        let b = self.text_end.get(id).copied().unwrap_or(a);
        self.text.get(a..b).unwrap_or("")
    }

    /// Row i's tokens as strings.
    pub fn strings(&self, i: usize) -> Vec<String> {
        self.ids(i)
            .iter()
            .map(|&id| self.word(id).to_string())
            .collect()
    }

    /// Tokens `p..p + n` of row i joined by spaces.
    pub fn phrase(&self, i: usize, p: usize, n: usize) -> String {
        let ids = self.ids(i);
        let words: Vec<&str> = ids
            .get(p..(p + n).min(ids.len()))
            .unwrap_or(&[])
            .iter()
            .map(|&id| self.word(id))
            .collect();
        words.join(" ")
    }

    /// The text of the token with hash `h`, when it occurs.
    pub fn word_of_hash(&self, h: u64) -> Option<&str> {
        self.hash
            .iter()
            .position(|&x| x == h)
            .map(|id| self.word(id as u32))
    }

    /// Bytes held (for the memory report).
    pub fn heap_bytes(&self) -> usize {
        self.start.capacity() * 8
            + self.ids.capacity() * 4
            + self.hash.capacity() * 8
            + self.text_end.capacity() * std::mem::size_of::<usize>()
            + self.text.capacity()
    }
}

/// Builds a [`TokenTable`] from texts handed over a chunk at a time, in row order (a
/// streaming reader's chunks): each chunk is tokenised and freed before the next is read, and
/// the table is the same as [`TokenTable::from_texts`] over all the rows, however they were
/// chunked (ids are assigned in row order).
#[derive(Default)]
pub struct TokenTableBuilder {
    t: TokenTable,
    vocab: U64Map<u32>,
    reserved: bool,
}

impl TokenTableBuilder {
    pub fn new() -> Self {
        TokenTableBuilder {
            t: TokenTable::with_rows(0),
            vocab: U64Map::default(),
            reserved: false,
        }
    }

    /// Rows taken so far.
    pub fn rows(&self) -> usize {
        self.t.rows()
    }

    /// The table of the rows taken so far.
    pub fn table(&self) -> &TokenTable {
        &self.t
    }

    /// Tokenise the next rows' texts (in parallel, [`CHUNK`] rows per step) and drop them.
    /// `done` is the share of the whole input read once these rows are in (0 when unknown):
    /// from the first chunk on, the row offsets and token ids are reserved for the whole
    /// input at the density seen so far (an estimate; the arrays still grow if it is short),
    /// so that they are not copied while doubling.
    pub fn push_owned(&mut self, texts: Vec<String>, done: f64) {
        let mut it = texts.into_iter();
        loop {
            let chunk: Vec<String> = it.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let rows: Vec<RawRow> = chunk
                .into_par_iter()
                .map(|src| {
                    let mut r = RawRow {
                        buf: String::new(),
                        ends: Vec::new(),
                    };
                    tokenize_into(&src, &mut r.buf, &mut r.ends);
                    r
                })
                .collect();
            self.t.intern_rows(&mut self.vocab, rows);
        }
        self.reserve(done);
    }

    fn reserve(&mut self, done: f64) {
        let rows = self.t.rows();
        if self.reserved || rows == 0 || !(done > 0.0 && done < 1.0) {
            return;
        }
        self.reserved = true;
        // Rows of the whole input at this chunk's bytes per row, with a margin of a tenth (at
        // most 2^32 rows, so a tiny first share cannot ask for absurd capacity).
        let est_rows = ((rows as f64 / done) * 1.1).min(4_294_967_296.0) as usize;
        if est_rows <= rows {
            return;
        }
        let per_row = self.t.ids.len() as f64 / rows as f64;
        let est_ids = (per_row * est_rows as f64) as usize;
        self.t
            .start
            .reserve(est_rows.saturating_sub(self.t.start.len()) + 1);
        self.t.ids.reserve(est_ids.saturating_sub(self.t.ids.len()));
    }

    pub fn finish(mut self) -> TokenTable {
        self.t.shrink();
        self.t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::tokenize;

    #[test]
    fn table_rows_match_the_tokenizer() {
        let texts = [
            "Hello, WORLD! a b2 Über-cool",
            "",
            "hello again, world",
            "İstanbul x ÇA",
        ];
        let t = TokenTable::from_texts(texts.len(), &|i, s| s.push_str(texts[i]));
        assert_eq!(t.rows(), 4);
        for (i, s) in texts.iter().enumerate() {
            assert_eq!(t.strings(i), tokenize(s), "row {i}");
            let hs: Vec<u64> = tokenize(s).iter().map(|w| token_hash(w)).collect();
            assert_eq!(t.hashes(i), hs);
        }
        // "hello" and "world" are interned once.
        assert_eq!(t.ids(0)[0], t.ids(2)[0]);
        assert_eq!(t.vocabulary(), 8);
        assert_eq!(t.phrase(0, 1, 2), "world b2");
        assert_eq!(t.word_of_hash(token_hash("again")), Some("again"));
        assert!(t.ids(1).is_empty() && t.ids(9).is_empty());
        let owned = TokenTable::from_owned_texts(texts.iter().map(|s| s.to_string()).collect());
        assert_eq!((owned.ids, owned.text), (t.ids.clone(), t.text.clone()));
        let l = TokenTable::from_lists(2, &|i| vec![format!("c=q{i}"), "d=q0".into()]);
        assert_eq!(l.strings(1), vec!["c=q1", "d=q0"]);
    }
}
