//! Compact encodings of the baseline state's large tables inside its JSON (`#[serde(with)]`
//! modules): a table becomes one base64 string of little-endian bytes instead of a JSON array
//! of up to a million numbers, so that loading a state decodes bytes instead of parsing
//! numbers. Mostly-constant tables (hashed idf weights, n-gram sketches, feature maps) are
//! stored sparsely: the entries that differ from the most common value, with their indices.
//!
//! Reading also accepts a plain JSON array (states written before format version 2). Every
//! length is checked against the bytes present and against [`MAX_LEN`], so a corrupt or hostile
//! state gives an error, never a huge allocation or a panic (dense tables are as long as their
//! bytes; a sparse table, which could declare any length in a few bytes, is limited to
//! [`MAX_SPARSE_LEN`] entries).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// Longest table accepted (entries).
pub const MAX_LEN: usize = 1 << 28;
/// Longest sparse table accepted (entries): 64 MB of 4-byte values, 16 times the largest
/// table a state holds today (2^20 hashed buckets).
pub const MAX_SPARSE_LEN: usize = 1 << 24;

const DENSE: u8 = 0;
const SPARSE: u8 = 1;

/// A table element with a fixed-size little-endian encoding.
pub trait Elem: Copy + for<'de> Deserialize<'de> {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    /// `b` holds exactly `SIZE` bytes.
    fn get(b: &[u8]) -> Self;
    /// Bitwise equality (keeps -0.0 and NaN payloads apart).
    fn same(self, other: Self) -> bool;
    fn zero() -> Self;
}

macro_rules! elem {
    ($t:ty, $n:expr) => {
        impl Elem for $t {
            const SIZE: usize = $n;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(b: &[u8]) -> Self {
                let mut a = [0u8; $n];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            fn same(self, other: Self) -> bool {
                self.to_le_bytes() == other.to_le_bytes()
            }
            fn zero() -> Self {
                <$t>::default()
            }
        }
    };
}
elem!(u16, 2);
elem!(u32, 4);
elem!(f32, 4);
elem!(u64, 8);

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| {
        let mut a = [0u8; 4];
        a.copy_from_slice(s);
        u32::from_le_bytes(a)
    })
}

/// Bytes of a table: `[mode u8][len u32]`, then either `len` values (dense) or
/// `[fill][nnz u32][nnz indices u32][nnz values]` (sparse, strictly increasing indices).
pub fn encode<T: Elem>(v: &[T]) -> Vec<u8> {
    // The fill is the most common of a few candidates (zero, the first and last entries).
    let mut fill = T::zero();
    let mut best = 0usize;
    for c in [Some(T::zero()), v.first().copied(), v.last().copied()]
        .into_iter()
        .flatten()
    {
        let n = v.iter().filter(|x| x.same(c)).count();
        if n > best {
            best = n;
            fill = c;
        }
    }
    let nnz = v.len() - best;
    let mut out = Vec::new();
    if nnz * (4 + T::SIZE) + 4 + T::SIZE < v.len() * T::SIZE {
        out.push(SPARSE);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        fill.put(&mut out);
        out.extend_from_slice(&(nnz as u32).to_le_bytes());
        for (i, x) in v.iter().enumerate() {
            if !x.same(fill) {
                out.extend_from_slice(&(i as u32).to_le_bytes());
            }
        }
        for x in v {
            if !x.same(fill) {
                x.put(&mut out);
            }
        }
    } else {
        out.push(DENSE);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for x in v {
            x.put(&mut out);
        }
    }
    out
}

pub fn decode<T: Elem>(b: &[u8]) -> Result<Vec<T>, String> {
    let bad = |m: &str| format!("packed table: {m}");
    let mode = *b.first().ok_or_else(|| bad("empty"))?;
    let len = u32_at(b, 1).ok_or_else(|| bad("truncated header"))? as usize;
    if len > MAX_LEN || (mode == SPARSE && len > MAX_SPARSE_LEN) {
        return Err(bad(&format!(
            "{len} entries (limit {MAX_SPARSE_LEN} for a sparse table)"
        )));
    }
    let s = T::SIZE;
    match mode {
        DENSE => {
            let body = b.get(5..).unwrap_or(&[]);
            if body.len() != len * s {
                return Err(bad("length does not match its bytes"));
            }
            Ok(body.chunks_exact(s).map(T::get).collect())
        }
        SPARSE => {
            let fill = T::get(b.get(5..5 + s).ok_or_else(|| bad("truncated header"))?);
            let nnz = u32_at(b, 5 + s).ok_or_else(|| bad("truncated header"))? as usize;
            let at = 9 + s;
            if nnz > len || b.len() != at + nnz * (4 + s) {
                return Err(bad("entry count does not match its bytes"));
            }
            let idx = b.get(at..at + 4 * nnz).unwrap_or(&[]);
            let vals = b.get(at + 4 * nnz..).unwrap_or(&[]);
            let mut out = vec![fill; len];
            let mut prev: Option<usize> = None;
            for (ib, vb) in idx.chunks_exact(4).zip(vals.chunks_exact(s)) {
                let i = u32_at(ib, 0).unwrap_or(u32::MAX) as usize;
                if prev.is_some_and(|p| i <= p) {
                    return Err(bad("indices out of order"));
                }
                *out.get_mut(i).ok_or_else(|| bad("index out of range"))? = T::get(vb);
                prev = Some(i);
            }
            Ok(out)
        }
        m => Err(bad(&format!("unknown mode {m}"))),
    }
}

pub fn serialize<T: Elem, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(encode(v)))
}

pub fn deserialize<'de, T: Elem, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    d.deserialize_any(TableVisitor(PhantomData))
}

struct TableVisitor<T>(PhantomData<T>);

impl<'de, T: Elem> Visitor<'de> for TableVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a packed table (base64 string) or an array of numbers")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
        let bytes = STANDARD
            .decode(v)
            .map_err(|e| E::custom(format!("packed table: {e}")))?;
        decode(&bytes).map_err(E::custom)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
        bounded_seq(seq)
    }
}

/// `(u64, u32)` pairs (content hashes and MinHash band keys with their row or class), dense:
/// `[len u32][len × (u64, u32)]`; a JSON array of pairs is read too.
pub mod pairs {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[(u64, u32)], s: S) -> Result<S::Ok, S::Error> {
        let mut b = Vec::with_capacity(4 + 12 * v.len());
        b.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for &(h, r) in v {
            b.extend_from_slice(&h.to_le_bytes());
            b.extend_from_slice(&r.to_le_bytes());
        }
        s.serialize_str(&STANDARD.encode(b))
    }

    pub fn decode(b: &[u8]) -> Result<Vec<(u64, u32)>, String> {
        let len = u32_at(b, 0).ok_or("packed pairs: truncated header")? as usize;
        if len > MAX_LEN || b.len() != 4 + 12 * len {
            return Err("packed pairs: length does not match its bytes".into());
        }
        Ok(b.get(4..)
            .unwrap_or(&[])
            .chunks_exact(12)
            .map(|c| {
                let mut h = [0u8; 8];
                h.copy_from_slice(&c[..8]);
                (u64::from_le_bytes(h), u32_at(c, 8).unwrap_or(0))
            })
            .collect())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u64, u32)>, D::Error> {
        d.deserialize_any(PairsVisitor)
    }

    struct PairsVisitor;

    impl<'de> Visitor<'de> for PairsVisitor {
        type Value = Vec<(u64, u32)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("packed pairs (base64 string) or an array of [hash, number] pairs")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let bytes = STANDARD
                .decode(v)
                .map_err(|e| E::custom(format!("packed pairs: {e}")))?;
            decode(&bytes).map_err(E::custom)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            bounded_seq(seq)
        }
    }
}

/// A plain JSON array (version-1 states), at most `MAX_LEN` entries.
fn bounded_seq<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
    mut seq: A,
) -> Result<Vec<T>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
    while let Some(x) = seq.next_element()? {
        if out.len() >= MAX_LEN {
            return Err(de::Error::custom(format!(
                "table longer than {MAX_LEN} entries"
            )));
        }
        out.push(x);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_dense_and_sparse() {
        let sparse: Vec<f32> = (0..1000)
            .map(|i| if i % 97 == 0 { i as f32 * 0.5 } else { 0.0 })
            .collect();
        let b = encode(&sparse);
        assert_eq!(b[0], SPARSE);
        assert!(b.len() < 200, "{}", b.len());
        assert_eq!(decode::<f32>(&b), Ok(sparse));
        // -0.0 and NaN keep their bits; a mostly-MAX map is sparse around MAX.
        let odd = vec![-0.0f32, f32::NAN, 1.5, 0.0];
        let back = decode::<f32>(&encode(&odd)).unwrap_or_default();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            odd.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let mut map = vec![u32::MAX; 5000];
        map[17] = 0;
        map[4000] = 1;
        let b = encode(&map);
        assert_eq!(b[0], SPARSE);
        assert_eq!(decode::<u32>(&b), Ok(map));
        let dense: Vec<u16> = (0..300).collect();
        let b = encode(&dense);
        assert_eq!(b[0], DENSE);
        assert_eq!(decode::<u16>(&b), Ok(dense));
        assert_eq!(decode::<u16>(&encode::<u16>(&[])), Ok(vec![]));
        let p = vec![(u64::MAX, 3u32), (7, 0)];
        let mut ser = serde_json::Serializer::new(Vec::new());
        pairs::serialize(&p, &mut ser).unwrap_or_else(|e| panic!("{e}"));
        let s: String = serde_json::from_slice(&ser.into_inner()).unwrap_or_default();
        let bytes = STANDARD.decode(s).unwrap_or_default();
        assert_eq!(pairs::decode(&bytes), Ok(p));
    }

    #[test]
    fn corrupt_tables_are_errors() {
        let good = encode(&[0u32, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(good[0], SPARSE);
        // Every truncation fails cleanly.
        for cut in 0..good.len() {
            assert!(decode::<u32>(&good[..cut]).is_err(), "cut {cut}");
        }
        // Index out of range.
        let mut bad = good.clone();
        let at = bad.len() - 8;
        bad[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
        assert!(decode::<u32>(&bad).is_err());
        // A huge declared length.
        let mut huge = vec![SPARSE];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 8]);
        let e = decode::<u32>(&huge).err().unwrap_or_default();
        assert!(e.contains("limit"), "{e}");
        assert!(decode::<u32>(&[7, 0, 0, 0, 0]).is_err());
        assert!(pairs::decode(&[1, 0, 0, 0, 1]).is_err());
    }
}
