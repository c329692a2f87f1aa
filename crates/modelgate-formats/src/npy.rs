//! NumPy `.npy` headers: magic, version, and the Python-literal dictionary with `descr`,
//! `fortran_order` and `shape`. The literal is parsed (strings, booleans, integers, tuples,
//! lists, dictionaries), never evaluated.

/// Largest header accepted (NumPy itself refuses headers above 10 000 bytes by default).
pub const MAX_HEADER: usize = 1 << 20;
/// Deepest literal nesting accepted.
const MAX_DEPTH: usize = 16;

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The format version (1, 2 or 3).
    pub version: u8,
    /// `descr`: a type string (`'<f4'`), or the source text of a structured description.
    pub descr: Descr,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Offset of the array data.
    pub data_offset: usize,
}

/// The `descr` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descr {
    /// A simple type string such as `<f4`, `|b1`, `>i8`, `|O`.
    Simple(String),
    /// A structured (record) description: a list of fields.
    Structured {
        /// Some field (at any nesting depth) holds Python objects.
        has_object: bool,
    },
}

impl Descr {
    /// Whether the array holds Python objects (loading it unpickles them).
    pub fn is_object(&self) -> bool {
        match self {
            Descr::Simple(s) => is_object_type(s),
            Descr::Structured { has_object } => *has_object,
        }
    }
}

impl std::fmt::Display for Descr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Descr::Simple(s) => write!(f, "'{s}'"),
            Descr::Structured { has_object: true } => f.write_str("structured, with object fields"),
            Descr::Structured { has_object: false } => f.write_str("structured"),
        }
    }
}

/// `O`, `|O`, `<O8`...: an object type string.
fn is_object_type(s: &str) -> bool {
    s.trim_start_matches(['<', '>', '|', '=']).starts_with('O')
}

/// Whether any field of a structured description holds objects. A field is
/// `(name, type[, shape])` where the type is a type string or a nested field list.
fn fields_have_object(fields: &[Lit], depth: usize) -> bool {
    depth <= MAX_DEPTH
        && fields.iter().any(|f| match f {
            Lit::Seq(parts) => match parts.get(1) {
                Some(Lit::Str(t)) => is_object_type(t),
                Some(Lit::Seq(sub)) => fields_have_object(sub, depth + 1),
                _ => false,
            },
            _ => false,
        })
}

/// A Python literal as it appears in a header.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Bool(bool),
    Int(u64),
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
    None,
}

/// Parse the header at the start of `data`.
pub fn parse(data: &[u8]) -> Result<NpyHeader, String> {
    if !data.starts_with(b"\x93NUMPY") {
        return Err("no \\x93NUMPY magic".into());
    }
    let version = *data.get(6).ok_or("truncated header")?;
    let (len, start) = match version {
        1 => {
            let b = data.get(8..10).ok_or("truncated header")?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10usize)
        }
        2 | 3 => {
            let b = data.get(8..12).ok_or("truncated header")?;
            let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (usize::try_from(n).map_err(|_| "header length")?, 12usize)
        }
        v => return Err(format!("unsupported format version {v}")),
    };
    if len > MAX_HEADER {
        return Err(format!("header of {len} bytes is larger than {MAX_HEADER}"));
    }
    let end = start.checked_add(len).ok_or("header length overflows")?;
    let text = data
        .get(start..end)
        .ok_or("header runs past the end of the file")?;
    let text = if version == 3 {
        std::str::from_utf8(text).map_err(|_| "header is not UTF-8")?
    } else {
        std::str::from_utf8(text)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or("header is not ASCII")?
    };
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let lit = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err("trailing text after the header dictionary".into());
    }
    let Lit::Dict(kv) = lit else {
        return Err("header is not a dictionary".into());
    };
    let get = |k: &str| {
        kv.iter()
            .find(|(key, _)| *key == Lit::Str(k.to_string()))
            .map(|(_, v)| v)
    };
    if kv.len() != 3 {
        return Err(format!("header has {} keys, expected 3", kv.len()));
    }
    let descr = match get("descr").ok_or("header has no 'descr'")? {
        Lit::Str(s) => Descr::Simple(s.clone()),
        Lit::Seq(fields) => Descr::Structured {
            has_object: fields_have_object(fields, 0),
        },
        _ => return Err("'descr' is neither a string nor a list".into()),
    };
    let fortran_order = match get("fortran_order").ok_or("header has no 'fortran_order'")? {
        Lit::Bool(b) => *b,
        _ => return Err("'fortran_order' is not a boolean".into()),
    };
    let shape = match get("shape").ok_or("header has no 'shape'")? {
        Lit::Seq(items) => items
            .iter()
            .map(|d| match d {
                Lit::Int(n) => Ok(*n),
                _ => Err("'shape' holds a non-integer".to_string()),
            })
            .collect::<Result<Vec<u64>, String>>()?,
        _ => return Err("'shape' is not a tuple".into()),
    };
    Ok(NpyHeader {
        version,
        descr,
        fortran_order,
        shape,
        data_offset: end,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("header nests too deeply".into());
        }
        match self.peek().ok_or("header ends early")? {
            b'{' => {
                self.i += 1;
                let mut kv = Vec::new();
                while !self.eat(b'}') {
                    let k = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err("expected ':' in the header dictionary".into());
                    }
                    let v = self.value(depth + 1)?;
                    kv.push((k, v));
                    if !self.eat(b',') {
                        if !self.eat(b'}') {
                            return Err("expected ',' or '}' in the header dictionary".into());
                        }
                        break;
                    }
                }
                Ok(Lit::Dict(kv))
            }
            open @ (b'(' | b'[') => {
                self.i += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') {
                        if !self.eat(close) {
                            return Err("unterminated tuple or list in the header".into());
                        }
                        break;
                    }
                }
                Ok(Lit::Seq(items))
            }
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let from = self.i;
                while let Some(c) = self.s.get(self.i) {
                    if *c == b'\\' {
                        return Err("escapes in header strings are not supported".into());
                    }
                    if *c == q {
                        let text = self.s.get(from..self.i).unwrap_or(&[]);
                        self.i += 1;
                        return Ok(Lit::Str(String::from_utf8_lossy(text).into_owned()));
                    }
                    self.i += 1;
                }
                Err("unterminated string in the header".into())
            }
            b'0'..=b'9' => {
                let mut n: u64 = 0;
                while let Some(c @ b'0'..=b'9') = self.s.get(self.i).copied() {
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(c - b'0')))
                        .ok_or("integer in the header overflows")?;
                    self.i += 1;
                }
                // Python 2 headers may write long integers as `3L`.
                if self.s.get(self.i) == Some(&b'L') {
                    self.i += 1;
                }
                Ok(Lit::Int(n))
            }
            _ => {
                for (word, lit) in [
                    ("True", Lit::Bool(true)),
                    ("False", Lit::Bool(false)),
                    ("None", Lit::None),
                ] {
                    if self
                        .s
                        .get(self.i..)
                        .is_some_and(|r| r.starts_with(word.as_bytes()))
                    {
                        self.i += word.len();
                        return Ok(lit);
                    }
                }
                Err(format!("unexpected text in the header at byte {}", self.i))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str) -> Vec<u8> {
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((header.len() as u16).to_le_bytes());
        v.extend(header.as_bytes());
        v
    }

    #[test]
    fn parses_numpy_headers() {
        let h = parse(&npy(
            "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }   \n",
        ))
        .unwrap();
        assert_eq!(h.descr, Descr::Simple(">i4".into()));
        assert!(h.fortran_order);
        assert_eq!(h.shape, [2, 3]);
        let h = parse(&npy(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }",
        ))
        .unwrap();
        assert_eq!(h.descr, Descr::Structured { has_object: false });
        assert!(h.shape.is_empty());
        assert!(
            parse(&npy(
                "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
            ))
            .unwrap()
            .descr
            .is_object()
        );
    }

    #[test]
    fn object_fields_of_structured_types() {
        let descr = |d: &str| {
            parse(&npy(&format!(
                "{{'descr': {d}, 'fortran_order': False, 'shape': (1,), }}"
            )))
            .unwrap()
            .descr
        };
        // A field named like an object type is not one; its type decides.
        assert!(!descr("[('Obj', '<f8'), ('b', '<i4')]").is_object());
        assert!(descr("[('a', '<f8'), ('b', '|O')]").is_object());
        assert!(descr("[('a', [('x', '<f4'), ('y', '|O')])]").is_object());
        assert!(descr("[('a', '<O8', (2,))]").is_object());
        assert!(!descr("[('a', [('x', '<f4')], (3,))]").is_object());
        assert_eq!(descr("'|O'").to_string(), "'|O'");
    }

    #[test]
    fn rejects_damage_without_panicking() {
        for bad in [
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            "{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }",
            "{'descr': '<f4'",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",
        ] {
            assert!(parse(&npy(bad)).is_err(), "{bad}");
        }
        for cut in 0..20 {
            let d = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
            let _ = parse(&d[..cut.min(d.len())]);
        }
    }
}
