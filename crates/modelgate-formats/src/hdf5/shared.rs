//! Shared object header messages: a message flagged "shared" holds only a reference to its
//! body, either in another object's header (a committed datatype, or any header for the
//! old encodings) or in the file's shared-message table (SOHM: fractal heaps named by the
//! superblock extension). Resolution is bounded in depth (a shared message whose target is
//! shared again) and every heap and header read counts against the file's budgets.

use super::cursor::{Cursor, Layout};
use super::filters::DecodeBudget;
use super::fractal_heap::{self, Heap};
use super::object_header::{self as oh};
use super::{Error, Limits};
use std::collections::HashMap;

/// Header message type of the shared-message table message (in the superblock extension).
const MSG_SHARED_TABLE: u16 = 0x000F;
/// Most indexes in a shared-message table (libhdf5's H5O_SHMESG_MAX_NINDEXES).
const MAX_INDEXES: u8 = 8;

/// A resolved message body.
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    /// Absolute file position of the body (or of the heap holding it).
    pub(crate) at: u64,
}

impl Body {
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor::new(&self.bytes, 0)
    }
}

/// One index of the shared-message table: which message types it holds, and its heap.
struct Index {
    types: u16,
    heap: u64,
}

pub(crate) struct Resolver<'a> {
    data: &'a [u8],
    layout: Layout,
    limits: &'a Limits,
    extension: Option<u64>,
    table: Option<Result<Vec<Index>, Error>>,
    heaps: HashMap<u64, Heap<'a>>,
    decode: DecodeBudget,
    pub(crate) nodes: usize,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        data: &'a [u8],
        layout: Layout,
        limits: &'a Limits,
        extension: Option<u64>,
        decode: DecodeBudget,
    ) -> Self {
        Resolver {
            data,
            layout,
            limits,
            extension,
            table: None,
            heaps: HashMap::new(),
            decode,
            nodes: 0,
        }
    }

    /// The body of the message of type `kind` that the shared-message reference at `c`
    /// names.
    pub(crate) fn resolve(&mut self, kind: u16, c: Cursor<'_>) -> Result<Body, Error> {
        self.resolve_at(kind, c, 0)
    }

    fn resolve_at(&mut self, kind: u16, mut c: Cursor<'_>, depth: usize) -> Result<Body, Error> {
        if depth >= self.limits.max_shared_depth {
            return Err(Error::Limit {
                what: "chain of shared messages",
                limit: self.limits.max_shared_depth as u64,
            });
        }
        let at = c.pos() as u64;
        let version = c.u8("shared message version")?;
        let kind_of_share = c.u8("shared message type")?;
        let layout = self.layout;
        match (version, kind_of_share) {
            (1, _) => {
                c.skip(6, "shared message reserved")?;
                let addr = layout.addr(&mut c, "shared message address")?;
                self.in_header(kind, addr, at, depth)
            }
            (2, _) | (3, 2) => {
                let addr = layout.addr(&mut c, "shared message address")?;
                self.in_header(kind, addr, at, depth)
            }
            (3, 1) => {
                let id = c.bytes(8, "shared message heap ID")?;
                self.in_table(kind, id, at)
            }
            (v, t) => Err(Error::Invalid {
                at,
                what: format!("shared message reference version {v} type {t}"),
            }),
        }
    }

    /// The first message of type `kind` in the object header at `addr`.
    fn in_header(
        &mut self,
        kind: u16,
        addr: Option<u64>,
        at: u64,
        depth: usize,
    ) -> Result<Body, Error> {
        let addr = addr.ok_or(Error::Invalid {
            at,
            what: "shared message with an undefined address".into(),
        })?;
        let (messages, _) = oh::read(self.data, &self.layout, addr, self.limits)?;
        let m = messages
            .iter()
            .find(|m| m.kind == kind)
            .ok_or_else(|| Error::Invalid {
                at,
                what: format!(
                    "shared message: the object header at {addr:#x} has no message of type {kind:#x}"
                ),
            })?;
        if m.flags & oh::FLAG_SHARED != 0 {
            return self.resolve_at(kind, m.cursor(), depth + 1);
        }
        Ok(Body {
            bytes: m.cursor().rest().to_vec(),
            at: m.at() as u64,
        })
    }

    /// A message stored in the shared-message table's heaps, by its heap ID (`at`: where
    /// the reference was found).
    pub(crate) fn in_table(&mut self, kind: u16, id: &[u8], at: u64) -> Result<Body, Error> {
        if self.table.is_none() {
            self.table = Some(self.read_table());
        }
        let heaps: Vec<u64> = match &self.table {
            Some(Ok(indexes)) => {
                // Indexes that say they hold this message type first.
                let bit = 1u16.checked_shl(u32::from(kind)).unwrap_or(0);
                let (mut first, rest): (Vec<&Index>, Vec<&Index>) =
                    indexes.iter().partition(|i| i.types & bit != 0);
                first.extend(rest);
                first.into_iter().map(|i| i.heap).collect()
            }
            Some(Err(e)) => return Err(e.clone()),
            None => Vec::new(),
        };
        let mut last = Error::Invalid {
            at,
            what: "shared message in the shared-message table, but the file has none".into(),
        };
        for heap in heaps {
            if !self.heaps.contains_key(&heap) {
                let h = fractal_heap::open(
                    self.data,
                    &self.layout,
                    heap,
                    &mut self.nodes,
                    self.limits,
                    &self.decode,
                )?;
                self.heaps.insert(heap, h);
            }
            let Some(h) = self.heaps.get(&heap) else {
                continue;
            };
            match h.object(id, &mut self.nodes, self.limits) {
                Ok(o) => {
                    return Ok(Body {
                        bytes: o.bytes.into_owned(),
                        at: o.at,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The shared-message table named by the superblock extension.
    fn read_table(&self) -> Result<Vec<Index>, Error> {
        let ext = self.extension.ok_or(Error::Invalid {
            at: 0,
            what: "shared message in the shared-message table, but the superblock has no \
                   extension"
                .into(),
        })?;
        let (messages, _) = oh::read(self.data, &self.layout, ext, self.limits)?;
        let m = messages
            .iter()
            .find(|m| m.kind == MSG_SHARED_TABLE)
            .ok_or(Error::Invalid {
                at: ext,
                what: "superblock extension without a shared-message table".into(),
            })?;
        let mut c = m.cursor();
        let _version = c.u8("shared message table message version")?;
        let table = self
            .layout
            .addr(&mut c, "shared message table address")?
            .ok_or(Error::Invalid {
                at: m.at() as u64,
                what: "shared-message table with an undefined address".into(),
            })?;
        let n = c.u8("shared message index count")?;
        if n > MAX_INDEXES {
            return Err(Error::Invalid {
                at: m.at() as u64,
                what: format!("shared-message table with {n} indexes"),
            });
        }
        let mut c = self.layout.at(self.data, table, "shared message table")?;
        c.signature(b"SMTB", "shared message table")?;
        let mut out = Vec::new();
        for _ in 0..n {
            c.skip(2, "shared message index version and type")?;
            let types = c.u16("shared message index types")?;
            c.skip(4 + 2 + 2 + 2, "shared message index sizes")?;
            self.layout.addr(&mut c, "shared message index address")?;
            if let Some(heap) = self.layout.addr(&mut c, "shared message heap address")? {
                out.push(Index { types, heap });
            }
        }
        Ok(out)
    }
}
