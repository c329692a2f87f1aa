//! Integer literals of the text opcodes, accepted exactly where CPython's `_pickle` accepts them.
//!
//! `INT` is read with C `strtol(s, &end, 0)` and, when that does not consume the whole line or
//! overflows, with Python's own `int(s, 0)` grammar; `LONG` (after an optional trailing `L`)
//! only with `int(s, 0)`; `PUT`/`GET` with `int(s, 10)`. Python's grammar takes `0x`/`0o`/`0b`
//! prefixes, `_` between digits and surrounding whitespace. A scanner that accepts less stops
//! where the loader goes on (`I0x10` then a call was a bypass), so both grammars are modelled.

/// A parsed literal: its value when it fits in `i64`, else the literal itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyInt {
    Small(i64),
    Big(String),
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Digits of `base` with single `_` separators (none leading or trailing, none doubled);
/// `lead_underscore` allows one `_` first (after a `0x`-style prefix).
fn digit_run(s: &[u8], base: u32, lead_underscore: bool) -> Option<Vec<u8>> {
    let s = if lead_underscore {
        s.strip_prefix(b"_").unwrap_or(s)
    } else {
        s
    };
    let mut out = Vec::with_capacity(s.len());
    let mut prev_underscore = true; // no leading `_`
    for &c in s {
        if c == b'_' {
            if prev_underscore {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        char::from(c).to_digit(base)?;
        out.push(c);
        prev_underscore = false;
    }
    (!out.is_empty() && !prev_underscore).then_some(out)
}

fn value(neg: bool, digits: &[u8], base: u32, literal: &str) -> PyInt {
    let mut acc: i128 = 0;
    for &d in digits {
        let Some(v) = char::from(d).to_digit(base) else {
            return PyInt::Big(literal.to_string());
        };
        acc = match acc
            .checked_mul(i128::from(base))
            .and_then(|a| a.checked_add(i128::from(v)))
        {
            Some(a) => a,
            None => return PyInt::Big(literal.to_string()),
        };
    }
    let signed = if neg { -acc } else { acc };
    i64::try_from(signed).map_or_else(|_| PyInt::Big(literal.to_string()), PyInt::Small)
}

/// Python's `int(s, base)` for `base` 0 or 10 (the two the loader uses).
pub fn python_int(s: &str, base: u32) -> Option<PyInt> {
    let b = s.as_bytes();
    let start = b.iter().position(|c| !is_space(*c))?;
    let end = b.iter().rposition(|c| !is_space(*c))? + 1;
    let t = b.get(start..end)?;
    let (neg, t) = match t.first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    let literal = s.trim();
    if base == 0 {
        let prefixed = match t {
            [b'0', b'x' | b'X', rest @ ..] => Some((16, rest)),
            [b'0', b'o' | b'O', rest @ ..] => Some((8, rest)),
            [b'0', b'b' | b'B', rest @ ..] => Some((2, rest)),
            _ => None,
        };
        if let Some((radix, rest)) = prefixed {
            let digits = digit_run(rest, radix, true)?;
            return Some(value(neg, &digits, radix, literal));
        }
        let digits = digit_run(t, 10, false)?;
        // Base 0 refuses leading zeros in a non-zero decimal ("010").
        if digits.first() == Some(&b'0') && digits.iter().any(|d| *d != b'0') {
            return None;
        }
        return Some(value(neg, &digits, 10, literal));
    }
    let digits = digit_run(t, base, false)?;
    Some(value(neg, &digits, base, literal))
}

/// C `strtol(s, &end, 0)` where `end` must reach the end of the line: the loader's first try
/// for `INT`. `None` when it would not consume the whole argument or would overflow.
pub fn strtol_base0(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = b.iter().position(|c| !is_space(*c))?;
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = b.get(i..)?;
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', h, ..] if h.is_ascii_hexdigit() => (16, rest.get(2..)?),
        [b'0', ..] => (8, rest),
        _ => (10, rest),
    };
    if digits.is_empty() {
        return None;
    }
    let mut acc: i128 = 0;
    for &d in digits {
        let v = char::from(d).to_digit(radix)?;
        acc = acc
            .checked_mul(i128::from(radix))?
            .checked_add(i128::from(v))?;
        if acc > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if neg { -acc } else { acc }).ok()
}

/// The `INT` opcode's argument: `strtol` first, then Python's grammar.
pub fn int_opcode(s: &str) -> Option<PyInt> {
    match strtol_base0(s) {
        Some(v) => Some(PyInt::Small(v)),
        None => python_int(s, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(v: i64) -> Option<PyInt> {
        Some(PyInt::Small(v))
    }

    // Expected values checked against CPython 3.11's `pickle.loads`.
    #[test]
    fn int_opcode_accepts_what_the_loader_accepts() {
        assert_eq!(int_opcode("0x10"), small(16));
        assert_eq!(int_opcode("1_0"), small(10));
        assert_eq!(int_opcode("0o17"), small(15));
        assert_eq!(int_opcode("0b101"), small(5));
        assert_eq!(int_opcode("010"), small(8)); // strtol's octal
        assert_eq!(int_opcode(" 10"), small(10));
        assert_eq!(int_opcode("10 "), small(10));
        assert_eq!(int_opcode("+10"), small(10));
        assert_eq!(int_opcode("-0"), small(0));
        assert_eq!(int_opcode("0x_1f"), small(31));
        assert_eq!(
            int_opcode("123456789012345678901234567890"),
            Some(PyInt::Big("123456789012345678901234567890".into()))
        );
    }

    #[test]
    fn int_opcode_rejects_what_the_loader_rejects() {
        for s in [
            "", " ", "1__0", "_1", "1_", "0x", "0x_", "abc", "1.0", "0b2", "--1", "1 0",
        ] {
            assert_eq!(int_opcode(s), None, "{s:?}");
        }
    }

    #[test]
    fn python_grammar_refuses_leading_zeros_but_strtol_does_not() {
        assert_eq!(python_int("010", 0), None);
        assert_eq!(python_int("000", 0), small(0));
        assert_eq!(python_int("0_0", 0), small(0));
        assert_eq!(python_int("010", 10), small(10));
        assert_eq!(python_int("1_000", 10), small(1000));
        assert_eq!(python_int("0x10", 10), None);
    }
}
