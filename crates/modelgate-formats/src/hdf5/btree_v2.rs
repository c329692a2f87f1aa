//! Version-2 B-trees: the name indexes of dense link and attribute storage. Only the
//! records are needed (each holds the fractal-heap ID of one link or attribute message).

use super::cursor::{Layout, to_usize};
use super::{Error, Limits};

/// Deepest tree followed (a depth-4 tree already indexes billions of records).
const MAX_DEPTH: u16 = 8;

/// Bytes needed to encode `n` (libhdf5's `limit_enc_size`).
fn enc_size(n: u64) -> usize {
    (n.checked_ilog2().unwrap_or(0) / 8 + 1) as usize
}

/// Every record of the tree whose header is at `addr`, in key order, as raw bytes.
pub(crate) fn records<'a>(
    data: &'a [u8],
    layout: &Layout,
    addr: u64,
    nodes: &mut usize,
    limits: &Limits,
) -> Result<Vec<&'a [u8]>, Error> {
    let mut c = layout.at(data, addr, "v2 B-tree header")?;
    c.signature(b"BTHD", "v2 B-tree header")?;
    c.skip(2, "v2 B-tree version and type")?;
    let node_size = u64::from(c.u32("v2 B-tree node size")?);
    let record_size = u64::from(c.u16("v2 B-tree record size")?);
    let depth = c.u16("v2 B-tree depth")?;
    c.skip(2, "v2 B-tree split and merge")?;
    let root = layout.addr(&mut c, "v2 B-tree root")?;
    let root_records = u64::from(c.u16("v2 B-tree root records")?);
    if depth > MAX_DEPTH || record_size == 0 || node_size <= 10 {
        return Err(Error::Invalid {
            at: addr,
            what: format!(
                "v2 B-tree (depth {depth}, node size {node_size}, record size {record_size})"
            ),
        });
    }
    // Per-level sizes, as libhdf5 derives them from the node and record sizes.
    let o = layout.offset_size as u64;
    let leaf_max = (node_size - 10) / record_size;
    let max_nrec_size = enc_size(leaf_max);
    let mut cum_max = vec![leaf_max];
    let mut cum_size = vec![0usize];
    for d in 1..=usize::from(depth) {
        let prev_cum_size = if d > 1 { cum_size[d - 1] } else { 0 };
        let pointer = o + max_nrec_size as u64 + prev_cum_size as u64;
        let max = (node_size - 10).saturating_sub(pointer) / (record_size + pointer);
        let cum = max
            .saturating_add(1)
            .saturating_mul(cum_max[d - 1])
            .saturating_add(max);
        cum_max.push(cum);
        cum_size.push(enc_size(cum));
    }
    let mut out = Vec::new();
    let Some(root) = root else {
        return Ok(out);
    };
    let record_size = to_usize(record_size, addr, "v2 B-tree record")?;
    // (node address, its depth, its record count)
    let mut stack = vec![(root, depth, root_records)];
    while let Some((node, d, n)) = stack.pop() {
        *nodes += 1;
        if *nodes > limits.max_btree_nodes {
            return Err(Error::Limit {
                what: "B-tree and heap blocks",
                limit: limits.max_btree_nodes as u64,
            });
        }
        let mut c = layout.at(data, node, "v2 B-tree node")?;
        c.signature(if d == 0 { b"BTLF" } else { b"BTIN" }, "v2 B-tree node")?;
        c.skip(2, "v2 B-tree node version and type")?;
        let n = to_usize(n, node, "v2 B-tree node records")?;
        let mut recs = Vec::new();
        for _ in 0..n {
            recs.push(c.bytes(record_size, "v2 B-tree record")?);
            if out.len() + recs.len() > limits.max_objects {
                return Err(Error::Limit {
                    what: "records in one v2 B-tree",
                    limit: limits.max_objects as u64,
                });
            }
        }
        if d == 0 {
            out.extend(recs);
            continue;
        }
        // Internal node: n records between n + 1 children; children are visited before
        // and after each record (records kept in order by pushing in reverse).
        let mut children = Vec::new();
        for _ in 0..=n {
            let child = layout
                .addr(&mut c, "v2 B-tree child")?
                .ok_or(Error::Invalid {
                    at: node,
                    what: "v2 B-tree child with undefined address".into(),
                })?;
            let count = c.uint(max_nrec_size, "v2 B-tree child records")?;
            if d > 1 {
                let width = cum_size.get(usize::from(d) - 1).copied().unwrap_or(0);
                if width > 0 {
                    c.uint(width, "v2 B-tree child total records")?;
                }
            }
            children.push((child, d - 1, count));
        }
        // Order does not matter to the callers beyond determinism: records of this node
        // first, then children left to right.
        out.extend(recs);
        for ch in children.into_iter().rev() {
            stack.push(ch);
        }
    }
    Ok(out)
}
