//! The token-level escape scan that predates the parser, kept as the fallback for templates
//! the parser rejects: the code regions (`{{ ... }}`, `{% ... %}`; comments and `{% raw %}`
//! blocks skipped) are tokenized and the token stream is matched against known escape shapes.
//! Output text is never inspected.

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HitKind {
    /// A double-underscore name: attribute, identifier or string (pieces) of one.
    Dunder,
    /// Attribute access on a Jinja gadget global, or `attr` with a computed name.
    Gadget,
    /// A name of process/import machinery (`os`, `subprocess`, `popen`, ...).
    Process,
}

/// How the token was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    Attribute,
    Identifier,
    String,
}

impl Usage {
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Attribute => "attribute",
            Usage::Identifier => "identifier",
            Usage::String => "string",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: HitKind,
    pub token: String,
    pub usage: Usage,
    /// Byte offset in the template text.
    pub offset: usize,
}

/// Jinja (and transformers) globals that are Python callables or objects: from them a
/// template reaches `__globals__` and the interpreter.
pub const GADGETS: &[&str] = &[
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "range",
    "dict",
    "self",
    "config",
    "request",
    "url_for",
    "get_flashed_messages",
    "raise_exception",
    "strftime_now",
];

/// Modules and functions that run commands or import code.
pub const PROCESS: &[&str] = &[
    "os",
    "subprocess",
    "popen",
    "builtins",
    "importlib",
    "import_module",
    "eval",
    "exec",
    "compile",
    "check_output",
    "getoutput",
    "posix",
    "pty",
    "socket",
    "spawnl",
    "execve",
    "sys",
    "__import__",
];

/// Attribute names that only make sense on process objects (`os.system`, `p.popen`).
pub const PROCESS_ATTRS: &[&str] = &[
    "system",
    "popen",
    "check_output",
    "getoutput",
    "spawn",
    "spawnv",
    "fork",
    "execv",
    "execl",
    "Popen",
    "load_module",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    offset: usize,
}

/// Scan a template; hits come in text order.
pub fn scan(template: &str) -> Vec<Hit> {
    let b = template.as_bytes();
    let mut hits = Vec::new();
    let mut i = 0usize;
    while let Some(rel) = b.get(i..).and_then(|s| {
        s.windows(2)
            .position(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
    }) {
        let start = i + rel;
        let kind = b.get(start + 1).copied().unwrap_or(b'{');
        if kind == b'#' {
            i = find(b, start + 2, b"#}").map_or(b.len(), |e| e + 2);
            continue;
        }
        let close = if kind == b'{' { b'}' } else { b'%' };
        let (tokens, end) = tokenize(template, start + 2, close);
        if kind == b'%'
            && matches!(tokens.iter().find(|t| !matches!(t.tok, Tok::Punct('-' | '+'))), Some(Token { tok: Tok::Ident(s), .. }) if s == "raw")
        {
            // Skip to the end of the raw block.
            i = find(b, end, b"endraw").map_or(b.len(), |e| e + 6);
            continue;
        }
        analyze(&tokens, &mut hits);
        i = end.max(start + 2);
    }
    hits
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Tokenize code from `pos` until the block's closing delimiter; returns the tokens and the
/// offset just after the delimiter (or the end of the text).
fn tokenize(text: &str, mut pos: usize, close: u8) -> (Vec<Token>, usize) {
    let b = text.as_bytes();
    let mut out = Vec::new();
    while let Some(&c) = b.get(pos) {
        if c == close && b.get(pos + 1) == Some(&b'}') {
            return (out, pos + 2);
        }
        if c.is_ascii_whitespace() {
            pos += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = pos;
            while b
                .get(pos)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                pos += 1;
            }
            out.push(Token {
                tok: Tok::Ident(text.get(s..pos).unwrap_or("").to_string()),
                offset: s,
            });
        } else if c == b'\'' || c == b'"' {
            let (s, end) = string_literal(text, pos);
            out.push(Token {
                tok: Tok::Str(s),
                offset: pos,
            });
            pos = end;
        } else if c.is_ascii_digit() {
            while b
                .get(pos)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
            {
                pos += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                offset: pos,
            });
        } else if c.is_ascii() {
            out.push(Token {
                tok: Tok::Punct(char::from(c)),
                offset: pos,
            });
            pos += 1;
        } else {
            // Skip a whole non-ASCII character.
            let w = text
                .get(pos..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            out.push(Token {
                tok: Tok::Other,
                offset: pos,
            });
            pos += w;
        }
    }
    (out, b.len())
}

/// Decode a quoted string literal starting at `pos`; returns its value and the offset after it.
fn string_literal(text: &str, pos: usize) -> (String, usize) {
    let Some(rest) = text.get(pos..) else {
        return (String::new(), text.len());
    };
    let mut chars = rest.char_indices();
    let quote = chars.next().map_or('"', |(_, c)| c);
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return (out, pos + i + c.len_utf8());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let hex = |n: usize, chars: &mut std::str::CharIndices| {
            let mut v = 0u32;
            for _ in 0..n {
                match chars.clone().next().and_then(|(_, c)| c.to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        chars.next();
                    }
                    None => break,
                }
            }
            char::from_u32(v).unwrap_or('\u{fffd}')
        };
        match e {
            'x' => out.push(hex(2, &mut chars)),
            'u' => out.push(hex(4, &mut chars)),
            'U' => out.push(hex(8, &mut chars)),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.clone().next().and_then(|(_, c)| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    (out, text.len())
}

fn is_dunder(s: &str) -> bool {
    s.len() > 4 && s.starts_with("__") && s.ends_with("__")
}

/// A string that is a dunder name or a piece of one (`'__cla'`, `'ss__'`). Python's special
/// attributes are lower-case; upper-case sentinels such as `"__NOT_A_NUMBER__"` are data.
fn dunder_piece(s: &str) -> bool {
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    is_dunder(s)
        || ((s.starts_with("__") || s.ends_with("__"))
            && s.chars().any(|c| c.is_ascii_alphabetic())
            && !s.contains(char::is_whitespace))
}

fn analyze(tokens: &[Token], hits: &mut Vec<Hit>) {
    for (i, t) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| tokens.get(p)).map(|t| &t.tok);
        let next = tokens.get(i + 1).map(|t| &t.tok);
        let after_dot = prev == Some(&Tok::Punct('.'));
        let mut hit = |kind, token: &str, usage| {
            hits.push(Hit {
                kind,
                token: token.to_string(),
                usage,
                offset: t.offset,
            });
        };
        match &t.tok {
            Tok::Ident(s) => {
                let usage = if after_dot {
                    Usage::Attribute
                } else {
                    Usage::Identifier
                };
                if is_dunder(s) {
                    hit(HitKind::Dunder, s, usage);
                }
                if !after_dot
                    && GADGETS.contains(&s.as_str())
                    && matches!(next, Some(Tok::Punct('.' | '[')))
                {
                    hit(HitKind::Gadget, s, Usage::Identifier);
                }
                if (!after_dot && PROCESS.contains(&s.as_str()))
                    || (after_dot
                        && (PROCESS.contains(&s.as_str()) || PROCESS_ATTRS.contains(&s.as_str())))
                {
                    hit(HitKind::Process, s, usage);
                }
                // `|attr(<not a plain string>)`: a computed attribute name.
                if s == "attr" && prev == Some(&Tok::Punct('|')) && next == Some(&Tok::Punct('(')) {
                    let arg = tokens.get(i + 2).map(|t| &t.tok);
                    let after = tokens.get(i + 3).map(|t| &t.tok);
                    if !(matches!(arg, Some(Tok::Str(_))) && after == Some(&Tok::Punct(')'))) {
                        hit(HitKind::Gadget, "attr(<computed>)", Usage::Identifier);
                    }
                }
            }
            Tok::Str(s) => {
                if dunder_piece(s) {
                    hit(HitKind::Dunder, s, Usage::String);
                }
                if PROCESS.contains(&s.as_str())
                    || PROCESS_ATTRS.iter().any(|p| *p == s && *p != "system")
                {
                    hit(HitKind::Process, s, Usage::String);
                }
            }
            Tok::Punct(_) | Tok::Other => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<(HitKind, String)> {
        scan(t).into_iter().map(|h| (h.kind, h.token)).collect()
    }

    #[test]
    fn real_templates_are_clean() {
        let qwen = "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}{%- endif %}\
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}\
{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}\
{%- if ns.multi_step_tool and message.role == \"user\" %}{%- set ns.multi_step_tool = false %}{%- endif %}{%- endfor %}\
{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}\
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
        assert!(scan(qwen).is_empty(), "{:?}", scan(qwen));
        let llama = "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}\
{%- else %}{%- set system_message = \"\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\
{%- if strftime_now is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- endif %}{{ raise_exception('Only user and assistant roles are supported!') }}";
        assert!(scan(llama).is_empty(), "{:?}", scan(llama));
    }

    #[test]
    fn upper_case_sentinels_are_data() {
        assert!(!dunder_piece("__NOT_A_NUMBER__"));
        assert!(dunder_piece("__class__"));
        assert!(dunder_piece("__cla"));
    }

    #[test]
    fn dunder_walks() {
        let k = kinds("{{ ''.__class__.__mro__[1].__subclasses__() }}");
        assert_eq!(k.iter().filter(|(k, _)| *k == HitKind::Dunder).count(), 3);
        let k = kinds("{{ x['__glo' ~ 'bals__'] }}");
        assert!(
            k.contains(&(HitKind::Dunder, "__glo".into()))
                && k.contains(&(HitKind::Dunder, "bals__".into()))
        );
        let k = kinds("{{ x|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}");
        assert_eq!(k, vec![(HitKind::Dunder, "__globals__".into())]);
    }

    #[test]
    fn gadgets_and_process() {
        let h = scan("{{ cycler.__init__.__globals__.os.popen('id').read() }}");
        let k: Vec<_> = h
            .iter()
            .map(|h| (h.kind, h.token.as_str(), h.usage))
            .collect();
        assert!(k.contains(&(HitKind::Gadget, "cycler", Usage::Identifier)));
        assert!(k.contains(&(HitKind::Dunder, "__globals__", Usage::Attribute)));
        assert!(k.contains(&(HitKind::Process, "os", Usage::Attribute)));
        assert!(k.contains(&(HitKind::Process, "popen", Usage::Attribute)));
        assert_eq!(h.first().map(|h| h.offset), Some(3));
        assert!(kinds("{% set ns = namespace(a=1) %}{{ ns.a }}").is_empty());
        assert!(kinds("{{ joiner['x'] }}").contains(&(HitKind::Gadget, "joiner".into())));
        assert!(
            kinds("{{ x|attr(name) }}").contains(&(HitKind::Gadget, "attr(<computed>)".into()))
        );
        assert!(kinds("{{ x|attr('popen') }}").contains(&(HitKind::Process, "popen".into())));
        assert!(
            kinds("{{ lipsum.__globals__['os'].system('id') }}")
                .contains(&(HitKind::Process, "system".into()))
        );
    }

    #[test]
    fn text_comments_and_raw_are_ignored() {
        assert!(scan("import os; __class__ {# {{ __globals__ }} #} popen").is_empty());
        assert!(scan("{% raw %}{{ ''.__class__ }}{% endraw %}ok").is_empty());
        assert!(!scan("{%- raw -%}x{%- endraw -%}{{ a.__dict__ }}").is_empty());
        // A closing delimiter inside a string does not end the block.
        assert_eq!(
            kinds("{{ '}}' ~ x.__class__ }}"),
            vec![(HitKind::Dunder, "__class__".into())]
        );
    }

    #[test]
    fn garbage_never_panics() {
        let pieces = [
            "{{", "}}", "{%", "%}", "{#", "#}", "'", "\"", "\\x", "\\u12", "\\", "é", "__", "os",
            ".", "|attr(", "raw", "endraw", " ", "7",
        ];
        let mut seed = 0x1234_5678_9abc_def1u64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut s = String::new();
            for k in 0..(seed % 24) {
                s.push_str(pieces[((seed >> (k * 2)) % pieces.len() as u64) as usize]);
            }
            let _ = scan(&s);
        }
    }
}
