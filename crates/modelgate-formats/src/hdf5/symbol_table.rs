//! Old-style groups: a symbol table message names a version-1 B-tree of symbol table nodes
//! and a local heap holding the link names.

use super::cursor::{Cursor, Layout, to_usize};
use super::{Error, Limits};
use std::collections::HashSet;

/// One member of an old-style group: its name and object header address, or the target
/// path of a soft link.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) target: Result<u64, String>,
}

enum Node {
    /// A B-tree node and the level its parent says it has (`None` at the root).
    Tree { addr: u64, level: Option<u8> },
    /// A symbol table node (a leaf's child).
    Symbols(u64),
}

/// The data segment of a local heap.
fn local_heap<'a>(data: &'a [u8], layout: &Layout, addr: u64) -> Result<&'a [u8], Error> {
    let mut c = layout.at(data, addr, "local heap")?;
    c.signature(b"HEAP", "local heap")?;
    let _version = c.u8("local heap version")?;
    c.skip(3, "local heap reserved")?;
    let size = layout.length(&mut c, "local heap data size")?;
    let _free = layout.length(&mut c, "local heap free list")?;
    let seg = layout
        .addr(&mut c, "local heap data address")?
        .ok_or(Error::Invalid {
            at: addr,
            what: "local heap: undefined data address".into(),
        })?;
    let size = to_usize(size, addr, "local heap data")?;
    let mut s = layout.at(data, seg, "local heap data")?;
    s.bytes(size, "local heap data segment")
}

fn heap_name(heap: &[u8], offset: u64) -> Result<String, Error> {
    let start = usize::try_from(offset).ok().filter(|o| *o < heap.len());
    let tail = start.and_then(|s| heap.get(s..)).ok_or(Error::Invalid {
        at: offset,
        what: format!("link name offset {offset} is outside the local heap"),
    })?;
    let end = tail.iter().position(|b| *b == 0).ok_or(Error::Invalid {
        at: offset,
        what: "link name in the local heap is not NUL-terminated".into(),
    })?;
    Ok(String::from_utf8_lossy(tail.get(..end).unwrap_or(tail)).into_owned())
}

/// The members of the group whose symbol table message body is `body`. `nodes` counts
/// B-tree and symbol nodes across the file.
pub(crate) fn members(
    data: &[u8],
    layout: &Layout,
    mut c: Cursor<'_>,
    nodes: &mut usize,
    limits: &Limits,
) -> Result<Vec<Entry>, Error> {
    let at = c.pos() as u64;
    let btree = layout.addr(&mut c, "symbol table B-tree address")?;
    let heap = layout.addr(&mut c, "symbol table local heap address")?;
    let (Some(btree), Some(heap)) = (btree, heap) else {
        return Err(Error::Invalid {
            at,
            what: "symbol table message with an undefined address".into(),
        });
    };
    let heap = local_heap(data, layout, heap)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![Node::Tree {
        addr: btree,
        level: None,
    }];
    while let Some(node) = stack.pop() {
        *nodes += 1;
        if *nodes > limits.max_btree_nodes {
            return Err(Error::Limit {
                what: "B-tree and symbol nodes",
                limit: limits.max_btree_nodes as u64,
            });
        }
        let addr = match node {
            Node::Tree { addr, .. } | Node::Symbols(addr) => addr,
        };
        if !seen.insert(addr) {
            return Err(Error::Invalid {
                at: addr,
                what: "group B-tree visits a node twice (cycle)".into(),
            });
        }
        let expect = match node {
            Node::Symbols(addr) => {
                symbol_node(data, layout, addr, heap, &mut out, limits)?;
                continue;
            }
            Node::Tree { level, .. } => level,
        };
        let mut c = layout.at(data, addr, "group B-tree node")?;
        c.signature(b"TREE", "group B-tree node")?;
        let node_type = c.u8("B-tree node type")?;
        let level = c.u8("B-tree node level")?;
        if node_type != 0 || expect.is_some_and(|e| e != level) {
            return Err(Error::Invalid {
                at: addr,
                what: format!("group B-tree node type {node_type} level {level}"),
            });
        }
        let used = c.u16("B-tree entries used")?;
        let _left = layout.addr(&mut c, "B-tree left sibling")?;
        let _right = layout.addr(&mut c, "B-tree right sibling")?;
        let mut children = Vec::new();
        for _ in 0..used {
            let _key = layout.length(&mut c, "B-tree key")?;
            let child = layout.addr(&mut c, "B-tree child")?.ok_or(Error::Invalid {
                at: addr,
                what: "B-tree child with undefined address".into(),
            })?;
            children.push(child);
        }
        // Children in reverse so that members come out in name order; level-0 children
        // are symbol table nodes.
        for child in children.into_iter().rev() {
            stack.push(match level.checked_sub(1) {
                None => Node::Symbols(child),
                Some(l) => Node::Tree {
                    addr: child,
                    level: Some(l),
                },
            });
        }
    }
    Ok(out)
}

fn symbol_node(
    data: &[u8],
    layout: &Layout,
    addr: u64,
    heap: &[u8],
    out: &mut Vec<Entry>,
    limits: &Limits,
) -> Result<(), Error> {
    let mut c = layout.at(data, addr, "symbol table node")?;
    c.signature(b"SNOD", "symbol table node")?;
    let _version = c.u8("symbol node version")?;
    c.skip(1, "symbol node reserved")?;
    let count = c.u16("symbol node entries")?;
    for _ in 0..count {
        if out.len() >= limits.max_objects {
            return Err(Error::Limit {
                what: "members in one group",
                limit: limits.max_objects as u64,
            });
        }
        let at = c.pos() as u64;
        let name_offset = layout
            .addr(&mut c, "symbol name offset")?
            .unwrap_or(u64::MAX);
        let header = layout.addr(&mut c, "symbol object header")?;
        let cache = c.u32("symbol cache type")?;
        c.skip(4, "symbol reserved")?;
        let scratch = c.u32("symbol scratch pad")?;
        c.skip(12, "symbol scratch pad")?;
        let name = heap_name(heap, name_offset)?;
        let target = match (header, cache) {
            (Some(a), _) => Ok(a),
            // Cache type 2: a soft link whose value is in the local heap.
            (None, 2) => Err(heap_name(heap, u64::from(scratch))?),
            (None, _) => {
                return Err(Error::Invalid {
                    at,
                    what: format!("group member {name:?} has an undefined address"),
                });
            }
        };
        out.push(Entry { name, target });
    }
    Ok(())
}
