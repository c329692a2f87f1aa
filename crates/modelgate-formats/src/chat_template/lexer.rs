//! Template text to tokens. Data text, `{{ }}`, `{% %}` and `{# #}` with whitespace control
//! (`-`/`+`), and `{% raw %}` blocks, which become text. Inside a tag the closing delimiter
//! only counts outside brackets (`{{ {'a': {'b': 1}} }}`), as in Jinja2.

use super::{ErrorKind, ParseError};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Template text (raw block content included).
    Text(String),
    VarBegin,
    VarEnd,
    BlockBegin,
    BlockEnd,
    Name(String),
    Str(String),
    Int(Option<i64>),
    Float(f64),
    /// Punctuation and operators: `+ - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }`.
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub offset: usize,
}

const OPS2: &[&str] = &["//", "**", "==", "!=", ">=", "<="];
const OPS1: &[&str] = &[
    "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",",
    ";",
];

/// Tokenize a whole template. At most `max_tokens` tokens.
pub fn tokenize(text: &str, max_tokens: usize) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        text,
        b: text.as_bytes(),
        pos: 0,
        out: Vec::new(),
        max_tokens,
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
    max_tokens: usize,
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

impl<'a> Lexer<'a> {
    fn err(&self, kind: ErrorKind, offset: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.text, kind, offset, msg)
    }

    fn push(&mut self, tok: Tok, offset: usize) -> Result<(), ParseError> {
        if self.out.len() >= self.max_tokens {
            return Err(self.err(
                ErrorKind::TooManyNodes,
                offset,
                format!("more than {} tokens", self.max_tokens),
            ));
        }
        self.out.push(Token { tok, offset });
        Ok(())
    }

    fn text(&mut self, from: usize, to: usize) -> Result<(), ParseError> {
        if to > from {
            let s = self.text.get(from..to).unwrap_or("").to_string();
            self.push(Tok::Text(s), from)?;
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            let next = self.b.get(self.pos..).and_then(|s| {
                s.windows(2)
                    .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
            });
            let Some(rel) = next else {
                self.text(self.pos, self.b.len())?;
                self.push(Tok::Eof, self.b.len())?;
                return Ok(());
            };
            let start = self.pos + rel;
            self.text(self.pos, start)?;
            match self.b.get(start + 1) {
                Some(b'#') => {
                    // Jinja2 drops a comment opener that ends the template.
                    if self.skip_ws_control(start + 2) >= self.b.len() {
                        self.push(Tok::Eof, self.b.len())?;
                        return Ok(());
                    }
                    let end = find(self.b, start + 2, b"#}").ok_or_else(|| {
                        self.err(ErrorKind::Unterminated, start, "comment is never closed")
                    })?;
                    self.pos = end + 2;
                }
                Some(b'%') => {
                    if let Some(after) = self.raw_open(start) {
                        self.raw_block(start, after)?;
                    } else {
                        self.push(Tok::BlockBegin, start)?;
                        self.pos = self.skip_ws_control(start + 2);
                        self.code(start, b"%}")?;
                        self.push(Tok::BlockEnd, self.pos.saturating_sub(2))?;
                    }
                }
                _ => {
                    self.push(Tok::VarBegin, start)?;
                    self.pos = self.skip_ws_control(start + 2);
                    self.code(start, b"}}")?;
                    self.push(Tok::VarEnd, self.pos.saturating_sub(2))?;
                }
            }
        }
    }

    fn skip_ws_control(&self, p: usize) -> usize {
        if matches!(self.b.get(p), Some(b'-' | b'+')) {
            p + 1
        } else {
            p
        }
    }

    fn skip_ws(&self, mut p: usize) -> usize {
        while self.b.get(p).is_some_and(u8::is_ascii_whitespace) {
            p += 1;
        }
        p
    }

    /// If a `{% raw %}` tag starts at `start`, the offset after it.
    fn raw_open(&self, start: usize) -> Option<usize> {
        self.tag_named(start, b"raw")
    }

    /// `{%[-+]? <word> [-+]?%}` at `start`: the offset after the tag.
    fn tag_named(&self, start: usize, word: &[u8]) -> Option<usize> {
        if self.b.get(start..start + 2) != Some(b"{%") {
            return None;
        }
        let mut p = self.skip_ws(self.skip_ws_control(start + 2));
        if self.b.get(p..p + word.len()) != Some(word) {
            return None;
        }
        p += word.len();
        if self
            .b
            .get(p)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            return None;
        }
        p = self.skip_ws(p);
        if matches!(self.b.get(p), Some(b'-' | b'+')) {
            p += 1;
        }
        (self.b.get(p..p + 2) == Some(b"%}")).then_some(p + 2)
    }

    fn raw_block(&mut self, start: usize, after: usize) -> Result<(), ParseError> {
        let mut p = after;
        while let Some(tag) = find(self.b, p, b"{%") {
            if let Some(end) = self.tag_named(tag, b"endraw") {
                self.text(after, tag)?;
                self.pos = end;
                return Ok(());
            }
            p = tag + 2;
        }
        Err(self.err(
            ErrorKind::Unterminated,
            start,
            "raw block is never closed (missing endraw)",
        ))
    }

    /// Tokens of a tag's code up to its closing delimiter `close` (`}}` or `%}`), which may be
    /// preceded by `-` or `+`. Leaves `pos` after the delimiter.
    fn code(&mut self, tag_start: usize, close: &[u8; 2]) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            self.pos = self.skip_ws(self.pos);
            let p = self.pos;
            let Some(&c) = self.b.get(p) else {
                let want = String::from_utf8_lossy(close).into_owned();
                return Err(self.err(
                    ErrorKind::Unterminated,
                    tag_start,
                    format!("tag is never closed (expected {want:?})"),
                ));
            };
            if depth == 0 {
                if self.b.get(p..p + 2) == Some(close.as_slice()) {
                    self.pos = p + 2;
                    return Ok(());
                }
                if matches!(c, b'-' | b'+') && self.b.get(p + 1..p + 3) == Some(close.as_slice()) {
                    self.pos = p + 3;
                    return Ok(());
                }
            }
            if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
                self.name(p)?;
            } else if c.is_ascii_digit() {
                self.number(p)?;
            } else if c == b'\'' || c == b'"' {
                self.string(p)?;
            } else {
                let op = OPS2
                    .iter()
                    .find(|o| self.b.get(p..p + 2) == Some(o.as_bytes()))
                    .or_else(|| {
                        OPS1.iter()
                            .find(|o| self.b.get(p..p + 1) == Some(o.as_bytes()))
                    })
                    .copied()
                    .ok_or_else(|| {
                        self.err(
                            ErrorKind::Syntax,
                            p,
                            format!("unexpected character {:?}", char::from(c)),
                        )
                    })?;
                match op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                self.push(Tok::Op(op), p)?;
                self.pos = p + op.len();
            }
        }
    }

    fn name(&mut self, p: usize) -> Result<(), ParseError> {
        let rest = self.text.get(p..).unwrap_or("");
        let mut end = p;
        for (i, ch) in rest.char_indices() {
            let ok = if i == 0 {
                ch.is_alphabetic() || ch == '_'
            } else {
                ch.is_alphanumeric() || ch == '_'
            };
            if !ok {
                break;
            }
            end = p + i + ch.len_utf8();
        }
        if end == p {
            let ch = rest.chars().next().unwrap_or('\u{fffd}');
            return Err(self.err(ErrorKind::Syntax, p, format!("unexpected character {ch:?}")));
        }
        let s = self.text.get(p..end).unwrap_or("").to_string();
        self.push(Tok::Name(s), p)?;
        self.pos = end;
        Ok(())
    }

    fn number(&mut self, p: usize) -> Result<(), ParseError> {
        let digits_at = |mut q: usize, radix: u32| {
            while self
                .b
                .get(q)
                .is_some_and(|c| *c == b'_' || char::from(*c).is_digit(radix))
            {
                q += 1;
            }
            q
        };
        let clean = |s: &str| s.chars().filter(|c| *c != '_').collect::<String>();
        // Prefixed integers.
        let prefix = self.b.get(p + 1).map(u8::to_ascii_lowercase);
        if self.b.get(p) == Some(&b'0') && matches!(prefix, Some(b'b' | b'o' | b'x')) {
            let radix = match prefix {
                Some(b'b') => 2,
                Some(b'o') => 8,
                _ => 16,
            };
            let end = digits_at(p + 2, radix);
            let digits = clean(self.text.get(p + 2..end).unwrap_or(""));
            if digits.is_empty() {
                return Err(self.err(ErrorKind::Syntax, p, "integer literal without digits"));
            }
            self.push(Tok::Int(i64::from_str_radix(&digits, radix).ok()), p)?;
            self.pos = end;
            return Ok(());
        }
        let mut end = digits_at(p, 10);
        let mut float = false;
        // `x.0.1` is two attribute lookups, not a float: no fraction after a `.`.
        let after_dot = p > 0 && self.b.get(p - 1) == Some(&b'.');
        if !after_dot
            && self.b.get(end) == Some(&b'.')
            && self.b.get(end + 1).is_some_and(u8::is_ascii_digit)
        {
            end = digits_at(end + 1, 10);
            float = true;
        }
        if !after_dot && matches!(self.b.get(end), Some(b'e' | b'E')) {
            let mut q = end + 1;
            if matches!(self.b.get(q), Some(b'+' | b'-')) {
                q += 1;
            }
            if self.b.get(q).is_some_and(u8::is_ascii_digit) {
                end = digits_at(q, 10);
                float = true;
            }
        }
        let s = clean(self.text.get(p..end).unwrap_or(""));
        let tok = if float {
            Tok::Float(s.parse().unwrap_or(f64::NAN))
        } else {
            Tok::Int(s.parse().ok())
        };
        self.push(tok, p)?;
        self.pos = end;
        Ok(())
    }

    fn string(&mut self, p: usize) -> Result<(), ParseError> {
        let rest = self.text.get(p..).unwrap_or("");
        let mut chars = rest.char_indices().peekable();
        let quote = chars.next().map_or('"', |(_, c)| c);
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.push(Tok::Str(out), p)?;
                self.pos = p + i + 1;
                return Ok(());
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((j, e)) = chars.next() else { break };
            let mut hex = |n: usize| -> Option<char> {
                let mut v = 0u32;
                for _ in 0..n {
                    let d = chars.peek().and_then(|(_, c)| c.to_digit(16))?;
                    v = v * 16 + d;
                    chars.next();
                }
                char::from_u32(v)
            };
            let bad = |s: &Self| {
                s.err(
                    ErrorKind::Syntax,
                    p + j,
                    "invalid escape sequence in string literal",
                )
            };
            match e {
                'x' => out.push(hex(2).ok_or_else(|| bad(self))?),
                'u' => out.push(hex(4).ok_or_else(|| bad(self))?),
                'U' => out.push(hex(8).ok_or_else(|| bad(self))?),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' | '\'' | '"' => out.push(e),
                '\n' => {}
                '0'..='7' => {
                    let mut v = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|(_, c)| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                'N' => {
                    if chars.peek().map(|(_, c)| *c) != Some('{') {
                        return Err(bad(self));
                    }
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, c)) if name.len() < 128 => name.push(c),
                            _ => return Err(bad(self)),
                        }
                    }
                    out.push(char_by_name(&name));
                }
                // Python keeps unknown escapes as written.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        Err(self.err(ErrorKind::Unterminated, p, "string literal is never closed"))
    }
}

/// `\N{...}` for the names that spell identifiers; anything else is U+FFFD.
fn char_by_name(name: &str) -> char {
    let n = name.trim().to_ascii_uppercase();
    let simple = match n.as_str() {
        "LOW LINE" => Some('_'),
        "FULL STOP" => Some('.'),
        "SPACE" => Some(' '),
        "APOSTROPHE" => Some('\''),
        "QUOTATION MARK" => Some('"'),
        "LEFT SQUARE BRACKET" => Some('['),
        "RIGHT SQUARE BRACKET" => Some(']'),
        "LEFT PARENTHESIS" => Some('('),
        "RIGHT PARENTHESIS" => Some(')'),
        "SOLIDUS" => Some('/'),
        "REVERSE SOLIDUS" => Some('\\'),
        _ => None,
    };
    if let Some(c) = simple {
        return c;
    }
    let letter = |prefix: &str| {
        n.strip_prefix(prefix)
            .filter(|r| r.len() == 1)
            .and_then(|r| r.chars().next())
            .filter(char::is_ascii_alphabetic)
    };
    if let Some(c) = letter("LATIN SMALL LETTER ") {
        return c.to_ascii_lowercase();
    }
    if let Some(c) = letter("LATIN CAPITAL LETTER ") {
        return c;
    }
    const DIGITS: [&str; 10] = [
        "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
    ];
    if let Some(d) = n.strip_prefix("DIGIT ")
        && let Some(i) = DIGITS.iter().position(|x| *x == d)
    {
        return char::from(b'0' + i as u8);
    }
    '\u{fffd}'
}
