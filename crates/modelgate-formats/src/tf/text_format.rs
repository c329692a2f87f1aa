//! The protobuf text format (`saved_model.pbtxt`, `tf.io.write_graph(..., as_text=True)`),
//! read into a schema-less tree of fields: `name: scalar`, `name { ... }` / `name < ... >`
//! (colon optional), `name: [a, b]` lists, `[type.googleapis.com/...]` extension and `Any`
//! names, `#` comments, adjacent string literals, `,`/`;` separators.
//!
//! Bounded: the input size, the nesting depth (protobuf's own parser stops at 100), the token
//! count and the field count all have limits; a limit hit or a syntax error is a named
//! [`TextError`] with the line and column, and the fields read before it are kept. The tree
//! costs about 60-100 bytes per field (2 million fields by default, a SavedModel whose
//! binary form is over 10 MB; basic-pitch's 1 MB SavedModel is 190 000). String
//! literals are kept as their raw bytes between the quotes and unescaped on demand
//! ([`unescape`]) with a cap, so a large `tensor_content` costs no copy.

/// Budgets for one text parse.
#[derive(Debug, Clone)]
pub struct TextLimits {
    /// Largest input parsed.
    pub max_bytes: usize,
    /// Deepest message nesting.
    pub max_depth: usize,
    /// Most tokens read.
    pub max_tokens: usize,
    /// Most fields kept (all messages together).
    pub max_fields: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        TextLimits {
            max_bytes: 1 << 30,
            max_depth: 100,
            max_tokens: 200_000_000,
            max_fields: 2_000_000,
        }
    }
}

/// Why a text parse stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    #[error("text input of {len} bytes is larger than the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("line {line}, column {col}: expected {expected}, found {found}")]
    Unexpected {
        line: usize,
        col: usize,
        expected: &'static str,
        found: String,
    },
    #[error("line {line}, column {col}: unterminated string literal")]
    UnterminatedString { line: usize, col: usize },
    #[error("line {line}, column {col}: unexpected end of input, expected {expected}")]
    UnexpectedEnd {
        line: usize,
        col: usize,
        expected: &'static str,
    },
    #[error("line {line}, column {col}: messages nested deeper than {max} levels")]
    TooDeep { line: usize, col: usize, max: usize },
    #[error("more than {max} tokens")]
    TooManyTokens { max: usize },
    #[error("more than {max} fields")]
    TooManyFields { max: usize },
}

impl TextError {
    /// Whether this is a limit (budget) rather than damaged input.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            TextError::TooLarge { .. }
                | TextError::TooDeep { .. }
                | TextError::TooManyTokens { .. }
                | TextError::TooManyFields { .. }
        )
    }
}

/// A message: its fields in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message<'a> {
    pub fields: Vec<Field<'a>>,
}

impl<'a> Message<'a> {
    /// Every value of field `name`.
    pub fn all<'m>(&'m self, name: &'m str) -> impl Iterator<Item = &'m Field<'a>> + 'm {
        self.fields.iter().filter(move |f| f.name == name)
    }

    /// The last value of field `name` (the last one wins for singular fields).
    pub fn last(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().rev().find(|f| f.name == name)
    }
}

/// One field: its name (an extension or `Any` type URL without its brackets), its offset in
/// the input and its value. A list (`name: [a, b]`) becomes one field per element.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub offset: usize,
    pub value: Value<'a>,
}

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// One or more adjacent string literals: the raw bytes between each pair of quotes.
    Str(Vec<&'a [u8]>),
    /// An identifier: enum value, `true`/`false`, `inf`, `nan`.
    Ident(&'a str),
    /// A number as written, with a leading `-` when negative.
    Number {
        negative: bool,
        text: &'a str,
    },
    Message(Message<'a>),
}

impl<'a> Value<'a> {
    /// The value as an unsigned integer (decimal, hex or octal; enum values are not numbers).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number {
                negative: false,
                text,
            } => parse_int(text),
            _ => None,
        }
    }

    /// The value as a signed integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number { negative, text } => {
                let v = i64::try_from(parse_int(text)?).ok()?;
                Some(if *negative { v.checked_neg()? } else { v })
            }
            _ => None,
        }
    }

    /// The value as a float (`inf`, `nan` and a trailing `f` accepted).
    pub fn as_f32(&self) -> Option<f32> {
        let (neg, t) = match self {
            Value::Number { negative, text } => (*negative, *text),
            Value::Ident(t) => (false, *t),
            _ => return None,
        };
        let t = t.trim_end_matches(['f', 'F']);
        let v: f32 = match t.to_ascii_lowercase().as_str() {
            "inf" | "infinity" => f32::INFINITY,
            "nan" => f32::NAN,
            other => other
                .parse()
                .ok()
                .or_else(|| parse_int(t).map(|i| i as f32))?,
        };
        Some(if neg { -v } else { v })
    }

    /// The value as a bool (`true`/`false`/`t`/`f`/`1`/`0`).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Ident("true" | "True" | "t") => Some(true),
            Value::Ident("false" | "False" | "f") => Some(false),
            Value::Number {
                negative: false,
                text,
            } => parse_int(text).map(|v| v != 0),
            _ => None,
        }
    }

    /// The nested message, if the value is one.
    pub fn message(&self) -> Option<&Message<'a>> {
        match self {
            Value::Message(m) => Some(m),
            _ => None,
        }
    }
}

fn parse_int(t: &str) -> Option<u64> {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if t.len() > 1 && t.starts_with('0') && t.bytes().all(|b| b.is_ascii_digit()) {
        u64::from_str_radix(t.get(1..)?, 8).ok()
    } else {
        t.parse().ok()
    }
}

/// The bytes of a string value, unescaped (C escapes, octal, `\x`, `\u`, `\U`), cut at
/// `max` bytes; with the full unescaped length.
pub fn unescape(parts: &[&[u8]], max: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut len = 0usize;
    let mut push = |b: u8, out: &mut Vec<u8>| {
        len = len.saturating_add(1);
        if out.len() < max {
            out.push(b);
        }
    };
    for raw in parts {
        let mut i = 0usize;
        while let Some(&c) = raw.get(i) {
            i += 1;
            if c != b'\\' {
                push(c, &mut out);
                continue;
            }
            let Some(&e) = raw.get(i) else { break };
            i += 1;
            match e {
                b'n' => push(b'\n', &mut out),
                b't' => push(b'\t', &mut out),
                b'r' => push(b'\r', &mut out),
                b'a' => push(0x07, &mut out),
                b'b' => push(0x08, &mut out),
                b'f' => push(0x0c, &mut out),
                b'v' => push(0x0b, &mut out),
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match raw.get(i) {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    push((v & 0xff) as u8, &mut out);
                }
                b'x' | b'X' => {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2 {
                        match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                            Some(d) => {
                                v = v * 16 + d;
                                i += 1;
                                n += 1;
                            }
                            None => break,
                        }
                    }
                    push((v & 0xff) as u8, &mut out);
                }
                b'u' | b'U' => {
                    let digits = if e == b'u' { 4 } else { 8 };
                    let hex = raw
                        .get(i..i.saturating_add(digits))
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok());
                    match hex.and_then(char::from_u32) {
                        Some(ch) => {
                            i += digits;
                            let mut buf = [0u8; 4];
                            for b in ch.encode_utf8(&mut buf).bytes() {
                                push(b, &mut out);
                            }
                        }
                        None => push(e, &mut out),
                    }
                }
                other => push(other, &mut out),
            }
        }
    }
    (out, len)
}

/// A parse: the fields read (all of them, or those before the error) and the error.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDoc<'a> {
    pub root: Message<'a>,
    pub error: Option<TextError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Number,
    Str,
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    tokens: usize,
    fields: usize,
    limits: TextLimits,
    peeked: Option<Token>,
}

/// Parse `data` as one text-format message.
pub fn parse<'a>(data: &'a [u8], limits: &TextLimits) -> TextDoc<'a> {
    let mut root = Message::default();
    if data.len() > limits.max_bytes {
        return TextDoc {
            root,
            error: Some(TextError::TooLarge {
                len: data.len(),
                max: limits.max_bytes,
            }),
        };
    }
    let mut p = Parser {
        data,
        pos: 0,
        tokens: 0,
        fields: 0,
        limits: limits.clone(),
        peeked: None,
    };
    let error = p.message(&mut root, None, 0).err();
    TextDoc { root, error }
}

impl<'a> Parser<'a> {
    fn line_col(&self, at: usize) -> (usize, usize) {
        let before = self.data.get(..at).unwrap_or(self.data);
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        (line, col)
    }

    fn text(&self, t: Token) -> &'a str {
        self.data
            .get(t.start..t.end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    fn unexpected(&self, t: Option<Token>, expected: &'static str) -> TextError {
        match t {
            Some(t) => {
                let (line, col) = self.line_col(t.start);
                let found: String = String::from_utf8_lossy(
                    self.data
                        .get(t.start..t.end.min(t.start.saturating_add(32)))
                        .unwrap_or(&[]),
                )
                .into_owned();
                TextError::Unexpected {
                    line,
                    col,
                    expected,
                    found: format!("{found:?}"),
                }
            }
            None => {
                let (line, col) = self.line_col(self.data.len());
                TextError::UnexpectedEnd {
                    line,
                    col,
                    expected,
                }
            }
        }
    }

    fn peek(&mut self) -> Result<Option<Token>, TextError> {
        if self.peeked.is_none() {
            self.peeked = self.lex()?;
        }
        Ok(self.peeked)
    }

    fn next(&mut self) -> Result<Option<Token>, TextError> {
        match self.peeked.take() {
            Some(t) => Ok(Some(t)),
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Result<Option<Token>, TextError> {
        // Whitespace and comments.
        loop {
            match self.data.get(self.pos) {
                Some(c) if c.is_ascii_whitespace() => self.pos += 1,
                Some(b'#') => {
                    while let Some(&c) = self.data.get(self.pos) {
                        self.pos += 1;
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        let Some(&c) = self.data.get(start) else {
            return Ok(None);
        };
        self.tokens = self.tokens.saturating_add(1);
        if self.tokens > self.limits.max_tokens {
            return Err(TextError::TooManyTokens {
                max: self.limits.max_tokens,
            });
        }
        let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
        let kind = if c.is_ascii_alphabetic() || c == b'_' {
            self.pos += 1;
            while self.data.get(self.pos).is_some_and(word) {
                self.pos += 1;
            }
            Tok::Ident
        } else if c.is_ascii_digit()
            || (c == b'.' && self.data.get(start + 1).is_some_and(u8::is_ascii_digit))
        {
            self.pos += 1;
            let hex = c == b'0' && matches!(self.data.get(start + 1), Some(b'x' | b'X'));
            while let Some(&d) = self.data.get(self.pos) {
                let exp_sign = matches!(d, b'+' | b'-')
                    && !hex
                    && matches!(self.data.get(self.pos - 1), Some(b'e' | b'E'));
                if word(&d) || d == b'.' || exp_sign {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            Tok::Number
        } else if c == b'"' || c == b'\'' {
            self.pos += 1;
            loop {
                match self.data.get(self.pos) {
                    Some(&q) if q == c => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => self.pos += 2,
                    Some(b'\n') | None => {
                        let (line, col) = self.line_col(start);
                        return Err(TextError::UnterminatedString { line, col });
                    }
                    Some(_) => self.pos += 1,
                }
            }
            if self.pos > self.data.len() {
                let (line, col) = self.line_col(start);
                return Err(TextError::UnterminatedString { line, col });
            }
            Tok::Str
        } else {
            self.pos += 1;
            Tok::Punct(c)
        };
        Ok(Some(Token {
            kind,
            start,
            end: self.pos,
        }))
    }

    fn push(&mut self, out: &mut Message<'a>, field: Field<'a>) -> Result<(), TextError> {
        self.fields = self.fields.saturating_add(1);
        if self.fields > self.limits.max_fields {
            return Err(TextError::TooManyFields {
                max: self.limits.max_fields,
            });
        }
        out.fields.push(field);
        Ok(())
    }

    /// Fields until `close` (or the end of input for the top-level message).
    fn message(
        &mut self,
        out: &mut Message<'a>,
        close: Option<u8>,
        depth: usize,
    ) -> Result<(), TextError> {
        loop {
            let t = self.next()?;
            let Some(t) = t else {
                return match close {
                    None => Ok(()),
                    Some(_) => Err(self.unexpected(None, "`}` or `>`")),
                };
            };
            let name = match t.kind {
                Tok::Punct(c) if Some(c) == close => return Ok(()),
                Tok::Punct(b',' | b';') => continue,
                Tok::Ident => self.text(t),
                Tok::Punct(b'[') => self.bracket_name(t.start)?,
                _ => return Err(self.unexpected(Some(t), "a field name")),
            };
            self.field_value(out, name, t.start, depth)?;
        }
    }

    /// `[pkg.ext]` or `[type.googleapis.com/pkg.Type]`: the text between the brackets.
    fn bracket_name(&mut self, open: usize) -> Result<&'a str, TextError> {
        loop {
            let t = self.next()?;
            match t {
                Some(Token {
                    kind: Tok::Punct(b']'),
                    start,
                    ..
                }) => {
                    let inner = self
                        .data
                        .get(open + 1..start)
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .unwrap_or("")
                        .trim();
                    return Ok(inner);
                }
                Some(Token {
                    kind: Tok::Ident | Tok::Number | Tok::Punct(b'.' | b'/' | b'-'),
                    ..
                }) => {}
                other => return Err(self.unexpected(other, "an extension or type URL")),
            }
        }
    }

    fn field_value(
        &mut self,
        out: &mut Message<'a>,
        name: &'a str,
        offset: usize,
        depth: usize,
    ) -> Result<(), TextError> {
        let mut t = self.next()?;
        let colon = matches!(
            t,
            Some(Token {
                kind: Tok::Punct(b':'),
                ..
            })
        );
        if colon {
            t = self.next()?;
        }
        match t {
            Some(Token {
                kind: Tok::Punct(open @ (b'{' | b'<')),
                start,
                ..
            }) => self.nested(out, name, offset, open, start, depth),
            Some(Token {
                kind: Tok::Punct(b'['),
                ..
            }) => self.list(out, name, offset, depth),
            Some(t) if colon => {
                let v = self.scalar(t)?;
                self.push(
                    out,
                    Field {
                        name,
                        offset,
                        value: v,
                    },
                )
            }
            other => Err(self.unexpected(other, "`:` or `{`")),
        }
    }

    fn nested(
        &mut self,
        out: &mut Message<'a>,
        name: &'a str,
        offset: usize,
        open: u8,
        at: usize,
        depth: usize,
    ) -> Result<(), TextError> {
        if depth >= self.limits.max_depth {
            let (line, col) = self.line_col(at);
            return Err(TextError::TooDeep {
                line,
                col,
                max: self.limits.max_depth,
            });
        }
        let close = if open == b'{' { b'}' } else { b'>' };
        let mut child = Message::default();
        let r = self.message(&mut child, Some(close), depth + 1);
        // Most messages have a handful of fields: do not keep the growth slack.
        child.fields.shrink_to_fit();
        // The part read before an error is kept.
        self.push(
            out,
            Field {
                name,
                offset,
                value: Value::Message(child),
            },
        )?;
        r
    }

    fn list(
        &mut self,
        out: &mut Message<'a>,
        name: &'a str,
        offset: usize,
        depth: usize,
    ) -> Result<(), TextError> {
        if matches!(
            self.peek()?,
            Some(Token {
                kind: Tok::Punct(b']'),
                ..
            })
        ) {
            self.next()?;
            return Ok(());
        }
        loop {
            match self.next()? {
                Some(Token {
                    kind: Tok::Punct(open @ (b'{' | b'<')),
                    start,
                    ..
                }) => self.nested(out, name, start, open, start, depth)?,
                Some(t) => {
                    let v = self.scalar(t)?;
                    self.push(
                        out,
                        Field {
                            name,
                            offset: t.start.max(offset),
                            value: v,
                        },
                    )?;
                }
                None => return Err(self.unexpected(None, "a list element")),
            }
            match self.next()? {
                Some(Token {
                    kind: Tok::Punct(b','),
                    ..
                }) => {}
                Some(Token {
                    kind: Tok::Punct(b']'),
                    ..
                }) => return Ok(()),
                other => return Err(self.unexpected(other, "`,` or `]`")),
            }
        }
    }

    fn scalar(&mut self, t: Token) -> Result<Value<'a>, TextError> {
        match t.kind {
            Tok::Ident => Ok(Value::Ident(self.text(t))),
            Tok::Number => Ok(Value::Number {
                negative: false,
                text: self.text(t),
            }),
            Tok::Punct(b'-') => match self.next()? {
                Some(
                    n @ Token {
                        kind: Tok::Number | Tok::Ident,
                        ..
                    },
                ) => Ok(Value::Number {
                    negative: true,
                    text: self.text(n),
                }),
                other => Err(self.unexpected(other, "a number after `-`")),
            },
            Tok::Str => {
                let mut parts = vec![self.data.get(t.start + 1..t.end - 1).unwrap_or(&[])];
                while let Some(s @ Token { kind: Tok::Str, .. }) = self.peek()? {
                    self.next()?;
                    parts.push(self.data.get(s.start + 1..s.end - 1).unwrap_or(&[]));
                }
                Ok(Value::Str(parts))
            }
            Tok::Punct(_) => Err(self.unexpected(Some(t), "a value")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(s: &str) -> TextDoc<'_> {
        parse(s.as_bytes(), &TextLimits::default())
    }

    fn str_of(v: &Value) -> Vec<u8> {
        match v {
            Value::Str(p) => unescape(p, usize::MAX).0,
            _ => panic!("{v:?}"),
        }
    }

    #[test]
    fn reads_the_text_format() {
        let d = doc(concat!(
            "# a comment\n",
            "node {\n  name: \"x\" op: 'Const'\n",
            "  attr { key: \"value\" value { tensor { dtype: DT_STRING string_val: \"/etc/\" \"passwd\" } } }\n",
            "  attr: < key: \"i\" value { i: -3 } >;\n",
            "}\n",
            "versions { producer: 0x10 }, [type.googleapis.com/a.B] { f: 1.5e-3 }\n",
            "lst: [1, 2, 3] msgs [{a: 1}, {a: 2}] empty: []\n",
        ));
        assert_eq!(d.error, None);
        let r = &d.root;
        let node = r.last("node").unwrap().value.message().unwrap();
        assert_eq!(str_of(&node.last("op").unwrap().value), b"Const");
        let attrs: Vec<_> = node.all("attr").collect();
        assert_eq!(attrs.len(), 2);
        let tensor = attrs[0]
            .value
            .message()
            .unwrap()
            .last("value")
            .unwrap()
            .value
            .message()
            .unwrap()
            .last("tensor")
            .unwrap()
            .value
            .message()
            .unwrap();
        assert_eq!(
            tensor.last("dtype").unwrap().value,
            Value::Ident("DT_STRING")
        );
        assert_eq!(
            str_of(&tensor.last("string_val").unwrap().value),
            b"/etc/passwd"
        );
        let i = attrs[1].value.message().unwrap().last("value").unwrap();
        let i = i.value.message().unwrap().last("i").unwrap();
        assert_eq!(i.value.as_i64(), Some(-3));
        let v = r.last("versions").unwrap().value.message().unwrap();
        assert_eq!(v.last("producer").unwrap().value.as_u64(), Some(16));
        let any = r.last("type.googleapis.com/a.B").unwrap();
        let f = any.value.message().unwrap().last("f").unwrap();
        assert_eq!(f.value.as_f32(), Some(1.5e-3));
        assert_eq!(r.all("lst").count(), 3);
        assert_eq!(r.all("msgs").count(), 2);
        assert_eq!(r.all("empty").count(), 0);
        assert_eq!(r.fields[0].offset, 12, "offset of `node`");
    }

    #[test]
    fn escapes() {
        let raw: &[&[u8]] = &[br#"a\n\t\\\'\"\101\x41\u00e9\U0001F600\q"#, b"z"];
        let (s, n) = unescape(raw, usize::MAX);
        assert_eq!(s, "a\n\t\\'\"AA\u{e9}\u{1F600}qz".as_bytes());
        assert_eq!(n, s.len());
        let (cut, n) = unescape(raw, 3);
        assert_eq!(cut.len(), 3);
        assert_eq!(n, s.len());
    }

    #[test]
    fn errors_are_named_and_keep_what_was_read() {
        let d = doc("node { name: \"a\" }\nnode { name: \"b\" op: ");
        assert!(
            matches!(d.error, Some(TextError::UnexpectedEnd { line: 2, .. })),
            "{:?}",
            d.error
        );
        assert_eq!(d.root.all("node").count(), 2, "the cut node is kept");
        assert!(!d.error.unwrap().is_limit(), "damage, not a budget");
        assert!(matches!(
            doc("a: \"open\nb: 1").error,
            Some(TextError::UnterminatedString { line: 1, col: 4 })
        ));
        assert!(matches!(
            doc("a { b: 1 ").error,
            Some(TextError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            doc("a: }").error,
            Some(TextError::Unexpected { .. })
        ));
        assert!(matches!(
            doc("a b").error,
            Some(TextError::Unexpected { .. })
        ));
        assert!(matches!(doc("{").error, Some(TextError::Unexpected { .. })));
        assert!(matches!(
            doc("a: \"x\\").error,
            Some(TextError::UnterminatedString { .. })
        ));
    }

    #[test]
    fn limits_are_named_errors() {
        let deep = "a { ".repeat(100_000);
        let d = doc(&deep);
        assert!(
            matches!(d.error, Some(TextError::TooDeep { max: 100, .. })),
            "{:?}",
            d.error
        );
        let small = TextLimits {
            max_tokens: 10,
            ..TextLimits::default()
        };
        let e = parse(b"a: 1 b: 2 c: 3 d: 4 e: 5", &small).error;
        assert_eq!(e, Some(TextError::TooManyTokens { max: 10 }));
        let few = TextLimits {
            max_fields: 2,
            ..TextLimits::default()
        };
        let d = parse(b"a: 1 b: 2 c: 3", &few);
        assert_eq!(d.error, Some(TextError::TooManyFields { max: 2 }));
        assert!(d.error.unwrap().is_limit());
        assert_eq!(d.root.fields.len(), 2);
        let tiny = TextLimits {
            max_bytes: 4,
            ..TextLimits::default()
        };
        assert!(matches!(
            parse(b"a: 12345", &tiny).error,
            Some(TextError::TooLarge { len: 8, max: 4 })
        ));
    }
}
