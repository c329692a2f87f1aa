//! The superblock: where the file starts (after an optional user block), the widths of
//! addresses and lengths, and the root group.

use super::Error;
use super::checksum;
use super::cursor::{Cursor, Layout};

/// The 8-byte HDF5 format signature.
pub const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Where the superblock may start: 0, then 512 and every power of two after it.
pub fn find_superblock(data: &[u8]) -> Option<u64> {
    let mut at: u64 = 0;
    loop {
        let start = usize::try_from(at).ok()?;
        let end = start.checked_add(SIGNATURE.len())?;
        if data.get(start..end)? == SIGNATURE {
            return Some(at);
        }
        at = if at == 0 { 512 } else { at.checked_mul(2)? };
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    pub(crate) version: u8,
    pub(crate) offset: u64,
    pub(crate) layout: Layout,
    pub(crate) end_of_file: Option<u64>,
    /// Address of the root group's object header.
    pub(crate) root: u64,
    /// False when a version 2/3 superblock's checksum does not match.
    pub(crate) checksum_ok: bool,
    /// Object header of the superblock extension (version 2/3), where the shared-message
    /// table is named.
    pub(crate) extension: Option<u64>,
}

fn width(v: u8, at: u64, what: &'static str) -> Result<usize, Error> {
    match v {
        2 | 4 | 8 => Ok(usize::from(v)),
        _ => Err(Error::Invalid {
            at,
            what: format!("{what} {v}"),
        }),
    }
}

pub(crate) fn read(data: &[u8]) -> Result<Superblock, Error> {
    let offset = find_superblock(data).ok_or(Error::Invalid {
        at: 0,
        what: "superblock: no HDF5 signature at 0, 512, 1024, ...".into(),
    })?;
    // `find_superblock` proved the offset is inside `data`.
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut c = Cursor::new(data, start);
    c.skip(8, "superblock signature")?;
    let version = c.u8("superblock version")?;
    let at = c.pos() as u64;
    // Addresses are relative to where the superblock is (libhdf5 rebases a stored base
    // address that disagrees with where the signature was found).
    let (offset_size, length_size) = match version {
        0 | 1 => {
            c.skip(4, "superblock v0 versions")?; // free-space, root symtab, reserved, shared
            let o = c.u8("size of offsets")?;
            let l = c.u8("size of lengths")?;
            (o, l)
        }
        2 | 3 => {
            let o = c.u8("size of offsets")?;
            let l = c.u8("size of lengths")?;
            (o, l)
        }
        v => {
            return Err(Error::Unsupported {
                at,
                what: format!("superblock version {v}"),
            });
        }
    };
    let layout = Layout {
        base: offset,
        offset_size: width(offset_size, at, "size of offsets")?,
        length_size: width(length_size, at, "size of lengths")?,
    };
    match version {
        0 | 1 => {
            c.skip(1, "superblock reserved")?;
            c.skip(2 + 2 + 4, "superblock B-tree K and flags")?;
            if version == 1 {
                c.skip(4, "superblock indexed storage K")?;
            }
            let _base = layout.addr(&mut c, "base address")?;
            let _free = layout.addr(&mut c, "free-space address")?;
            let end_of_file = layout.addr(&mut c, "end-of-file address")?;
            let _driver = layout.addr(&mut c, "driver information address")?;
            // Root group symbol table entry: link name offset, object header address, ...
            let _name = layout.addr(&mut c, "root link name offset")?;
            let header = layout.addr(&mut c, "root object header address")?;
            c.skip(4 + 4 + 16, "root symbol table entry")?;
            let header = header.ok_or(Error::Invalid {
                at: c.pos() as u64,
                what: "superblock: undefined root group address".into(),
            })?;
            Ok(Superblock {
                version,
                offset,
                layout,
                end_of_file,
                root: header,
                checksum_ok: true,
                extension: None,
            })
        }
        _ => {
            c.skip(1, "superblock flags")?;
            let _base = layout.addr(&mut c, "base address")?;
            let extension = layout.addr(&mut c, "superblock extension address")?;
            let end_of_file = layout.addr(&mut c, "end-of-file address")?;
            let header = layout.addr(&mut c, "root object header address")?;
            let checksum_ok = checksum::matches(data, start, c.pos()) != Some(false);
            c.skip(4, "superblock checksum")?;
            let header = header.ok_or(Error::Invalid {
                at: c.pos() as u64,
                what: "superblock: undefined root group address".into(),
            })?;
            Ok(Superblock {
                version,
                offset,
                layout,
                end_of_file,
                root: header,
                checksum_ok,
                extension,
            })
        }
    }
}
