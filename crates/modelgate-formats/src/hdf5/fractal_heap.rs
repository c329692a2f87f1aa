//! Fractal heaps (dense link and attribute storage, the shared-message table): the direct
//! blocks that hold the heap's managed objects, found through the root block and the
//! indirect-block doubling table, and the lookup of an object by its heap ID: managed
//! objects in the blocks, tiny objects stored in the ID itself, and huge objects stored
//! on their own in the file (found through the heap's huge-object v2 B-tree, or addressed
//! by the ID directly). Heaps with an I/O filter pipeline (deflate-compressed blocks)
//! are decoded within the file's byte and ratio budgets.

use super::btree_v2;
use super::cursor::{Cursor, Layout, to_usize};
use super::filters::{self, DecodeBudget, Pipeline};
use super::{Error, Limits};
use std::borrow::Cow;

/// Deepest nesting of indirect blocks followed.
const MAX_INDIRECT_DEPTH: usize = 8;

struct Header<'b> {
    width: u64,
    start: u64,
    max_direct: u64,
    /// Bytes of the "block offset" field (max heap size in bits, rounded up to bytes).
    offset_bytes: usize,
    /// Filters of a filtered heap (empty when not filtered).
    pipeline: Pipeline,
    budget: &'b DecodeBudget,
}

/// A direct block: its offset in the heap's address space and its bytes (header included),
/// from the file or decoded from a filtered block.
struct Block<'a> {
    offset: u64,
    bytes: Cow<'a, [u8]>,
    /// Absolute file position of the block.
    at: u64,
}

/// One heap object's bytes.
pub(crate) struct HeapObject<'a> {
    pub(crate) bytes: Cow<'a, [u8]>,
    /// Absolute file position the object is reported at: its own position when it is
    /// stored as is, the block or heap holding it otherwise.
    pub(crate) at: u64,
}

impl HeapObject<'_> {
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor::new(&self.bytes, 0)
    }
}

/// An opened heap.
pub(crate) struct Heap<'a> {
    data: &'a [u8],
    layout: Layout,
    addr: u64,
    blocks: Vec<Block<'a>>,
    offset_bytes: usize,
    id_len: usize,
    /// Bytes of the length field of a managed object's ID.
    length_bytes: usize,
    huge_btree: Option<u64>,
    pipeline: Pipeline,
    budget: DecodeBudget,
}

/// Bytes of the length field of a managed object's heap ID: the smaller of the bytes of
/// a direct-block offset and the bytes needed to encode the largest managed object.
fn length_bytes(max_direct: u64, max_managed: u64) -> usize {
    let offset = (max_direct.max(1).ilog2() as usize).div_ceil(8);
    let managed = max_managed.max(1).ilog2() as usize / 8 + 1;
    offset.min(managed)
}

impl<'a> Heap<'a> {
    /// Address of the heap header.
    pub(crate) fn addr(&self) -> u64 {
        self.addr
    }

    /// The object named by heap ID `id`.
    pub(crate) fn object(
        &self,
        id: &[u8],
        nodes: &mut usize,
        limits: &Limits,
    ) -> Result<HeapObject<'a>, Error> {
        let flags = id.first().copied().unwrap_or(0xff);
        if flags & 0xc0 != 0 {
            return Err(Error::Invalid {
                at: self.addr,
                what: format!("fractal heap ID version {}", flags >> 6),
            });
        }
        match (flags >> 4) & 3 {
            0 => self.managed(id),
            1 => self.huge(id, nodes, limits),
            2 => self.tiny(id),
            _ => Err(Error::Invalid {
                at: self.addr,
                what: "fractal heap ID of type 3".into(),
            }),
        }
    }

    fn managed(&self, id: &[u8]) -> Result<HeapObject<'a>, Error> {
        let mut c = Cursor::new(id, 1);
        let truncated = |_| Error::Truncated {
            at: self.addr,
            what: "fractal heap ID",
        };
        let offset = c
            .uint(self.offset_bytes, "heap ID offset")
            .map_err(truncated)?;
        let length = c
            .uint(self.length_bytes, "heap ID length")
            .map_err(truncated)?;
        let block = self
            .blocks
            .iter()
            .find(|b| b.offset <= offset && offset - b.offset < b.bytes.len() as u64)
            .ok_or_else(|| Error::Invalid {
                at: self.addr,
                what: format!("fractal heap ID points at offset {offset}, in no block"),
            })?;
        let from = to_usize(offset - block.offset, self.addr, "heap object")?;
        let to = from
            .checked_add(to_usize(length, self.addr, "heap object")?)
            .filter(|t| *t <= block.bytes.len())
            .ok_or(Error::Truncated {
                at: block.at,
                what: "fractal heap object (runs past its block)",
            })?;
        let bytes = match &block.bytes {
            Cow::Borrowed(b) => Cow::Borrowed(b.get(from..to).unwrap_or(&[])),
            Cow::Owned(b) => Cow::Owned(b.get(from..to).unwrap_or(&[]).to_vec()),
        };
        let at = match block.bytes {
            Cow::Borrowed(_) => block.at.saturating_add(from as u64),
            Cow::Owned(_) => block.at,
        };
        Ok(HeapObject { bytes, at })
    }

    /// A tiny object: its bytes are the rest of the ID.
    fn tiny(&self, id: &[u8]) -> Result<HeapObject<'a>, Error> {
        let b0 = usize::from(id.first().copied().unwrap_or(0) & 0x0f);
        let (len, from) = if self.id_len <= 18 {
            (b0 + 1, 1)
        } else {
            let b1 = usize::from(id.get(1).copied().unwrap_or(0));
            (((b0 << 8) | b1) + 1, 2)
        };
        let bytes = id.get(from..from + len).ok_or(Error::Truncated {
            at: self.addr,
            what: "tiny fractal heap object (longer than its ID)",
        })?;
        Ok(HeapObject {
            bytes: Cow::Owned(bytes.to_vec()),
            at: self.addr,
        })
    }

    /// A huge object: stored on its own, addressed by the ID or through the huge-object
    /// B-tree, and filtered when the heap is.
    fn huge(&self, id: &[u8], nodes: &mut usize, limits: &Limits) -> Result<HeapObject<'a>, Error> {
        let o = self.layout.offset_size;
        let l = self.layout.length_size;
        let filtered = !self.pipeline.filters.is_empty();
        let direct = if filtered {
            self.id_len > o + 2 * l + 4
        } else {
            self.id_len > o + l
        };
        let mut c = Cursor::new(id, 1);
        // (address, stored length, filter mask, unfiltered length)
        let (addr, len, mask, size) = if direct {
            let addr = self.layout.addr(&mut c, "huge object address")?;
            let len = self.layout.length(&mut c, "huge object length")?;
            let (mask, size) = if filtered {
                (
                    c.u32("huge object filter mask")?,
                    self.layout.length(&mut c, "huge object size")?,
                )
            } else {
                (0, len)
            };
            (addr, len, mask, size)
        } else {
            let key_len = self.id_len.saturating_sub(1).min(8);
            let key = c.uint(key_len, "huge object ID")?;
            self.huge_record(key, nodes, limits)?
        };
        let addr = addr.ok_or(Error::Invalid {
            at: self.addr,
            what: "huge fractal heap object with an undefined address".into(),
        })?;
        if size > limits.max_value_bytes {
            return Err(Error::Limit {
                what: "bytes of one huge heap object",
                limit: limits.max_value_bytes,
            });
        }
        let mut at = self
            .layout
            .at(self.data, addr, "huge fractal heap object")?;
        let pos = at.pos() as u64;
        let raw = at.bytes(
            to_usize(len, addr, "huge object")?,
            "huge fractal heap object",
        )?;
        let bytes = if filtered {
            Cow::Owned(
                self.pipeline
                    .undo(raw, mask, size, pos, limits, &self.budget)?,
            )
        } else {
            Cow::Borrowed(raw)
        };
        Ok(HeapObject { bytes, at: pos })
    }

    /// The huge-object B-tree record with ID `key`: (address, length, mask, size).
    fn huge_record(
        &self,
        key: u64,
        nodes: &mut usize,
        limits: &Limits,
    ) -> Result<(Option<u64>, u64, u32, u64), Error> {
        let tree = self.huge_btree.ok_or(Error::Invalid {
            at: self.addr,
            what: "huge fractal heap object, but the heap has no huge-object B-tree".into(),
        })?;
        let filtered = !self.pipeline.filters.is_empty();
        for r in btree_v2::records(self.data, &self.layout, tree, nodes, limits)? {
            let mut c = Cursor::new(r, 0);
            let addr = self.layout.addr(&mut c, "huge object address")?;
            let len = self.layout.length(&mut c, "huge object length")?;
            let (mask, size) = if filtered {
                (
                    c.u32("huge object filter mask")?,
                    self.layout.length(&mut c, "huge object size")?,
                )
            } else {
                (0, len)
            };
            let id = self.layout.length(&mut c, "huge object ID")?;
            if id == key {
                return Ok((addr, len, mask, size));
            }
        }
        Err(Error::Invalid {
            at: tree,
            what: format!("huge fractal heap object {key} is not in the heap's B-tree"),
        })
    }
}

/// Open the heap at `addr`: every direct block, through the root and indirect blocks.
pub(crate) fn open<'a>(
    data: &'a [u8],
    layout: &Layout,
    addr: u64,
    nodes: &mut usize,
    limits: &Limits,
    budget: &DecodeBudget,
) -> Result<Heap<'a>, Error> {
    let mut c = layout.at(data, addr, "fractal heap header")?;
    c.signature(b"FRHP", "fractal heap header")?;
    let _version = c.u8("fractal heap version")?;
    let id_len = usize::from(c.u16("fractal heap id length")?);
    let filter_len = usize::from(c.u16("fractal heap filter length")?);
    let _flags = c.u8("fractal heap flags")?;
    let max_managed = u64::from(c.u32("fractal heap max managed object size")?);
    layout.length(&mut c, "next huge id")?;
    let huge_btree = layout.addr(&mut c, "huge object B-tree")?;
    layout.length(&mut c, "free space")?;
    layout.addr(&mut c, "free space manager")?;
    for what in [
        "managed space",
        "allocated managed space",
        "allocation iterator",
        "managed objects",
        "huge size",
        "huge objects",
        "tiny size",
        "tiny objects",
    ] {
        layout.length(&mut c, what)?;
    }
    let width = u64::from(c.u16("table width")?);
    let start = layout.length(&mut c, "starting block size")?;
    let max_direct = layout.length(&mut c, "maximum direct block size")?;
    let max_heap_bits = c.u16("maximum heap size")?;
    let _start_rows = c.u16("starting rows")?;
    let root = layout.addr(&mut c, "root block address")?;
    let rows = c.u16("current rows")?;
    let mut root_filtered = (0u64, 0u32);
    let pipeline = if filter_len != 0 {
        let size = layout.length(&mut c, "filtered root direct block size")?;
        let mask = c.u32("root direct block filter mask")?;
        root_filtered = (size, mask);
        filters::parse(&mut c.take(filter_len, "fractal heap filter information")?)?
    } else {
        Pipeline::default()
    };
    if width == 0
        || start == 0
        || !start.is_power_of_two()
        || max_direct < start
        || max_heap_bits > 64
    {
        return Err(Error::Invalid {
            at: addr,
            what: format!(
                "fractal heap doubling table (width {width}, start {start}, max {max_direct})"
            ),
        });
    }
    let h = Header {
        width,
        start,
        max_direct,
        offset_bytes: usize::from(max_heap_bits).div_ceil(8),
        pipeline,
        budget,
    };
    let mut blocks = Vec::new();
    let mut decoded = 0u64;
    if let Some(root) = root {
        if rows == 0 {
            blocks.push(direct(
                data,
                layout,
                &h,
                root,
                start,
                root_filtered,
                &mut decoded,
                limits,
            )?);
        } else {
            let rows = u64::from(rows);
            let mut walk = Indirect {
                data,
                layout,
                h: &h,
                nodes,
                limits,
                decoded: &mut decoded,
                out: &mut blocks,
            };
            walk.block(root, rows, 0)?;
        }
    }
    Ok(Heap {
        data,
        layout: *layout,
        addr,
        blocks,
        offset_bytes: h.offset_bytes,
        id_len,
        length_bytes: length_bytes(max_direct, max_managed),
        huge_btree,
        pipeline: h.pipeline,
        budget: budget.clone(),
    })
}

/// Read (and for a filtered heap, decode) the direct block at `addr` of `size` bytes;
/// `filtered` is its stored size and filter mask when the heap is filtered.
#[allow(clippy::too_many_arguments)]
fn direct<'a>(
    data: &'a [u8],
    layout: &Layout,
    h: &Header<'_>,
    addr: u64,
    size: u64,
    filtered: (u64, u32),
    decoded: &mut u64,
    limits: &Limits,
) -> Result<Block<'a>, Error> {
    let mut c = layout.at(data, addr, "fractal heap direct block")?;
    let at = c.pos() as u64;
    let bytes: Cow<'a, [u8]> = if h.pipeline.filters.is_empty() {
        Cow::Borrowed(c.bytes(
            to_usize(size, addr, "direct block")?,
            "fractal heap direct block",
        )?)
    } else {
        *decoded = decoded.saturating_add(size);
        if *decoded > limits.max_value_bytes {
            return Err(Error::Limit {
                what: "bytes decoded from one filtered fractal heap",
                limit: limits.max_value_bytes,
            });
        }
        let raw = c.bytes(
            to_usize(filtered.0, addr, "filtered direct block")?,
            "filtered fractal heap direct block",
        )?;
        Cow::Owned(
            h.pipeline
                .undo(raw, filtered.1, size, at, limits, h.budget)?,
        )
    };
    let mut head = Cursor::new(&bytes, 0);
    head.signature(b"FHDB", "fractal heap direct block")?;
    head.skip(1, "direct block version")?;
    layout.addr(&mut head, "direct block heap address")?;
    let offset = head.uint(h.offset_bytes, "direct block offset")?;
    Ok(Block { offset, bytes, at })
}

/// Size of the blocks in `row` of the doubling table.
fn row_size(h: &Header<'_>, row: u64) -> Option<u64> {
    if row == 0 {
        Some(h.start)
    } else {
        1u64.checked_shl(u32::try_from(row - 1).ok()?)
            .and_then(|f| h.start.checked_mul(f))
    }
}

/// The walk of the indirect blocks, collecting direct blocks.
struct Indirect<'w, 'a> {
    data: &'a [u8],
    layout: &'w Layout,
    h: &'w Header<'w>,
    nodes: &'w mut usize,
    limits: &'w Limits,
    decoded: &'w mut u64,
    out: &'w mut Vec<Block<'a>>,
}

impl Indirect<'_, '_> {
    fn block(&mut self, addr: u64, rows: u64, depth: usize) -> Result<(), Error> {
        let (h, layout) = (self.h, self.layout);
        if depth > MAX_INDIRECT_DEPTH || rows > 64 {
            return Err(Error::Limit {
                what: "fractal heap indirect block depth",
                limit: MAX_INDIRECT_DEPTH as u64,
            });
        }
        let mut c = layout.at(self.data, addr, "fractal heap indirect block")?;
        c.signature(b"FHIB", "fractal heap indirect block")?;
        c.skip(1, "indirect block version")?;
        layout.addr(&mut c, "indirect block heap address")?;
        c.skip(h.offset_bytes, "indirect block offset")?;
        let filtered = !h.pipeline.filters.is_empty();
        for row in 0..rows {
            let size = row_size(h, row).ok_or(Error::Invalid {
                at: addr,
                what: "fractal heap row size overflows".into(),
            })?;
            for _ in 0..h.width {
                *self.nodes += 1;
                if *self.nodes > self.limits.max_btree_nodes {
                    return Err(Error::Limit {
                        what: "B-tree and heap blocks",
                        limit: self.limits.max_btree_nodes as u64,
                    });
                }
                let child = layout.addr(&mut c, "indirect block entry")?;
                if size <= h.max_direct {
                    let stored = if filtered {
                        (
                            layout.length(&mut c, "filtered direct block size")?,
                            c.u32("direct block filter mask")?,
                        )
                    } else {
                        (0, 0)
                    };
                    if let Some(child) = child {
                        let b = direct(
                            self.data,
                            layout,
                            h,
                            child,
                            size,
                            stored,
                            self.decoded,
                            self.limits,
                        )?;
                        self.out.push(b);
                    }
                } else if let Some(child) = child {
                    // A child indirect block spanning `size` bytes has as many rows as it
                    // takes to cover them: log2(size) - log2(start * width) + 1.
                    let span = h.start.saturating_mul(h.width).max(1);
                    let child_rows =
                        u64::from(size.ilog2()).saturating_sub(u64::from(span.ilog2())) + 1;
                    self.block(child, child_rows, depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn heap(data: &[u8], id_len: usize) -> Heap<'_> {
        Heap {
            data,
            layout: Layout {
                base: 0,
                offset_size: 8,
                length_size: 8,
            },
            addr: 0x40,
            blocks: vec![Block {
                offset: 0x100,
                bytes: Cow::Borrowed(data),
                at: 0x1000,
            }],
            offset_bytes: 4,
            id_len,
            length_bytes: 2,
            huge_btree: None,
            pipeline: Pipeline::default(),
            budget: DecodeBudget::new(0),
        }
    }

    #[test]
    fn id_length_field_width() {
        // libhdf5 defaults: 64 KiB direct blocks, 64 KiB managed objects -> 2 bytes.
        assert_eq!(length_bytes(65536, 65536), 2);
        assert_eq!(length_bytes(1 << 20, 4096), 2);
        assert_eq!(length_bytes(256, 255), 1);
    }

    #[test]
    fn tiny_objects_are_in_the_id() {
        let l = Limits::default();
        let mut n = 0;
        let h = heap(&[], 8);
        let o = h
            .object(&[0x22, b'a', b'b', b'c', 0, 0, 0], &mut n, &l)
            .unwrap();
        assert_eq!(&*o.bytes, b"abc");
        assert_eq!(o.at, 0x40);
        // Longer than the ID holds.
        assert!(matches!(
            h.object(&[0x2f, b'a'], &mut n, &l),
            Err(Error::Truncated { .. })
        ));
        // Extended tiny (IDs over 18 bytes): a 12-bit length.
        let h = heap(&[], 20);
        let mut id = vec![0x20, 0x03, b'w', b'x', b'y', b'z'];
        id.resize(20, 0);
        assert_eq!(&*h.object(&id, &mut n, &l).unwrap().bytes, b"wxyz");
    }

    #[test]
    fn managed_objects_are_bounded_by_their_block() {
        let l = Limits::default();
        let mut n = 0;
        let block: Vec<u8> = (0u8..32).collect();
        let h = heap(&block, 8);
        // Offset 0x104 (4 into the block), length 3.
        let o = h
            .object(&[0x00, 0x04, 0x01, 0, 0, 3, 0], &mut n, &l)
            .unwrap();
        assert_eq!(&*o.bytes, &[4, 5, 6]);
        assert_eq!(o.at, 0x1004);
        // Past the block's end, and in no block at all.
        assert!(matches!(
            h.object(&[0x00, 0x1e, 0x01, 0, 0, 9, 0], &mut n, &l),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            h.object(&[0x00, 0x00, 0x00, 0, 0, 1, 0], &mut n, &l),
            Err(Error::Invalid { .. })
        ));
        // ID version bits, type 3, and a huge object without a huge-object B-tree.
        for id in [
            [0x40u8, 0, 0, 0, 0, 0, 0, 0],
            [0x30, 0, 0, 0, 0, 0, 0, 0],
            [0x10, 1, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(
                matches!(h.object(&id, &mut n, &l), Err(Error::Invalid { .. })),
                "{id:?}"
            );
        }
    }
}
