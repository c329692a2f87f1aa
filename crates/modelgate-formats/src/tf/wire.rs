//! The protobuf wire format, read field by field from a byte slice: varints, fixed 32/64-bit
//! values and length-delimited payloads. Lengths are checked against the bytes that remain
//! before anything is sliced; nothing is allocated here.

use super::TfError;

/// Longest varint (10 bytes carry 64 bits).
const MAX_VARINT: usize = 10;

/// One field value as it sits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val<'a> {
    Varint(u64),
    Fixed64(u64),
    /// A length-delimited payload and its absolute offset in the whole input.
    Len(&'a [u8], usize),
    Fixed32(u32),
}

/// A cursor over the fields of one message. `base` is the message's offset in the whole
/// input, so errors and node offsets point into the file.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

/// Read a varint at `pos`: the value and the position after it.
pub fn varint(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..MAX_VARINT {
        let p = pos.checked_add(i)?;
        let b = *data.get(p)?;
        let bits = u64::from(b & 0x7f);
        // The tenth byte may only carry the top bit of a u64.
        if i == MAX_VARINT - 1 && bits > 1 {
            return None;
        }
        v |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, p.checked_add(1)?));
        }
    }
    None
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8], base: usize) -> Self {
        Fields { data, pos: 0, base }
    }

    /// Absolute offset of the cursor.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// The next field: its number and value; `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Val<'a>)>, TfError> {
        self.read_field(false)
    }

    /// Like [`Fields::next_field`], but a length-delimited payload that runs past the end is
    /// returned cut to the bytes present (for content probes of truncated files).
    pub fn next_field_prefix(&mut self) -> Result<Option<(u32, Val<'a>)>, TfError> {
        self.read_field(true)
    }

    fn read_field(&mut self, prefix: bool) -> Result<Option<(u32, Val<'a>)>, TfError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        let at = self.offset();
        let (key, p) = varint(self.data, self.pos).ok_or(TfError::Varint { offset: at })?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|n| (1..=536_870_911).contains(n))
            .ok_or(TfError::FieldNumber { offset: at })?;
        let (val, end) = match key & 7 {
            0 => {
                let (v, e) = varint(self.data, p).ok_or(TfError::Varint { offset: at })?;
                (Val::Varint(v), e)
            }
            1 => {
                let e = p.checked_add(8).ok_or(TfError::Truncated { offset: at })?;
                let b = self
                    .data
                    .get(p..e)
                    .and_then(|s| <[u8; 8]>::try_from(s).ok())
                    .ok_or(TfError::Truncated { offset: at })?;
                (Val::Fixed64(u64::from_le_bytes(b)), e)
            }
            2 => {
                let (len, s) = varint(self.data, p).ok_or(TfError::Varint { offset: at })?;
                let len = usize::try_from(len).map_err(|_| TfError::Truncated { offset: at })?;
                let mut e = s
                    .checked_add(len)
                    .ok_or(TfError::Truncated { offset: at })?;
                if prefix && e > self.data.len() && s <= self.data.len() {
                    e = self.data.len();
                }
                let payload = self
                    .data
                    .get(s..e)
                    .ok_or(TfError::Truncated { offset: at })?;
                (Val::Len(payload, self.base.saturating_add(s)), e)
            }
            5 => {
                let e = p.checked_add(4).ok_or(TfError::Truncated { offset: at })?;
                let b = self
                    .data
                    .get(p..e)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .ok_or(TfError::Truncated { offset: at })?;
                (Val::Fixed32(u32::from_le_bytes(b)), e)
            }
            wire => return Err(TfError::WireType { offset: at, wire }),
        };
        self.pos = end;
        Ok(Some((number, val)))
    }
}

/// Text of a string field (lossy: invalid UTF-8 is replaced, never an error).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // field 1 varint 300, field 2 "hi", field 3 fixed32, field 4 fixed64
        let d = [
            0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let mut f = Fields::new(&d, 100);
        assert_eq!(f.next_field().ok().flatten(), Some((1, Val::Varint(300))));
        assert_eq!(
            f.next_field().ok().flatten(),
            Some((2, Val::Len(b"hi", 105)))
        );
        assert_eq!(f.next_field().ok().flatten(), Some((3, Val::Fixed32(1))));
        assert_eq!(f.next_field().ok().flatten(), Some((4, Val::Fixed64(2))));
        assert_eq!(f.next_field().ok().flatten(), None);
    }

    #[test]
    fn hostile_lengths_and_varints_are_errors() {
        let long_len = [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, b'x'];
        assert!(matches!(
            Fields::new(&long_len, 0).next_field(),
            Err(TfError::Truncated { offset: 0 })
        ));
        let bad_varint = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(Fields::new(&bad_varint, 0).next_field().is_err());
        assert!(Fields::new(&[0x0b], 0).next_field().is_err()); // group start
        assert!(Fields::new(&[0x00], 0).next_field().is_err()); // field 0
        assert_eq!(varint(&[0xff; 3], 0), None);
    }
}
