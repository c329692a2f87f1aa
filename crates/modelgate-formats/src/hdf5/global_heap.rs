//! Global heap collections: where variable-length data (strings) lives.

use super::Error;
use super::cursor::{Layout, to_usize};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;

/// Parsed collections, by address: object index -> byte range in the file.
#[derive(Default)]
pub(crate) struct GlobalHeap {
    collections: HashMap<u64, Result<HashMap<u16, Range<usize>>, Error>>,
}

/// Most objects indexed per collection (each takes at least 16 bytes).
const MAX_OBJECTS_PER_COLLECTION: usize = 1 << 20;
/// Most collections parsed per file.
const MAX_COLLECTIONS: usize = 4096;

impl GlobalHeap {
    /// The bytes of object `index` of the collection at `addr`.
    pub(crate) fn get<'a>(
        &mut self,
        data: &'a [u8],
        layout: &Layout,
        addr: u64,
        index: u32,
    ) -> Result<&'a [u8], Error> {
        let full = self.collections.len() >= MAX_COLLECTIONS;
        let objects = match self.collections.entry(addr) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(_) if full => {
                return Err(Error::Limit {
                    what: "global heap collections",
                    limit: MAX_COLLECTIONS as u64,
                });
            }
            Entry::Vacant(v) => v.insert(collection(data, layout, addr)),
        };
        let objects = objects.as_ref().map_err(Clone::clone)?;
        let range = u16::try_from(index)
            .ok()
            .and_then(|i| objects.get(&i))
            .ok_or_else(|| Error::Invalid {
                at: addr,
                what: format!("global heap: no object {index} in collection {addr:#x}"),
            })?;
        data.get(range.clone()).ok_or(Error::Truncated {
            at: addr,
            what: "global heap object",
        })
    }
}

fn collection(
    data: &[u8],
    layout: &Layout,
    addr: u64,
) -> Result<HashMap<u16, Range<usize>>, Error> {
    let mut c = layout.at(data, addr, "global heap collection")?;
    let start = c.pos();
    c.signature(b"GCOL", "global heap collection")?;
    let _version = c.u8("global heap version")?;
    c.skip(3, "global heap reserved")?;
    let size = layout.length(&mut c, "global heap collection size")?;
    let size = to_usize(size, addr, "global heap collection")?;
    let end = start
        .checked_add(size)
        .filter(|e| *e <= data.len())
        .ok_or(Error::Truncated {
            at: addr,
            what: "global heap collection (size runs past the end of the file)",
        })?;
    let mut objects = HashMap::new();
    // Each object header: index u16, reference count u16, reserved u32, size (length).
    let head = 8 + layout.length_size;
    while c.pos().saturating_add(head) <= end {
        let index = c.u16("global heap object index")?;
        if index == 0 {
            break; // free space: the rest of the collection
        }
        c.skip(6, "global heap object header")?;
        let n = layout.length(&mut c, "global heap object size")?;
        let n = to_usize(n, addr, "global heap object")?;
        let from = c.pos();
        let to = from
            .checked_add(n)
            .filter(|t| *t <= end)
            .ok_or(Error::Truncated {
                at: from as u64,
                what: "global heap object (runs past its collection)",
            })?;
        if objects.len() >= MAX_OBJECTS_PER_COLLECTION {
            return Err(Error::Limit {
                what: "objects in one global heap collection",
                limit: MAX_OBJECTS_PER_COLLECTION as u64,
            });
        }
        objects.insert(index, from..to);
        // Object data is padded to a multiple of 8 bytes.
        let padded = n.checked_add(7).map(|p| p & !7).unwrap_or(usize::MAX);
        if c.skip(padded, "global heap object data").is_err() {
            break;
        }
    }
    Ok(objects)
}
