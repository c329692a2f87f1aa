//! The checksum of version-2 structures (superblock v2/v3, object header chunks): Bob
//! Jenkins' lookup3 `hashlittle` with an initial value of 0, as the HDF5 format specifies.
//! libhdf5 refuses structures whose checksum does not match, so a mismatch is a file that
//! reads differently here than in the real loader.

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// Little-endian word of up to four bytes (zero-padded).
fn word(b: &[u8]) -> u32 {
    b.iter()
        .rev()
        .fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
}

/// lookup3 `hashlittle(data, len, 0)`.
pub(crate) fn lookup3(data: &[u8]) -> u32 {
    let init = 0xdead_beef_u32.wrapping_add(data.len() as u32);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut rest = data;
    while rest.len() > 12 {
        let (block, tail) = rest.split_at(12);
        a = a.wrapping_add(word(block.get(0..4).unwrap_or(&[])));
        b = b.wrapping_add(word(block.get(4..8).unwrap_or(&[])));
        c = c.wrapping_add(word(block.get(8..12).unwrap_or(&[])));
        mix(&mut a, &mut b, &mut c);
        rest = tail;
    }
    if rest.is_empty() {
        return c;
    }
    a = a.wrapping_add(word(rest.get(0..4.min(rest.len())).unwrap_or(&[])));
    if rest.len() > 4 {
        b = b.wrapping_add(word(rest.get(4..8.min(rest.len())).unwrap_or(&[])));
    }
    if rest.len() > 8 {
        c = c.wrapping_add(word(rest.get(8..).unwrap_or(&[])));
    }
    finish(&mut a, &mut b, &mut c);
    c
}

/// Whether the 4 bytes at `data[end..end + 4]` are the checksum of `data[start..end]`.
pub(crate) fn matches(data: &[u8], start: usize, end: usize) -> Option<bool> {
    let covered = data.get(start..end)?;
    let stored = data.get(end..end.checked_add(4)?)?;
    Some(lookup3(covered) == word(stored))
}

#[cfg(test)]
mod tests {
    use super::lookup3;

    /// Reference values of lookup3's own self-test (hashlittle with initval 0).
    #[test]
    fn reference_values() {
        assert_eq!(lookup3(b""), 0xdead_beef);
        assert_eq!(lookup3(b"Four score and seven years ago"), 0x1777_0551);
    }
}
