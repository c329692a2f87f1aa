//! Fractal heaps (dense link and attribute storage): the direct blocks that hold the heap's
//! objects, found through the root block and the indirect-block doubling table, and the
//! lookup of a managed object by its heap ID. Filtered heaps and huge or tiny objects are
//! reported as not read.

use super::cursor::{Cursor, Layout, to_usize};
use super::{Error, Limits};

/// Deepest nesting of indirect blocks followed.
const MAX_INDIRECT_DEPTH: usize = 8;

struct Header {
    width: u64,
    start: u64,
    max_direct: u64,
    /// Bytes of the "block offset" field (max heap size in bits, rounded up to bytes).
    offset_bytes: usize,
}

/// A direct block: its offset in the heap's address space and its bytes (header included).
struct Block<'a> {
    offset: u64,
    bytes: Cursor<'a>,
    size: u64,
}

/// An opened heap.
pub(crate) struct Heap<'a> {
    addr: u64,
    blocks: Vec<Block<'a>>,
    offset_bytes: usize,
}

impl<'a> Heap<'a> {
    /// A cursor at the managed object named by heap ID `id`.
    pub(crate) fn object(&self, id: &[u8]) -> Result<Cursor<'a>, Error> {
        let flags = id.first().copied().unwrap_or(0xff);
        if flags & 0xc0 != 0 {
            return Err(Error::Invalid {
                at: self.addr,
                what: format!("fractal heap ID version {}", flags >> 6),
            });
        }
        if flags & 0x30 != 0 {
            return Err(Error::Unsupported {
                at: self.addr,
                what: "huge or tiny fractal heap object".into(),
            });
        }
        let raw = id.get(1..1 + self.offset_bytes).ok_or(Error::Truncated {
            at: self.addr,
            what: "fractal heap ID",
        })?;
        let offset = raw
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let block = self
            .blocks
            .iter()
            .find(|b| b.offset <= offset && offset - b.offset < b.size)
            .ok_or_else(|| Error::Invalid {
                at: self.addr,
                what: format!("fractal heap ID points at offset {offset}, in no block"),
            })?;
        let mut c = block.bytes.clone();
        c.skip(
            to_usize(offset - block.offset, self.addr, "heap object")?,
            "fractal heap object",
        )?;
        Ok(c)
    }
}

/// Open the heap at `addr`: every direct block, through the root and indirect blocks.
pub(crate) fn open<'a>(
    data: &'a [u8],
    layout: &Layout,
    addr: u64,
    nodes: &mut usize,
    limits: &Limits,
) -> Result<Heap<'a>, Error> {
    let mut c = layout.at(data, addr, "fractal heap header")?;
    c.signature(b"FRHP", "fractal heap header")?;
    let _version = c.u8("fractal heap version")?;
    let _id_len = c.u16("fractal heap id length")?;
    let filter_len = c.u16("fractal heap filter length")?;
    let _flags = c.u8("fractal heap flags")?;
    c.skip(4, "fractal heap max managed object size")?;
    layout.length(&mut c, "next huge id")?;
    layout.addr(&mut c, "huge object B-tree")?;
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
    if filter_len != 0 {
        return Err(Error::Unsupported {
            at: addr,
            what: "filtered (compressed) fractal heap".into(),
        });
    }
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
    };
    let mut blocks = Vec::new();
    if let Some(root) = root {
        if rows == 0 {
            blocks.push(direct(data, layout, &h, root, start)?);
        } else {
            let rows = u64::from(rows);
            indirect(data, layout, &h, root, rows, 0, nodes, limits, &mut blocks)?;
        }
    }
    Ok(Heap {
        addr,
        blocks,
        offset_bytes: h.offset_bytes,
    })
}

fn direct<'a>(
    data: &'a [u8],
    layout: &Layout,
    h: &Header,
    addr: u64,
    size: u64,
) -> Result<Block<'a>, Error> {
    let mut c = layout.at(data, addr, "fractal heap direct block")?;
    let bytes = c.take(
        to_usize(size, addr, "direct block")?,
        "fractal heap direct block",
    )?;
    let mut head = bytes.clone();
    head.signature(b"FHDB", "fractal heap direct block")?;
    head.skip(1, "direct block version")?;
    layout.addr(&mut head, "direct block heap address")?;
    let offset = head.uint(h.offset_bytes, "direct block offset")?;
    Ok(Block {
        offset,
        bytes,
        size,
    })
}

/// Size of the blocks in `row` of the doubling table.
fn row_size(h: &Header, row: u64) -> Option<u64> {
    if row == 0 {
        Some(h.start)
    } else {
        1u64.checked_shl(u32::try_from(row - 1).ok()?)
            .and_then(|f| h.start.checked_mul(f))
    }
}

#[allow(clippy::too_many_arguments)]
fn indirect<'a>(
    data: &'a [u8],
    layout: &Layout,
    h: &Header,
    addr: u64,
    rows: u64,
    depth: usize,
    nodes: &mut usize,
    limits: &Limits,
    out: &mut Vec<Block<'a>>,
) -> Result<(), Error> {
    if depth > MAX_INDIRECT_DEPTH || rows > 64 {
        return Err(Error::Limit {
            what: "fractal heap indirect block depth",
            limit: MAX_INDIRECT_DEPTH as u64,
        });
    }
    let mut c = layout.at(data, addr, "fractal heap indirect block")?;
    c.signature(b"FHIB", "fractal heap indirect block")?;
    c.skip(1, "indirect block version")?;
    layout.addr(&mut c, "indirect block heap address")?;
    c.skip(h.offset_bytes, "indirect block offset")?;
    for row in 0..rows {
        let size = row_size(h, row).ok_or(Error::Invalid {
            at: addr,
            what: "fractal heap row size overflows".into(),
        })?;
        for _ in 0..h.width {
            *nodes += 1;
            if *nodes > limits.max_btree_nodes {
                return Err(Error::Limit {
                    what: "B-tree and heap blocks",
                    limit: limits.max_btree_nodes as u64,
                });
            }
            let Some(child) = layout.addr(&mut c, "indirect block entry")? else {
                continue;
            };
            if size <= h.max_direct {
                out.push(direct(data, layout, h, child, size)?);
            } else {
                // A child indirect block spanning `size` bytes has as many rows as it takes
                // to cover them: log2(size) - log2(start * width) + 1.
                let span = h.start.saturating_mul(h.width).max(1);
                let child_rows =
                    u64::from(size.ilog2()).saturating_sub(u64::from(span.ilog2())) + 1;
                indirect(
                    data,
                    layout,
                    h,
                    child,
                    child_rows,
                    depth + 1,
                    nodes,
                    limits,
                    out,
                )?;
            }
        }
    }
    Ok(())
}
