//! Object headers (versions 1 and 2) and their continuation blocks: the list of header
//! messages that describe one object.

use super::checksum;
use super::cursor::{Cursor, Layout, to_usize};
use super::{Error, Limits};
use std::collections::HashSet;

pub(crate) const MSG_DATASPACE: u16 = 0x0001;
pub(crate) const MSG_LINK_INFO: u16 = 0x0002;
pub(crate) const MSG_DATATYPE: u16 = 0x0003;
pub(crate) const MSG_LINK: u16 = 0x0006;
pub(crate) const MSG_LAYOUT: u16 = 0x0008;
pub(crate) const MSG_GROUP_INFO: u16 = 0x000A;
pub(crate) const MSG_FILTER_PIPELINE: u16 = 0x000B;
pub(crate) const MSG_ATTRIBUTE: u16 = 0x000C;
pub(crate) const MSG_CONTINUATION: u16 = 0x0010;
pub(crate) const MSG_SYMBOL_TABLE: u16 = 0x0011;
pub(crate) const MSG_ATTRIBUTE_INFO: u16 = 0x0015;

/// Message flag: the message is stored elsewhere (shared object header message).
pub(crate) const FLAG_SHARED: u8 = 0x02;

/// One header message: its type, flags and body.
#[derive(Clone)]
pub(crate) struct Message<'a> {
    pub(crate) kind: u16,
    pub(crate) flags: u8,
    /// The body, with absolute file positions.
    pub(crate) body: Cursor<'a>,
}

impl<'a> Message<'a> {
    /// Absolute position of the body.
    pub(crate) fn at(&self) -> usize {
        self.body.pos()
    }

    /// A fresh cursor at the start of the body.
    pub(crate) fn cursor(&self) -> Cursor<'a> {
        self.body.clone()
    }
}

/// The messages of the object header at `addr`, following continuation blocks. Problems
/// after the first block are returned next to what was read.
pub(crate) fn read<'a>(
    data: &'a [u8],
    layout: &Layout,
    addr: u64,
    limits: &Limits,
) -> Result<(Vec<Message<'a>>, Vec<Error>), Error> {
    let mut c = layout.at(data, addr, "object header")?;
    let mut messages = Vec::new();
    let mut problems = Vec::new();
    let mut pending: Vec<(u64, u64)> = Vec::new();
    let header_start = c.pos();
    let v2 = data.get(c.pos()..c.pos().saturating_add(4)) == Some(b"OHDR");
    let mut header_flags = 0u8;
    if v2 {
        c.skip(4, "object header signature")?;
        let version = c.u8("object header version")?;
        if version != 2 {
            return Err(Error::Invalid {
                at: addr,
                what: format!("object header: OHDR version {version}"),
            });
        }
        header_flags = c.u8("object header flags")?;
        if header_flags & 0x20 != 0 {
            c.skip(16, "object header times")?;
        }
        if header_flags & 0x10 != 0 {
            c.skip(4, "object header attribute phase change")?;
        }
        let size = c.uint(1 << (header_flags & 3), "object header chunk size")?;
        let size = to_usize(size, addr, "object header chunk")?;
        let body = c.take(size, "object header chunk")?;
        if checksum::matches(data, header_start, c.pos()) == Some(false) {
            problems.push(mismatch(addr, "object header"));
        }
        messages_v2(
            body,
            header_flags,
            &mut messages,
            &mut pending,
            layout,
            limits,
        )?;
    } else {
        let version = c.u8("object header version")?;
        if version != 1 {
            return Err(Error::Invalid {
                at: addr,
                what: format!("object header version {version}"),
            });
        }
        c.skip(1, "object header reserved")?;
        let _count = c.u16("object header message count")?;
        c.skip(4, "object reference count")?;
        let size = c.u32("object header size")?;
        c.skip(4, "object header padding")?;
        let size = to_usize(u64::from(size), addr, "object header")?;
        let body = c.take(size, "object header messages")?;
        messages_v1(body, &mut messages, &mut pending, layout, limits)?;
    }
    let mut seen: HashSet<u64> = HashSet::new();
    seen.insert(addr);
    let mut blocks = 0usize;
    while let Some((at, len)) = pending.pop() {
        blocks += 1;
        if blocks > limits.max_continuations {
            problems.push(Error::Limit {
                what: "continuation blocks in one object header",
                limit: limits.max_continuations as u64,
            });
            break;
        }
        if !seen.insert(at) {
            problems.push(Error::Invalid {
                at,
                what: "object header: continuation block visited twice (cycle)".into(),
            });
            continue;
        }
        let r = continuation(
            data,
            layout,
            at,
            len,
            v2,
            header_flags,
            &mut messages,
            &mut pending,
            limits,
        );
        if let Err(e) = r {
            let stop = e.is_limit();
            problems.push(e);
            if stop {
                break;
            }
        }
    }
    Ok((messages, problems))
}

#[allow(clippy::too_many_arguments)]
fn continuation<'a>(
    data: &'a [u8],
    layout: &Layout,
    at: u64,
    len: u64,
    v2: bool,
    header_flags: u8,
    messages: &mut Vec<Message<'a>>,
    pending: &mut Vec<(u64, u64)>,
    limits: &Limits,
) -> Result<(), Error> {
    let mut c = layout.at(data, at, "continuation block")?;
    let block_start = c.pos();
    let len = to_usize(len, at, "continuation block")?;
    if v2 {
        c.signature(b"OCHK", "continuation block")?;
        let body_len = len.checked_sub(8).ok_or(Error::Invalid {
            at,
            what: format!("continuation block length {len}"),
        })?;
        let body = c.take(body_len, "continuation block")?;
        messages_v2(body, header_flags, messages, pending, layout, limits)?;
        if checksum::matches(data, block_start, c.pos()) == Some(false) {
            return Err(mismatch(at, "continuation block"));
        }
        Ok(())
    } else {
        let body = c.take(len, "continuation block")?;
        messages_v1(body, messages, pending, layout, limits)
    }
}

fn mismatch(at: u64, what: &str) -> Error {
    Error::Invalid {
        at,
        what: format!("{what}: checksum mismatch (libhdf5 refuses to read it)"),
    }
}

fn push<'a>(
    kind: u16,
    flags: u8,
    body: Cursor<'a>,
    messages: &mut Vec<Message<'a>>,
    pending: &mut Vec<(u64, u64)>,
    layout: &Layout,
    limits: &Limits,
) -> Result<(), Error> {
    if messages.len() >= limits.max_messages {
        return Err(Error::Limit {
            what: "header messages in one object",
            limit: limits.max_messages as u64,
        });
    }
    if kind == MSG_CONTINUATION {
        let mut c = body.clone();
        let addr = layout.addr(&mut c, "continuation address")?;
        let len = layout.length(&mut c, "continuation length")?;
        match addr {
            Some(a) => pending.push((a, len)),
            None => {
                return Err(Error::Invalid {
                    at: body.pos() as u64,
                    what: "continuation message with undefined address".into(),
                });
            }
        }
    }
    messages.push(Message { kind, flags, body });
    Ok(())
}

fn messages_v1<'a>(
    mut c: Cursor<'a>,
    messages: &mut Vec<Message<'a>>,
    pending: &mut Vec<(u64, u64)>,
    layout: &Layout,
    limits: &Limits,
) -> Result<(), Error> {
    while c.remaining() >= 8 {
        let kind = c.u16("message type")?;
        let size = c.u16("message size")?;
        let flags = c.u8("message flags")?;
        c.skip(3, "message reserved")?;
        let at = c.pos() as u64;
        let body = c
            .take(usize::from(size), "message body")
            .map_err(|_| Error::Truncated {
                at,
                what: "message body (runs past its header block)",
            })?;
        push(kind, flags, body, messages, pending, layout, limits)?;
    }
    Ok(())
}

fn messages_v2<'a>(
    mut c: Cursor<'a>,
    header_flags: u8,
    messages: &mut Vec<Message<'a>>,
    pending: &mut Vec<(u64, u64)>,
    layout: &Layout,
    limits: &Limits,
) -> Result<(), Error> {
    let head = if header_flags & 0x04 != 0 { 6 } else { 4 };
    while c.remaining() >= head {
        let kind = u16::from(c.u8("message type")?);
        let size = c.u16("message size")?;
        let flags = c.u8("message flags")?;
        if head == 6 {
            c.skip(2, "message creation order")?;
        }
        let at = c.pos() as u64;
        let body = c
            .take(usize::from(size), "message body")
            .map_err(|_| Error::Truncated {
                at,
                what: "message body (runs past its header chunk)",
            })?;
        push(kind, flags, body, messages, pending, layout, limits)?;
    }
    Ok(())
}
