//! The depth-first walk of the group tree from the root group: every object's header,
//! attributes and links, under the file's budgets.

use super::attribute::{self, Value, ValueBudget};
use super::btree_v2;
use super::cursor::{Cursor, Layout};
use super::dataset::{self, Storage};
use super::datatype::{self, Datatype};
use super::filters::{self, DecodeBudget, Pipeline};
use super::fractal_heap::{self, Heap};
use super::global_heap::GlobalHeap;
use super::links::{self, Target};
use super::object_header::{self as oh, Message};
use super::shared::{Body, Resolver};
use super::superblock::Superblock;
use super::symbol_table;
use super::{Alias, DatasetData, Error, Hdf5File, Issue, Limits, Object, ObjectKind, OtherLink};
use std::borrow::Cow;
use std::collections::HashMap;

struct Walk<'a> {
    data: &'a [u8],
    layout: Layout,
    limits: &'a Limits,
    heap: GlobalHeap,
    shared: Resolver<'a>,
    /// Bytes left to decompress for the file.
    decode: DecodeBudget,
    budget: ValueBudget,
    nodes: usize,
    /// Dataset bytes left to read for the file.
    data_left: u64,
    issues: Vec<Issue>,
    issues_dropped: bool,
}

impl Walk<'_> {
    fn issue(&mut self, path: &str, error: Error) {
        if self.issues.len() < self.limits.max_issues {
            self.issues.push(Issue {
                path: path.to_string(),
                error,
            });
        } else if !self.issues_dropped {
            self.issues_dropped = true;
            self.issues.push(Issue {
                path: path.to_string(),
                error: Error::Limit {
                    what: "problems recorded for the file",
                    limit: self.limits.max_issues as u64,
                },
            });
        }
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Whether `path` is `ancestor` or below it.
fn is_under(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub(crate) fn walk(data: &[u8], sb: &Superblock, limits: &Limits) -> Hdf5File {
    let decode = DecodeBudget::new(limits.max_decoded_bytes);
    let mut w = Walk {
        data,
        layout: sb.layout,
        limits,
        heap: GlobalHeap::default(),
        shared: Resolver::new(data, sb.layout, limits, sb.extension, decode.clone()),
        decode,
        budget: ValueBudget {
            left: limits.max_value_bytes,
        },
        nodes: 0,
        data_left: limits.max_data_bytes,
        issues: Vec::new(),
        issues_dropped: false,
    };
    if !sb.checksum_ok {
        w.issue(
            "/",
            Error::Invalid {
                at: sb.offset,
                what: "superblock: checksum mismatch (libhdf5 refuses to open the file)".into(),
            },
        );
    }
    let mut objects = Vec::new();
    let mut aliases = Vec::new();
    let mut visited: HashMap<u64, String> = HashMap::new();
    let mut stack: Vec<(u64, String, usize)> = vec![(sb.root, "/".to_string(), 0)];
    while let Some((addr, path, depth)) = stack.pop() {
        if let Some(first) = visited.get(&addr) {
            if aliases.len() < limits.max_objects {
                aliases.push(Alias {
                    cycle: is_under(&path, first),
                    path,
                    target: first.clone(),
                });
            }
            continue;
        }
        if objects.len() >= limits.max_objects {
            w.issue(
                &path,
                Error::Limit {
                    what: "objects in the file",
                    limit: limits.max_objects as u64,
                },
            );
            break;
        }
        visited.insert(addr, path.clone());
        let (object, children) = read_object(&mut w, addr, &path);
        objects.push(object);
        if !children.is_empty() && depth >= limits.max_depth {
            w.issue(
                &path,
                Error::Limit {
                    what: "group nesting depth",
                    limit: limits.max_depth as u64,
                },
            );
            continue;
        }
        for (name, child) in children.into_iter().rev() {
            stack.push((child, join(&path, &name), depth + 1));
        }
    }
    Hdf5File {
        version: sb.version,
        superblock_offset: sb.offset,
        offset_size: sb.layout.offset_size as u8,
        length_size: sb.layout.length_size as u8,
        end_of_file: sb.end_of_file,
        objects,
        aliases,
        issues: w.issues,
    }
}

/// Read one object; returns it and its hard-linked children (name, header address).
fn read_object(w: &mut Walk<'_>, addr: u64, path: &str) -> (Object, Vec<(String, u64)>) {
    let mut object = Object {
        path: path.to_string(),
        address: addr,
        kind: ObjectKind::Other,
        attributes: Vec::new(),
        other_links: Vec::new(),
        data: None,
    };
    let mut children = Vec::new();
    let messages = match oh::read(w.data, &w.layout, addr, w.limits) {
        Ok((m, problems)) => {
            for p in problems {
                w.issue(path, p);
            }
            m
        }
        Err(e) => {
            w.issue(path, e);
            return (object, children);
        }
    };
    let mut group = false;
    let mut layout_seen = false;
    let mut storage: Option<Storage<'_>> = None;
    let mut pipeline = Pipeline::default();
    let mut shape = Vec::new();
    let mut unlimited = Vec::new();
    let mut dtype = None;
    let mut datatype_seen = false;
    for m in &messages {
        if let Err(e) = message(w, m, &mut object, &mut children, &mut group) {
            w.issue(path, e);
        }
        match m.kind {
            oh::MSG_LAYOUT => {
                layout_seen = true;
                match dataset::parse_layout(&mut m.cursor(), &w.layout) {
                    Ok(s) => storage = Some(s),
                    Err(e) => w.issue(path, e),
                }
            }
            oh::MSG_DATATYPE => datatype_seen = true,
            _ => {}
        }
        if !matches!(
            m.kind,
            oh::MSG_FILTER_PIPELINE | oh::MSG_DATASPACE | oh::MSG_DATATYPE
        ) {
            continue;
        }
        // A shared message: its body is in another object header or the shared-message
        // table.
        let shared = if m.flags & oh::FLAG_SHARED != 0 {
            match w.shared.resolve(m.kind, m.cursor()) {
                Ok(b) => Some(b),
                Err(e) => {
                    w.issue(path, e);
                    continue;
                }
            }
        } else {
            None
        };
        let mut c = shared.as_ref().map_or_else(|| m.cursor(), Body::cursor);
        let result = match m.kind {
            oh::MSG_FILTER_PIPELINE => filters::parse(&mut c).map(|p| pipeline = p),
            oh::MSG_DATASPACE => {
                datatype::parse_dataspace_unlimited(&mut c, &w.layout).map(|(s, u)| {
                    shape = s.unwrap_or_default();
                    unlimited = u;
                })
            }
            _ => datatype::parse(&mut c).map(|t| dtype = Some(t)),
        };
        if let Err(e) = result {
            w.issue(path, e);
        }
    }
    if let (Some(storage), Some(dt)) = (&storage, &dtype)
        && !group
        && byte_like(dt)
    {
        match read_data(w, storage, &pipeline, (&shape, &unlimited), dt, path) {
            Ok(d) => object.data = Some(d),
            Err(e) => w.issue(path, e),
        }
    }
    object.kind = if group {
        ObjectKind::Group
    } else if layout_seen {
        ObjectKind::Dataset {
            shape,
            datatype: dtype,
        }
    } else if datatype_seen {
        ObjectKind::NamedDatatype
    } else {
        ObjectKind::Other
    };
    (object, children)
}

/// Whether a dataset of this type is read: bytes, strings, opaque data (where a payload can
/// be stored), never numbers.
fn byte_like(t: &Datatype) -> bool {
    match t {
        Datatype::Integer { size: 1, .. }
        | Datatype::FixedString { .. }
        | Datatype::VarString
        | Datatype::Opaque { .. } => true,
        Datatype::VarSequence(b) | Datatype::Array { base: b, .. } => byte_like(b),
        _ => false,
    }
}

/// Read a byte-like dataset within the per-dataset and per-file budgets.
fn read_data(
    w: &mut Walk<'_>,
    storage: &Storage<'_>,
    pipeline: &Pipeline,
    (shape, unlimited): (&[u64], &[bool]),
    dt: &Datatype,
    path: &str,
) -> Result<DatasetData, Error> {
    let elem = dt.size(w.layout.offset_size);
    let total = attribute::element_count(shape)
        .and_then(|n| n.checked_mul(elem))
        .ok_or(Error::Invalid {
            at: 0,
            what: format!("dataset of shape {shape:?} overflows"),
        })?;
    let cap = w.limits.max_dataset_bytes.min(w.data_left);
    let mut want = total.min(cap);
    if elem > 0 {
        want -= want % elem;
    }
    let truncated = want < total;
    if truncated {
        let strings = matches!(
            dt,
            Datatype::FixedString { .. } | Datatype::VarString | Datatype::VarSequence(_)
        );
        let (what, limit) = if cap == w.limits.max_dataset_bytes && !strings {
            (super::BYTE_DATASET_PREFIX, w.limits.max_dataset_bytes)
        } else if cap == w.limits.max_dataset_bytes {
            (
                "bytes read of one string dataset",
                w.limits.max_dataset_bytes,
            )
        } else {
            ("dataset bytes read for the file", w.limits.max_data_bytes)
        };
        w.issue(path, Error::Limit { what, limit });
    }
    let raw = dataset::read(
        w.data,
        &w.layout,
        storage,
        pipeline,
        (shape, unlimited),
        elem,
        want,
        &mut w.nodes,
        w.limits,
        &w.decode,
    )?;
    w.data_left = w.data_left.saturating_sub(raw.bytes.len() as u64);
    let size = usize::try_from(elem).unwrap_or(usize::MAX).max(1);
    let value = match dt {
        Datatype::VarString | Datatype::VarSequence(_) => {
            let mut out = Vec::new();
            for b in raw.bytes.chunks_exact(size) {
                let mut c = Cursor::new(b, 0);
                let _len = c.u32("vlen length")?;
                let addr = w.layout.addr(&mut c, "vlen global heap address")?;
                let index = c.u32("vlen global heap index")?;
                let Some(addr) = addr.filter(|_| index != 0) else {
                    out.push(Vec::new());
                    continue;
                };
                let s = w.heap.get(w.data, &w.layout, addr, index)?;
                w.data_left = w
                    .data_left
                    .checked_sub(s.len() as u64)
                    .ok_or(Error::Limit {
                        what: "dataset bytes read for the file",
                        limit: w.limits.max_data_bytes,
                    })?;
                out.push(s.to_vec());
            }
            Value::Strings(out)
        }
        Datatype::FixedString { .. } => Value::Strings(
            raw.bytes
                .chunks(size)
                .map(|s| {
                    let end = s.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
                    s.get(..end).unwrap_or(s).to_vec()
                })
                .collect(),
        ),
        _ => Value::Bytes(raw.bytes),
    };
    Ok(DatasetData {
        value,
        at: raw.at,
        truncated,
    })
}

/// Dense storage named by a link info or attribute info message: (fractal heap address,
/// name index v2 B-tree address); `None` for compact storage.
fn dense_storage(
    layout: &Layout,
    mut c: Cursor<'_>,
    flag_skip: usize,
) -> Result<Option<(u64, u64)>, Error> {
    let at = c.pos() as u64;
    let _version = c.u8("info message version")?;
    let flags = c.u8("info message flags")?;
    if flags & 1 != 0 {
        c.skip(flag_skip, "maximum creation index")?;
    }
    let heap = layout.addr(&mut c, "fractal heap address")?;
    let index = layout.addr(&mut c, "name index address")?;
    match (heap, index) {
        (Some(h), Some(i)) => Ok(Some((h, i))),
        (None, _) => Ok(None),
        (Some(_), None) => Err(Error::Invalid {
            at,
            what: "dense storage without a name index".into(),
        }),
    }
}

fn message(
    w: &mut Walk<'_>,
    m: &Message<'_>,
    object: &mut Object,
    children: &mut Vec<(String, u64)>,
    group: &mut bool,
) -> Result<(), Error> {
    match m.kind {
        oh::MSG_ATTRIBUTE => {
            if m.flags & oh::FLAG_SHARED != 0 {
                let body = w.shared.resolve(m.kind, m.cursor())?;
                push_attribute(w, object, &mut body.cursor(), Some(body.at))?;
            } else {
                push_attribute(w, object, &mut m.cursor(), None)?;
            }
        }
        oh::MSG_ATTRIBUTE_INFO => {
            // Attribute name index records: heap ID (8 bytes), message flags, creation
            // order, hash. A shared attribute's ID names the shared-message table's heap,
            // not the object's.
            let Some((heap, records)) = dense_index(w, m, 2)? else {
                return Ok(());
            };
            for r in records {
                let id = r.get(..8).unwrap_or(r);
                let body = if r.get(8).is_some_and(|f| f & oh::FLAG_SHARED != 0) {
                    w.shared
                        .in_table(oh::MSG_ATTRIBUTE, id, heap.addr())
                        .map(|b| (Cow::Owned(b.bytes), b.at))
                } else {
                    heap.object(id, &mut w.nodes, w.limits)
                        .map(|o| (o.bytes, o.at))
                };
                match body {
                    Ok((bytes, at)) => {
                        push_attribute(w, object, &mut Cursor::new(&bytes, 0), Some(at))?
                    }
                    Err(e) => w.issue(&object.path, e),
                }
            }
        }
        oh::MSG_SYMBOL_TABLE => {
            *group = true;
            for e in symbol_table::members(w.data, &w.layout, m.cursor(), &mut w.nodes, w.limits)? {
                match e.target {
                    Ok(address) => children.push((e.name, address)),
                    Err(target) => object.other_links.push(OtherLink {
                        name: e.name,
                        external_file: None,
                        target,
                    }),
                }
            }
        }
        oh::MSG_LINK => {
            *group = true;
            let l = links::parse(&w.layout, &mut m.cursor())?;
            link(l, object, children, m.at())?;
        }
        oh::MSG_LINK_INFO => {
            *group = true;
            // Link name index records: name hash (4 bytes), then the heap ID.
            let Some((heap, records)) = dense_index(w, m, 8)? else {
                return Ok(());
            };
            for r in records {
                if children.len() >= w.limits.max_objects {
                    return Err(Error::Limit {
                        what: "members in one group",
                        limit: w.limits.max_objects as u64,
                    });
                }
                match heap.object(r.get(4..).unwrap_or(&[]), &mut w.nodes, w.limits) {
                    Ok(o) => {
                        let l = links::parse(&w.layout, &mut o.cursor())?;
                        link(l, object, children, m.at())?;
                    }
                    Err(e) => w.issue(&object.path, e),
                }
            }
        }
        oh::MSG_GROUP_INFO => *group = true,
        _ => {}
    }
    Ok(())
}

/// Record a link: hard links become children, the rest are listed on the object.
fn link(
    l: links::Link,
    object: &mut Object,
    children: &mut Vec<(String, u64)>,
    at: usize,
) -> Result<(), Error> {
    match l.target {
        Target::Hard(a) => children.push((l.name, a)),
        Target::Soft(t) => object.other_links.push(OtherLink {
            name: l.name,
            external_file: None,
            target: t,
        }),
        Target::External { file, path } => object.other_links.push(OtherLink {
            name: l.name,
            external_file: Some(file),
            target: path,
        }),
        Target::Other(k) => {
            return Err(Error::Unsupported {
                at: at as u64,
                what: format!("user-defined link type {k} ({:?})", l.name),
            });
        }
    }
    Ok(())
}

/// Decode one attribute message at `c` onto the object, within the per-object budget;
/// `at` is the file position to report when `c` is not over the file's own bytes.
fn push_attribute(
    w: &mut Walk<'_>,
    object: &mut Object,
    c: &mut Cursor<'_>,
    at: Option<u64>,
) -> Result<(), Error> {
    if object.attributes.len() >= w.limits.max_attributes {
        return Err(Error::Limit {
            what: "attributes on one object",
            limit: w.limits.max_attributes as u64,
        });
    }
    let mut a = attribute::parse(
        w.data,
        &w.layout,
        c,
        &mut w.heap,
        &mut w.budget,
        w.limits,
        &mut w.shared,
    )?;
    if let Some(at) = at {
        a.at = at;
    }
    object.attributes.push(a);
    Ok(())
}

/// A dense storage's heap and its name index records.
type DenseIndex<'a> = (Heap<'a>, Vec<&'a [u8]>);

/// Dense storage: its fractal heap and the records of its name index (each holds the
/// heap ID of one link or attribute message); `None` for compact storage.
fn dense_index<'a>(
    w: &mut Walk<'a>,
    m: &Message<'_>,
    flag_skip: usize,
) -> Result<Option<DenseIndex<'a>>, Error> {
    let Some((heap, index)) = dense_storage(&w.layout, m.cursor(), flag_skip)? else {
        return Ok(None);
    };
    let heap = fractal_heap::open(w.data, &w.layout, heap, &mut w.nodes, w.limits, &w.decode)?;
    let records = btree_v2::records(w.data, &w.layout, index, &mut w.nodes, w.limits)?;
    Ok(Some((heap, records)))
}
