//! Shared, cheaply sliceable bytes: a memory-mapped file or an owned buffer.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Bytes shared between an artifact and its members. Slicing never copies, so a stored
/// zip member of a multi-GB memory-mapped checkpoint costs nothing until it is read.
#[derive(Clone)]
pub struct Blob {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    start: usize,
    end: usize,
}

impl Blob {
    pub fn from_owner(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let end = (*owner).as_ref().len();
        Blob {
            owner,
            start: 0,
            end,
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Self {
        Blob::from_owner(Arc::new(v))
    }

    pub fn as_slice(&self) -> &[u8] {
        (*self.owner)
            .as_ref()
            .get(self.start..self.end)
            .unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A sub-range of this blob; `None` when out of bounds.
    pub fn slice(&self, range: Range<usize>) -> Option<Blob> {
        if range.start > range.end || range.end > self.len() {
            return None;
        }
        Some(Blob {
            owner: Arc::clone(&self.owner),
            start: self.start.checked_add(range.start)?,
            end: self.start.checked_add(range.end)?,
        })
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_and_bound() {
        let b = Blob::from_vec(b"hello world".to_vec());
        let w = b.slice(6..11).unwrap();
        assert_eq!(w.as_slice(), b"world");
        assert_eq!(w.slice(1..3).unwrap().as_slice(), b"or");
        assert!(w.slice(3..9).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 5..2;
        assert!(b.slice(reversed).is_none());
    }
}
