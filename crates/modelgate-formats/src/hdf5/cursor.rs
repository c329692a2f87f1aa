//! A bounds-checked little-endian reader over the file bytes, and the file-wide context
//! (base address, offset and length widths) every structure needs to follow addresses.

use super::Error;

/// A position in the file bytes; every read is checked and advances the position.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Cursor { data, pos }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated {
            at: self.pos as u64,
            what,
        })?;
        let s = self.data.get(self.pos..end).ok_or(Error::Truncated {
            at: self.pos as u64,
            what,
        })?;
        self.pos = end;
        Ok(s)
    }

    /// A cursor over the next `n` bytes, keeping absolute positions; this one moves past them.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<Cursor<'a>, Error> {
        let start = self.pos;
        self.bytes(n, what)?;
        Ok(Cursor {
            data: self.data.get(..self.pos).unwrap_or(self.data),
            pos: start,
        })
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), Error> {
        self.bytes(n, what).map(|_| ())
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.uint(1, what)? as u8)
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        Ok(self.uint(2, what)? as u16)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(self.uint(4, what)? as u32)
    }

    /// An unsigned little-endian integer of `width` bytes (1..=8).
    pub(crate) fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, Error> {
        let at = self.pos as u64;
        if !(1..=8).contains(&width) {
            return Err(Error::Invalid {
                at,
                what: format!("{what}: integer width {width}"),
            });
        }
        let b = self.bytes(width, what)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// Expect a 4-byte signature.
    pub(crate) fn signature(&mut self, sig: &[u8; 4], what: &'static str) -> Result<(), Error> {
        let at = self.pos as u64;
        let got = self.bytes(4, what)?;
        if got != sig {
            return Err(Error::Invalid {
                at,
                what: format!(
                    "{what}: expected signature {:?}, found {:?}",
                    String::from_utf8_lossy(sig),
                    String::from_utf8_lossy(got)
                ),
            });
        }
        Ok(())
    }
}

/// File-wide facts from the superblock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Absolute position that relative addresses count from.
    pub(crate) base: u64,
    /// Width of addresses ("size of offsets").
    pub(crate) offset_size: usize,
    /// Width of lengths ("size of lengths").
    pub(crate) length_size: usize,
}

impl Layout {
    /// A cursor at relative address `addr`.
    pub(crate) fn at<'a>(
        &self,
        data: &'a [u8],
        addr: u64,
        what: &'static str,
    ) -> Result<Cursor<'a>, Error> {
        let abs = self
            .base
            .checked_add(addr)
            .filter(|a| *a < data.len() as u64)
            .ok_or_else(|| Error::Invalid {
                at: self.base.saturating_add(addr),
                what: format!("{what}: address {addr:#x} is outside the file"),
            })?;
        Ok(Cursor::new(data, abs as usize))
    }

    /// An address; `None` for the undefined address (all bits set).
    pub(crate) fn addr(
        &self,
        c: &mut Cursor<'_>,
        what: &'static str,
    ) -> Result<Option<u64>, Error> {
        let v = c.uint(self.offset_size, what)?;
        let undefined = if self.offset_size >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.offset_size)) - 1
        };
        Ok((v != undefined).then_some(v))
    }

    pub(crate) fn length(&self, c: &mut Cursor<'_>, what: &'static str) -> Result<u64, Error> {
        c.uint(self.length_size, what)
    }
}

/// A length as `usize`, refusing values that cannot fit in the file anyway.
pub(crate) fn to_usize(v: u64, at: u64, what: &'static str) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| Error::Invalid {
        at,
        what: format!("{what}: length {v} too large"),
    })
}
