//! New-style groups: link messages stored in the object header (compact storage).

use super::Error;
use super::cursor::{Cursor, Layout};

/// Where a link points.
pub(crate) enum Target {
    Hard(u64),
    Soft(String),
    External { file: String, path: String },
    Other(u8),
}

pub(crate) struct Link {
    pub(crate) name: String,
    pub(crate) target: Target,
}

/// Parse a link message body.
/// Parse a link message at `c`, leaving `c` just past it.
pub(crate) fn parse(layout: &Layout, c: &mut Cursor<'_>) -> Result<Link, Error> {
    let at = c.pos();
    let version = c.u8("link version")?;
    if version != 1 {
        return Err(Error::Invalid {
            at: at as u64,
            what: format!("link message version {version}"),
        });
    }
    let flags = c.u8("link flags")?;
    let kind = if flags & 0x08 != 0 {
        c.u8("link type")?
    } else {
        0
    };
    if flags & 0x04 != 0 {
        c.skip(8, "link creation order")?;
    }
    if flags & 0x10 != 0 {
        c.skip(1, "link name encoding")?;
    }
    let name_len = c.uint(1 << (flags & 3), "link name length")?;
    let name_len = usize::try_from(name_len).unwrap_or(usize::MAX);
    let name = String::from_utf8_lossy(c.bytes(name_len, "link name")?).into_owned();
    let target = match kind {
        0 => Target::Hard(layout.addr(c, "link address")?.ok_or(Error::Invalid {
            at: at as u64,
            what: format!("hard link {name:?} with an undefined address"),
        })?),
        1 => {
            let n = usize::from(c.u16("soft link length")?);
            Target::Soft(String::from_utf8_lossy(c.bytes(n, "soft link value")?).into_owned())
        }
        64 => {
            let n = usize::from(c.u16("external link length")?);
            let v = c.bytes(n, "external link value")?;
            // flags byte, then file name and object path, both NUL-terminated
            let mut parts = v.get(1..).unwrap_or(&[]).split(|b| *b == 0);
            let file = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
            let path = String::from_utf8_lossy(parts.next().unwrap_or(&[])).into_owned();
            Target::External { file, path }
        }
        k => Target::Other(k),
    };
    Ok(Link { name, target })
}
