//! The unpickler's memo: small dense indices (what every real pickler writes) live in a
//! vector, anything else in a hash map. `len` counts distinct keys, as `len(memo)` does for
//! MEMOIZE.

use super::value::ValueId;
use std::collections::HashMap;

/// Indices below this are stored densely (at most 256 KiB of slots).
const DENSE_LIMIT: i64 = 1 << 16;
const EMPTY: ValueId = ValueId::MAX;

#[derive(Debug, Default, Clone)]
pub struct Memo {
    dense: Vec<ValueId>,
    sparse: HashMap<i64, ValueId>,
    len: usize,
}

impl Memo {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, idx: i64) -> Option<ValueId> {
        if (0..DENSE_LIMIT).contains(&idx) {
            let slot = *self.dense.get(usize::try_from(idx).ok()?)?;
            (slot != EMPTY).then_some(slot)
        } else {
            self.sparse.get(&idx).copied()
        }
    }

    pub fn contains(&self, idx: i64) -> bool {
        self.get(idx).is_some()
    }

    /// Store `v` at `idx` (replacing any previous value).
    #[inline]
    pub fn insert(&mut self, idx: i64, v: ValueId) {
        // Picklers number memo entries 0, 1, 2, ...: the next index is an append.
        if usize::try_from(idx).is_ok_and(|i| i == self.dense.len()) && idx < DENSE_LIMIT {
            self.dense.push(v);
            self.len += 1;
            return;
        }
        let fresh = if (0..DENSE_LIMIT).contains(&idx) {
            let Ok(i) = usize::try_from(idx) else {
                return;
            };
            if self.dense.len() <= i {
                self.dense.resize(i + 1, EMPTY);
            }
            match self.dense.get_mut(i) {
                Some(slot) => std::mem::replace(slot, v) == EMPTY,
                None => false,
            }
        } else {
            self.sparse.insert(idx, v).is_none()
        };
        if fresh {
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_keys_count_once() {
        let mut m = Memo::default();
        m.insert(0, 7);
        m.insert(0, 8);
        m.insert(5, 9);
        m.insert(-1, 1);
        m.insert(1 << 40, 2);
        assert_eq!(m.len(), 4);
        assert_eq!(m.get(0), Some(8));
        assert_eq!(m.get(3), None);
        assert_eq!(m.get(5), Some(9));
        assert_eq!(m.get(-1), Some(1));
        assert_eq!(m.get(1 << 40), Some(2));
        assert!(!m.contains(100_000));
    }
}
