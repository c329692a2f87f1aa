//! Filter pipelines (the filter pipeline message, and the "I/O filter information" of
//! filtered fractal heaps): which filters were applied when writing, and undoing the ones
//! this reader implements (deflate, shuffle, Fletcher-32) within a byte and ratio budget.

use super::cursor::Cursor;
use super::{Error, Limits};
use crate::compress::{self, DecompressError, Method};
use std::cell::Cell;
use std::rc::Rc;

/// Bytes left to decode (decompress) for the whole file, shared by everything that undoes
/// a filter pipeline: dataset chunks, filtered fractal heap blocks, huge heap objects.
#[derive(Clone)]
pub(crate) struct DecodeBudget {
    left: Rc<Cell<u64>>,
    limit: u64,
}

impl DecodeBudget {
    pub(crate) fn new(limit: u64) -> Self {
        DecodeBudget {
            left: Rc::new(Cell::new(limit)),
            limit,
        }
    }

    fn spend(&self, n: u64) -> Result<(), Error> {
        let left = self.left.get().checked_sub(n).ok_or(Error::Limit {
            what: "bytes decompressed for the file",
            limit: self.limit,
        })?;
        self.left.set(left);
        Ok(())
    }
}

/// Filter identifiers registered with The HDF Group.
const DEFLATE: u16 = 1;
const SHUFFLE: u16 = 2;
const FLETCHER32: u16 = 3;
/// Most filters in one pipeline (libhdf5's H5Z_MAX_NFILTERS).
const MAX_FILTERS: u8 = 32;

/// One filter of a pipeline: its id and client data values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) id: u16,
    /// Bit 0: optional (a chunk may skip it; the chunk's filter mask says so).
    pub(crate) flags: u16,
    pub(crate) values: Vec<u32>,
}

/// Filters in the order they were applied on write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pipeline {
    pub(crate) filters: Vec<Filter>,
}

/// Parse a filter pipeline message body (versions 1 and 2).
pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<Pipeline, Error> {
    let at = c.pos() as u64;
    let version = c.u8("filter pipeline version")?;
    let count = c.u8("filter count")?;
    if count > MAX_FILTERS {
        return Err(Error::Invalid {
            at,
            what: format!("filter pipeline with {count} filters"),
        });
    }
    match version {
        1 => c.skip(6, "filter pipeline reserved")?,
        2 => {}
        v => {
            return Err(Error::Invalid {
                at,
                what: format!("filter pipeline version {v}"),
            });
        }
    }
    let mut filters = Vec::new();
    for _ in 0..count {
        let id = c.u16("filter id")?;
        let name_len = if version == 1 || id >= 256 {
            usize::from(c.u16("filter name length")?)
        } else {
            0
        };
        let flags = c.u16("filter flags")?;
        let n = usize::from(c.u16("filter client data count")?);
        let name_len = if version == 1 {
            name_len.checked_add(7).map_or(usize::MAX, |p| p & !7)
        } else {
            name_len
        };
        c.skip(name_len, "filter name")?;
        let mut values = Vec::new();
        for _ in 0..n {
            values.push(c.u32("filter client data")?);
        }
        if version == 1 && n % 2 == 1 {
            c.skip(4, "filter client data padding")?;
        }
        filters.push(Filter { id, flags, values });
    }
    Ok(Pipeline { filters })
}

fn name(id: u16) -> String {
    match id {
        4 => "szip".into(),
        5 => "nbit".into(),
        6 => "scale-offset".into(),
        32000 => "lzf".into(),
        32001 => "blosc".into(),
        32004 => "lz4".into(),
        32008 => "bitshuffle".into(),
        32015 => "zstd".into(),
        other => format!("filter {other}"),
    }
}

impl Pipeline {
    /// Undo the pipeline on `raw` (filters are undone last-applied first); `mask` bit `i`
    /// set means filter `i` was skipped for this block. `expected` is the size the block
    /// has unfiltered: the output budget, charged to the file's `budget` up front.
    pub(crate) fn undo(
        &self,
        raw: &[u8],
        mask: u32,
        expected: u64,
        at: u64,
        limits: &Limits,
        budget: &DecodeBudget,
    ) -> Result<Vec<u8>, Error> {
        budget.spend(expected)?;
        let mut data = raw.to_vec();
        for (i, f) in self.filters.iter().enumerate().rev() {
            if i < 32 && mask & (1 << i) != 0 {
                continue;
            }
            data = match f.id {
                DEFLATE => {
                    let input_len = data.len();
                    compress::decompress(Method::Zlib, &data, expected, limits.max_ratio).map_err(
                        |e| match e {
                            DecompressError::TooLarge { .. } => Error::Invalid {
                                at,
                                what: format!(
                                    "deflate block of {input_len} bytes expands past the \
                                     {expected} bytes it should have"
                                ),
                            },
                            DecompressError::Ratio { .. } => Error::Limit {
                                what: "compression ratio of a filtered block",
                                limit: limits.max_ratio,
                            },
                            DecompressError::Corrupt(e) => Error::Invalid {
                                at,
                                what: format!("deflate block: {e}"),
                            },
                        },
                    )?
                }
                SHUFFLE => {
                    let size = f.values.first().copied().unwrap_or(1) as usize;
                    unshuffle(&data, size)
                }
                FLETCHER32 => {
                    let keep = data.len().checked_sub(4).ok_or(Error::Truncated {
                        at,
                        what: "Fletcher-32 checksum of a filtered block",
                    })?;
                    data.truncate(keep);
                    data
                }
                other => {
                    return Err(Error::Unsupported {
                        at,
                        what: format!("{} compression", name(other)),
                    });
                }
            };
        }
        Ok(data)
    }
}

/// Undo the byte shuffle: the input holds byte 0 of every element, then byte 1 of every
/// element, ...; bytes past the last whole element are left in place.
fn unshuffle(data: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || data.len() < size {
        return data.to_vec();
    }
    let n = data.len() / size;
    let mut out = data.to_vec();
    for (b, plane) in data.chunks_exact(n).take(size).enumerate() {
        for (e, byte) in plane.iter().enumerate() {
            if let Some(slot) = out.get_mut(e * size + b) {
                *slot = *byte;
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_round_trip_and_tail() {
        // Elements [1,2,3], [4,5,6] shuffled: 1,4,2,5,3,6; a trailing odd byte stays.
        assert_eq!(
            unshuffle(&[1, 4, 2, 5, 3, 6, 9], 3),
            vec![1, 2, 3, 4, 5, 6, 9]
        );
        assert_eq!(unshuffle(&[7, 8], 1), vec![7, 8]);
    }

    #[test]
    fn pipeline_versions_and_undo() {
        // Version 2: shuffle (element size 4), deflate level 4.
        let body = [
            2u8, 2, 2, 0, 1, 0, 1, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 4, 0, 0, 0,
        ];
        let p = parse(&mut Cursor::new(&body, 0)).unwrap();
        assert_eq!(p.filters.len(), 2);
        assert_eq!(p.filters[0].values, vec![4]);
        let plain: Vec<u8> = (0u8..16).collect();
        let shuffled = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &shuffled).unwrap();
        let packed = e.finish().unwrap();
        let l = Limits::default();
        let b = DecodeBudget::new(100);
        assert_eq!(p.undo(&packed, 0, 16, 0, &l, &b).unwrap(), plain);
        // The chunk's filter mask says deflate (filter 1) was skipped.
        assert_eq!(p.undo(&shuffled, 0b10, 16, 0, &l, &b).unwrap(), plain);
        // Expanding past the expected size is an error, not an allocation.
        assert!(p.undo(&packed, 0, 8, 0, &l, &b).is_err());
        // Version 1 with an lzf filter (id 32000, named, one value, padded).
        let mut v1 = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
        v1.extend([0x00, 0x7d, 8, 0, 0, 0, 1, 0]);
        v1.extend(b"lzf\0\0\0\0\0");
        v1.extend([4, 0, 0, 0]);
        v1.extend([0, 0, 0, 0]);
        // The file's decode budget is spent (16 + 16 + 8 so far): the next block is refused.
        assert!(matches!(
            p.undo(&packed, 0, 64, 0, &l, &b),
            Err(Error::Limit { .. })
        ));
        let p = parse(&mut Cursor::new(&v1, 0)).unwrap();
        assert_eq!(p.filters[0].id, 32000);
        assert!(matches!(
            p.undo(b"x", 0, 1, 0, &l, &b),
            Err(Error::Unsupported { .. })
        ));
    }
}
