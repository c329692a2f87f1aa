//! Dataset raw data: the data layout message (compact, contiguous, chunked; versions 1-4)
//! and reading a dataset's bytes in row-major order, chunk by chunk through the chunk index
//! (version-1 B-tree; single chunk, implicit and unpaged fixed-array indexes of layout
//! versions 4 and 5), with the filter pipeline undone. Extensible-array and version-2 B-tree chunk
//! indexes, paged fixed arrays and virtual datasets are reported as not read.
//!
//! Only what the caller asks for is read, up to a byte cap: the caller reads byte, string
//! and opaque datasets (where a payload can hide) and never numeric weights.

use super::btree_v2;
use super::cursor::{Cursor, Layout, to_usize};
use super::filters::{DecodeBudget, Pipeline};
use super::{Error, Limits};
use std::collections::HashSet;

/// Where a dataset's elements are.
#[derive(Clone)]
pub(crate) enum Storage<'a> {
    /// In the layout message itself.
    Compact(Cursor<'a>),
    /// One block of the file; `None` when never written (all fill value).
    Contiguous(Option<u64>),
    Chunked {
        /// Chunk dimensions in elements (the element-size dimension removed).
        dims: Vec<u64>,
        index: ChunkIndex,
    },
    Virtual,
}

#[derive(Debug, Clone)]
pub(crate) enum ChunkIndex {
    /// Version-1 B-tree (layout versions 1-3, and 4 for files written "earliest").
    BTreeV1(Option<u64>),
    /// One chunk covering the dataset; filtered size and mask when the pipeline applies.
    Single {
        addr: Option<u64>,
        filtered: Option<(u64, u32)>,
    },
    /// Unfiltered chunks stored back to back in row-major chunk order.
    Implicit(Option<u64>),
    FixedArray(Option<u64>),
    /// Extensible array (one unlimited dimension, layout version 4+).
    ExtensibleArray(Option<u64>),
    /// Version-2 B-tree (more than one unlimited dimension, layout version 4+).
    BTreeV2(Option<u64>),
}

/// Parse a data layout message body.
pub(crate) fn parse_layout<'a>(c: &mut Cursor<'a>, layout: &Layout) -> Result<Storage<'a>, Error> {
    let at = c.pos() as u64;
    let version = c.u8("layout version")?;
    match version {
        1 | 2 => {
            let rank = usize::from(c.u8("layout dimensionality")?);
            let class = c.u8("layout class")?;
            c.skip(5, "layout reserved")?;
            let addr = if class == 0 {
                None
            } else {
                layout.addr(c, "layout data address")?
            };
            let mut dims = Vec::new();
            for _ in 0..rank {
                dims.push(u64::from(c.u32("layout dimension")?));
            }
            match class {
                0 => {
                    let n = c.u32("compact data size")?;
                    Ok(Storage::Compact(c.take(
                        to_usize(u64::from(n), at, "compact data")?,
                        "compact data",
                    )?))
                }
                1 => Ok(Storage::Contiguous(addr)),
                2 => {
                    dims.pop(); // the element size
                    Ok(Storage::Chunked {
                        dims,
                        index: ChunkIndex::BTreeV1(addr),
                    })
                }
                k => Err(Error::Invalid {
                    at,
                    what: format!("layout class {k}"),
                }),
            }
        }
        // Version 5 (libhdf5 2.0) is laid out like version 4.
        3..=5 => {
            let class = c.u8("layout class")?;
            match class {
                0 => {
                    let n = c.u16("compact data size")?;
                    Ok(Storage::Compact(c.take(usize::from(n), "compact data")?))
                }
                1 => {
                    let addr = layout.addr(c, "layout data address")?;
                    let _size = layout.length(c, "layout data size")?;
                    Ok(Storage::Contiguous(addr))
                }
                2 if version == 3 => {
                    let rank = usize::from(c.u8("layout dimensionality")?);
                    let addr = layout.addr(c, "chunk B-tree address")?;
                    let mut dims = Vec::new();
                    for _ in 0..rank {
                        dims.push(u64::from(c.u32("chunk dimension")?));
                    }
                    dims.pop();
                    Ok(Storage::Chunked {
                        dims,
                        index: ChunkIndex::BTreeV1(addr),
                    })
                }
                2 => chunked_v4(c, layout, at),
                3 => Ok(Storage::Virtual),
                k => Err(Error::Invalid {
                    at,
                    what: format!("layout class {k}"),
                }),
            }
        }
        v => Err(Error::Invalid {
            at,
            what: format!("layout message version {v}"),
        }),
    }
}

fn chunked_v4<'a>(c: &mut Cursor<'a>, layout: &Layout, at: u64) -> Result<Storage<'a>, Error> {
    let flags = c.u8("chunked layout flags")?;
    let rank = usize::from(c.u8("layout dimensionality")?);
    let width = usize::from(c.u8("chunk dimension width")?);
    let mut dims = Vec::new();
    for _ in 0..rank {
        dims.push(c.uint(width, "chunk dimension")?);
    }
    dims.pop();
    let kind = c.u8("chunk index type")?;
    let index = match kind {
        1 => {
            let filtered = if flags & 0x02 != 0 {
                let size = layout.length(c, "filtered chunk size")?;
                let mask = c.u32("chunk filter mask")?;
                Some((size, mask))
            } else {
                None
            };
            ChunkIndex::Single {
                addr: layout.addr(c, "chunk address")?,
                filtered,
            }
        }
        2 => ChunkIndex::Implicit(layout.addr(c, "chunk address")?),
        3 => {
            c.skip(1, "fixed array page bits")?;
            ChunkIndex::FixedArray(layout.addr(c, "fixed array address")?)
        }
        4 => {
            c.skip(5, "extensible array parameters")?;
            ChunkIndex::ExtensibleArray(layout.addr(c, "extensible array address")?)
        }
        5 => {
            c.skip(6, "chunk v2 B-tree parameters")?;
            ChunkIndex::BTreeV2(layout.addr(c, "chunk v2 B-tree address")?)
        }
        k => {
            return Err(Error::Invalid {
                at,
                what: format!("chunk index type {k}"),
            });
        }
    };
    Ok(Storage::Chunked { dims, index })
}

/// One stored chunk: its first element's coordinates, where it is, and how it was filtered.
struct Chunk {
    offsets: Vec<u64>,
    addr: u64,
    size: u64,
    mask: u32,
}

/// What a dataset read produced.
pub(crate) struct Raw {
    pub(crate) bytes: Vec<u8>,
    /// Absolute position of the data (compact or contiguous) or of the first chunk.
    pub(crate) at: u64,
}

fn product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |a, d| a.checked_mul(*d))
}

/// Read the first `want` bytes (row-major) of a dataset of `shape` and `elem`-byte elements.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read(
    data: &[u8],
    layout: &Layout,
    storage: &Storage<'_>,
    pipeline: &Pipeline,
    (shape, unlimited): (&[u64], &[bool]),
    elem: u64,
    want: u64,
    nodes: &mut usize,
    limits: &Limits,
    budget: &DecodeBudget,
) -> Result<Raw, Error> {
    let want_len = to_usize(want, 0, "dataset bytes")?;
    match storage {
        Storage::Compact(c) => {
            let mut c = c.clone();
            let at = c.pos() as u64;
            let n = want_len.min(c.remaining());
            Ok(Raw {
                bytes: c.bytes(n, "compact data")?.to_vec(),
                at,
            })
        }
        Storage::Contiguous(None) => Ok(Raw {
            bytes: Vec::new(),
            at: 0,
        }),
        Storage::Contiguous(Some(addr)) => {
            let mut c = layout.at(data, *addr, "dataset data")?;
            let at = c.pos() as u64;
            Ok(Raw {
                bytes: c.bytes(want_len, "dataset data")?.to_vec(),
                at,
            })
        }
        Storage::Virtual => Err(Error::Unsupported {
            at: 0,
            what: "virtual dataset (data mapped from other files)".into(),
        }),
        Storage::Chunked { dims, index } => {
            let space = Space {
                dims,
                shape,
                unlimited,
                elem,
            };
            let chunks = chunk_list(data, layout, index, &space, nodes, limits)?;
            assemble(
                data, layout, &chunks, pipeline, &space, want_len, limits, budget,
            )
        }
    }
}

/// Number of chunks along each dimension.
fn grid(dims: &[u64], shape: &[u64]) -> Option<Vec<u64>> {
    shape
        .iter()
        .zip(dims)
        .map(|(s, c)| (*c > 0).then(|| s.div_ceil(*c)))
        .collect()
}

/// Coordinates of chunk number `i` of the row-major chunk grid.
fn grid_offsets(mut i: u64, grid: &[u64], dims: &[u64]) -> Vec<u64> {
    let mut out = vec![0; grid.len()];
    for k in (0..grid.len()).rev() {
        let g = grid.get(k).copied().unwrap_or(1).max(1);
        if let Some(slot) = out.get_mut(k) {
            *slot = (i % g).saturating_mul(dims.get(k).copied().unwrap_or(0));
        }
        i /= g;
    }
    out
}

/// A chunked dataset's geometry.
struct Space<'s> {
    /// Chunk dimensions.
    dims: &'s [u64],
    shape: &'s [u64],
    unlimited: &'s [bool],
    elem: u64,
}

fn chunk_list(
    data: &[u8],
    layout: &Layout,
    index: &ChunkIndex,
    space: &Space<'_>,
    nodes: &mut usize,
    limits: &Limits,
) -> Result<Vec<Chunk>, Error> {
    let (dims, shape, elem) = (space.dims, space.shape, space.elem);
    let chunk_bytes = product(dims).and_then(|n| n.checked_mul(elem));
    let bad = || Error::Invalid {
        at: 0,
        what: format!("chunk dimensions {dims:?} for a dataset of shape {shape:?}"),
    };
    if dims.len() != shape.len() || dims.contains(&0) {
        return Err(bad());
    }
    let chunk_bytes = chunk_bytes.ok_or_else(bad)?;
    let grid = grid(dims, shape).ok_or_else(bad)?;
    let count = product(&grid).ok_or_else(bad)?;
    match index {
        ChunkIndex::BTreeV1(None)
        | ChunkIndex::Single { addr: None, .. }
        | ChunkIndex::Implicit(None)
        | ChunkIndex::FixedArray(None)
        | ChunkIndex::ExtensibleArray(None)
        | ChunkIndex::BTreeV2(None) => Ok(Vec::new()),
        ChunkIndex::BTreeV1(Some(root)) => {
            let mut out = Vec::new();
            btree_v1(
                data,
                layout,
                *root,
                dims.len() + 1,
                nodes,
                limits,
                &mut HashSet::new(),
                0,
                &mut out,
            )?;
            Ok(out)
        }
        ChunkIndex::Single {
            addr: Some(a),
            filtered,
        } => {
            let (size, mask) = filtered.unwrap_or((chunk_bytes, 0));
            Ok(vec![Chunk {
                offsets: vec![0; dims.len()],
                addr: *a,
                size,
                mask,
            }])
        }
        ChunkIndex::Implicit(Some(a)) => {
            let mut out = Vec::new();
            for i in 0..count.min(limits.max_btree_nodes as u64) {
                out.push(Chunk {
                    offsets: grid_offsets(i, &grid, dims),
                    addr: a.saturating_add(i.saturating_mul(chunk_bytes)),
                    size: chunk_bytes,
                    mask: 0,
                });
            }
            Ok(out)
        }
        ChunkIndex::FixedArray(Some(a)) => {
            fixed_array(data, layout, *a, &grid, dims, chunk_bytes, limits)
        }
        ChunkIndex::ExtensibleArray(Some(a)) => {
            // Chunks are numbered row-major with the unlimited dimension slowest; libhdf5
            // reorders the dimensions when another one is unlimited.
            if space.unlimited.iter().skip(1).any(|u| *u) {
                return Err(Error::Unsupported {
                    at: *a,
                    what: "extensible-array chunk index with an unlimited dimension other \
                           than the first"
                        .into(),
                });
            }
            let entries = extensible_array(data, layout, *a, count, nodes, limits)?;
            let mut out = Vec::new();
            for (i, e) in entries {
                let mut c = Cursor::new(&e, 0);
                let Some(addr) = layout.addr(&mut c, "chunk address")? else {
                    continue;
                };
                let (size, mask) = if e.len() > layout.offset_size {
                    let w = e.len().saturating_sub(layout.offset_size + 4);
                    (
                        c.uint(w, "filtered chunk size")?,
                        c.u32("chunk filter mask")?,
                    )
                } else {
                    (chunk_bytes, 0)
                };
                out.push(Chunk {
                    offsets: grid_offsets(i, &grid, dims),
                    addr,
                    size,
                    mask,
                });
            }
            Ok(out)
        }
        ChunkIndex::BTreeV2(Some(a)) => {
            let rank = dims.len();
            let mut out = Vec::new();
            for r in btree_v2::records(data, layout, *a, nodes, limits)? {
                let mut c = Cursor::new(r, 0);
                let Some(addr) = layout.addr(&mut c, "chunk address")? else {
                    continue;
                };
                // Filtered records carry the chunk's stored size and filter mask.
                let extra = r.len().saturating_sub(layout.offset_size + 8 * rank);
                let (size, mask) = if extra > 4 {
                    (
                        c.uint(extra - 4, "filtered chunk size")?,
                        c.u32("chunk filter mask")?,
                    )
                } else {
                    (chunk_bytes, 0)
                };
                let mut offsets = Vec::with_capacity(rank);
                for d in dims {
                    offsets.push(c.uint(8, "scaled chunk offset")?.saturating_mul(*d));
                }
                out.push(Chunk {
                    offsets,
                    addr,
                    size,
                    mask,
                });
            }
            Ok(out)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn btree_v1(
    data: &[u8],
    layout: &Layout,
    addr: u64,
    key_dims: usize,
    nodes: &mut usize,
    limits: &Limits,
    seen: &mut HashSet<u64>,
    depth: usize,
    out: &mut Vec<Chunk>,
) -> Result<(), Error> {
    *nodes += 1;
    if *nodes > limits.max_btree_nodes {
        return Err(Error::Limit {
            what: "B-tree and heap blocks",
            limit: limits.max_btree_nodes as u64,
        });
    }
    if !seen.insert(addr) || depth > 64 {
        return Err(Error::Invalid {
            at: addr,
            what: "chunk B-tree: node visited twice (cycle)".into(),
        });
    }
    let mut c = layout.at(data, addr, "chunk B-tree node")?;
    c.signature(b"TREE", "chunk B-tree node")?;
    let kind = c.u8("B-tree node type")?;
    if kind != 1 {
        return Err(Error::Invalid {
            at: addr,
            what: format!("chunk B-tree node of type {kind}"),
        });
    }
    let level = c.u8("B-tree level")?;
    let entries = c.u16("B-tree entries")?;
    layout.addr(&mut c, "B-tree left sibling")?;
    layout.addr(&mut c, "B-tree right sibling")?;
    for _ in 0..entries {
        let size = c.u32("chunk size")?;
        let mask = c.u32("chunk filter mask")?;
        let mut offsets = Vec::with_capacity(key_dims);
        for _ in 0..key_dims {
            offsets.push(c.uint(8, "chunk offset")?);
        }
        offsets.pop(); // the element-size dimension, always 0
        let child = layout
            .addr(&mut c, "chunk B-tree child")?
            .ok_or(Error::Invalid {
                at: addr,
                what: "chunk B-tree child with an undefined address".into(),
            })?;
        if level == 0 {
            if out.len() >= limits.max_btree_nodes {
                return Err(Error::Limit {
                    what: "B-tree and heap blocks",
                    limit: limits.max_btree_nodes as u64,
                });
            }
            out.push(Chunk {
                offsets,
                addr: child,
                size: u64::from(size),
                mask,
            });
        } else {
            btree_v1(
                data,
                layout,
                child,
                key_dims,
                nodes,
                limits,
                seen,
                depth + 1,
                out,
            )?;
        }
    }
    Ok(())
}

fn fixed_array(
    data: &[u8],
    layout: &Layout,
    addr: u64,
    grid: &[u64],
    dims: &[u64],
    chunk_bytes: u64,
    limits: &Limits,
) -> Result<Vec<Chunk>, Error> {
    let mut c = layout.at(data, addr, "fixed array header")?;
    c.signature(b"FAHD", "fixed array header")?;
    c.skip(1, "fixed array version")?;
    let client = c.u8("fixed array client")?;
    let entry = usize::from(c.u8("fixed array entry size")?);
    let page_bits = c.u8("fixed array page bits")?;
    let n = layout.length(&mut c, "fixed array entries")?;
    let block = layout.addr(&mut c, "fixed array data block")?;
    let Some(block) = block else {
        return Ok(Vec::new());
    };
    if page_bits < 64 && n > (1u64 << page_bits) {
        return Err(Error::Unsupported {
            at: addr,
            what: "paged fixed-array chunk index".into(),
        });
    }
    let mut c = layout.at(data, block, "fixed array data block")?;
    c.signature(b"FADB", "fixed array data block")?;
    c.skip(2, "fixed array data block version and client")?;
    layout.addr(&mut c, "fixed array header address")?;
    let mut out = Vec::new();
    let o = layout.offset_size;
    for i in 0..n.min(limits.max_btree_nodes as u64) {
        let mut e = c.take(entry, "fixed array element")?;
        let a = layout.addr(&mut e, "chunk address")?;
        let (size, mask) = if client == 1 {
            let w = entry.saturating_sub(o + 4);
            (
                e.uint(w, "filtered chunk size")?,
                e.u32("chunk filter mask")?,
            )
        } else {
            (chunk_bytes, 0)
        };
        if let Some(a) = a {
            out.push(Chunk {
                offsets: grid_offsets(i, grid, dims),
                addr: a,
                size,
                mask,
            });
        }
    }
    Ok(out)
}

/// Put the chunks' elements in their row-major places, up to `want` bytes.
#[allow(clippy::too_many_arguments)]
fn assemble(
    data: &[u8],
    layout: &Layout,
    chunks: &[Chunk],
    pipeline: &Pipeline,
    space: &Space<'_>,
    want: usize,
    limits: &Limits,
    budget: &DecodeBudget,
) -> Result<Raw, Error> {
    let (dims, shape, elem) = (space.dims, space.shape, space.elem);
    let rank = shape.len();
    let mut out = vec![0u8; want];
    let at = chunks
        .first()
        .map_or(0, |c| layout.base.saturating_add(c.addr));
    let (Some(last_chunk), Some(last_shape)) = (dims.last(), shape.last()) else {
        return Ok(Raw { bytes: out, at });
    };
    // Dataset strides in elements; a chunk whose first element lies past `want` is skipped.
    let mut strides = vec![1u64; rank];
    for k in (0..rank.saturating_sub(1)).rev() {
        let next = strides.get(k + 1).copied().unwrap_or(1);
        let s = shape.get(k + 1).copied().unwrap_or(1);
        if let Some(slot) = strides.get_mut(k) {
            *slot = next.saturating_mul(s);
        }
    }
    let linear = |coords: &[u64]| -> u64 {
        coords
            .iter()
            .zip(&strides)
            .fold(0u64, |a, (c, s)| a.saturating_add(c.saturating_mul(*s)))
    };
    let chunk_bytes = product(dims)
        .and_then(|n| n.checked_mul(elem))
        .unwrap_or(u64::MAX);
    if chunk_bytes > limits.max_dataset_bytes.saturating_mul(4) {
        return Err(Error::Limit {
            what: "bytes in one chunk",
            limit: limits.max_dataset_bytes.saturating_mul(4),
        });
    }
    // Chunks are decoded whole: edge chunks and a prefix read decode more than `want`.
    let chunk_budget = limits.max_data_bytes.saturating_mul(2);
    let mut spent = 0u64;
    let rows_per_chunk = product(dims.get(..rank - 1).unwrap_or(&[])).unwrap_or(0);
    for chunk in chunks {
        if chunk.offsets.len() != rank {
            return Err(Error::Invalid {
                at: chunk.addr,
                what: "chunk key of the wrong dimensionality".into(),
            });
        }
        if linear(&chunk.offsets).saturating_mul(elem) >= want as u64 {
            continue;
        }
        spent = spent.saturating_add(chunk_bytes);
        if spent > chunk_budget {
            return Err(Error::Limit {
                what: "chunk bytes decoded for one dataset",
                limit: chunk_budget,
            });
        }
        let mut c = layout.at(data, chunk.addr, "chunk")?;
        let raw = c.bytes(to_usize(chunk.size, chunk.addr, "chunk")?, "chunk")?;
        let bytes = if pipeline.filters.is_empty() {
            raw.to_vec()
        } else {
            pipeline.undo(raw, chunk.mask, chunk_bytes, chunk.addr, limits, budget)?
        };
        let run = last_chunk
            .min(&last_shape.saturating_sub(*chunk.offsets.last().unwrap_or(&0)))
            .saturating_mul(elem);
        let mut j = vec![0u64; rank];
        for row in 0..rows_per_chunk {
            // Row `row` of the chunk: coordinates of all but the last dimension.
            let mut r = row;
            let mut inside = true;
            for k in (0..rank - 1).rev() {
                let d = dims.get(k).copied().unwrap_or(1).max(1);
                let v = r % d;
                r /= d;
                let coord = chunk.offsets.get(k).copied().unwrap_or(0).saturating_add(v);
                inside &= coord < shape.get(k).copied().unwrap_or(0);
                if let Some(slot) = j.get_mut(k) {
                    *slot = coord;
                }
            }
            if !inside {
                continue;
            }
            if let (Some(slot), Some(o)) = (j.last_mut(), chunk.offsets.last()) {
                *slot = *o;
            }
            let dst = linear(&j).saturating_mul(elem);
            let src = row.saturating_mul(*last_chunk).saturating_mul(elem);
            let (Ok(dst), Ok(src), Ok(run)) = (
                usize::try_from(dst),
                usize::try_from(src),
                usize::try_from(run),
            ) else {
                continue;
            };
            if dst >= want {
                continue;
            }
            let n = run.min(want - dst);
            let from = bytes
                .get(src..src.saturating_add(n))
                .ok_or(Error::Truncated {
                    at: chunk.addr,
                    what: "chunk (shorter than its dimensions say)",
                })?;
            if let Some(to) = out.get_mut(dst..dst + n) {
                to.copy_from_slice(from);
            }
        }
    }
    Ok(Raw { bytes: out, at })
}

/// The first `count` elements of the extensible array at `addr` (index, raw element),
/// skipping data blocks never allocated. Paged data blocks are not read.
fn extensible_array(
    data: &[u8],
    layout: &Layout,
    addr: u64,
    count: u64,
    nodes: &mut usize,
    limits: &Limits,
) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let mut c = layout.at(data, addr, "extensible array header")?;
    c.signature(b"EAHD", "extensible array header")?;
    c.skip(2, "extensible array version and client")?;
    let elem = usize::from(c.u8("extensible array element size")?);
    let max_bits = u32::from(c.u8("extensible array max elements bits")?);
    let iblock_elems = u64::from(c.u8("extensible array index block elements")?);
    let dblock_min = u64::from(c.u8("extensible array data block minimum elements")?);
    let sblock_min_ptrs = u64::from(c.u8("extensible array secondary block minimum pointers")?);
    let page_bits = u32::from(c.u8("extensible array page bits")?);
    for what in [
        "secondary blocks",
        "secondary block size",
        "data blocks",
        "data block size",
    ] {
        layout.length(&mut c, what)?;
    }
    let max_set = layout.length(&mut c, "extensible array elements set")?;
    let _realized = layout.length(&mut c, "extensible array elements realized")?;
    let iblock = layout.addr(&mut c, "extensible array index block")?;
    if elem == 0
        || max_bits == 0
        || max_bits > 64
        || !dblock_min.is_power_of_two()
        || !sblock_min_ptrs.is_power_of_two()
    {
        return Err(Error::Invalid {
            at: addr,
            what: "extensible array parameters".into(),
        });
    }
    let Some(iblock) = iblock else {
        return Ok(Vec::new());
    };
    let count = count.min(max_set).min(limits.max_btree_nodes as u64);
    let offset_width = (max_bits as usize).div_ceil(8);
    let nsblocks = 1 + u64::from(max_bits.saturating_sub(dblock_min.ilog2()));
    let iblock_sblocks = 2 * u64::from(sblock_min_ptrs.ilog2());
    let iblock_dblocks = 2 * (sblock_min_ptrs - 1);
    let mut c = layout.at(data, iblock, "extensible array index block")?;
    c.signature(b"EAIB", "extensible array index block")?;
    c.skip(2, "extensible array index block version and client")?;
    layout.addr(&mut c, "extensible array header address")?;
    let mut out = Vec::new();
    let mut i = 0u64;
    for _ in 0..iblock_elems {
        let e = c.bytes(elem, "extensible array element")?;
        if i < count {
            out.push((i, e.to_vec()));
        }
        i += 1;
    }
    let mut dblocks = Vec::new();
    for _ in 0..iblock_dblocks {
        dblocks.push(layout.addr(&mut c, "extensible array data block address")?);
    }
    let mut sblocks = Vec::new();
    for _ in 0..nsblocks.saturating_sub(iblock_sblocks) {
        sblocks.push(layout.addr(&mut c, "extensible array secondary block address")?);
    }
    let mut dblocks = dblocks.into_iter();
    let mut sblocks = sblocks.into_iter();
    for u in 0..nsblocks {
        if i >= count {
            break;
        }
        let n_dblocks = 1u64 << (u / 2);
        let dblock_elems = (1u64 << u.div_ceil(2)).saturating_mul(dblock_min);
        // Data block addresses: in the index block for the first secondary blocks, in
        // the secondary block's own list after that.
        let addrs: Vec<Option<u64>> = if u < iblock_sblocks {
            dblocks.by_ref().take(n_dblocks as usize).collect()
        } else {
            match sblocks.next().flatten() {
                None => vec![None; n_dblocks.min(1 << 20) as usize],
                Some(s) => {
                    *nodes += 1;
                    let mut c = layout.at(data, s, "extensible array secondary block")?;
                    c.signature(b"EASB", "extensible array secondary block")?;
                    c.skip(2, "extensible array secondary block version and client")?;
                    layout.addr(&mut c, "extensible array header address")?;
                    c.skip(offset_width, "extensible array secondary block offset")?;
                    if dblock_elems > (1u64 << page_bits.min(63)) {
                        return Err(paged(s));
                    }
                    let mut v = Vec::new();
                    for _ in 0..n_dblocks {
                        v.push(layout.addr(&mut c, "extensible array data block address")?);
                    }
                    v
                }
            }
        };
        for d in addrs {
            if i >= count {
                break;
            }
            *nodes += 1;
            if *nodes > limits.max_btree_nodes {
                return Err(Error::Limit {
                    what: "B-tree and heap blocks",
                    limit: limits.max_btree_nodes as u64,
                });
            }
            let Some(d) = d else {
                i = i.saturating_add(dblock_elems);
                continue;
            };
            if dblock_elems > (1u64 << page_bits.min(63)) {
                return Err(paged(d));
            }
            let mut c = layout.at(data, d, "extensible array data block")?;
            c.signature(b"EADB", "extensible array data block")?;
            c.skip(2, "extensible array data block version and client")?;
            layout.addr(&mut c, "extensible array header address")?;
            c.skip(offset_width, "extensible array data block offset")?;
            for _ in 0..dblock_elems {
                if i >= count {
                    break;
                }
                out.push((i, c.bytes(elem, "extensible array element")?.to_vec()));
                i += 1;
            }
        }
    }
    Ok(out)
}

fn paged(at: u64) -> Error {
    Error::Unsupported {
        at,
        what: "paged extensible-array data block".into(),
    }
}
