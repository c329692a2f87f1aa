//! Jinja2 chat templates (GGUF `tokenizer.chat_template*`, `tokenizer_config.json`,
//! `chat_template.jinja`), parsed into a syntax tree and never rendered.
//!
//! - [`lexer`]: template text to tokens (text, `{{ }}`, `{% %}`, `{# #}`, raw blocks).
//! - [`parser`]: recursive descent over the tokens into the [`ast`], bounded by [`Limits`].
//! - [`tokens`]: the older token-level escape scan, kept as the fallback for templates the
//!   parser rejects, so that an unparseable template is still searched for escape shapes.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod tokens;

pub use ast::{Expr, ExprKind, Stmt, StmtKind, Template, line_col};
pub use tokens::{GADGETS, Hit, HitKind, PROCESS, PROCESS_ATTRS, Usage, scan};

/// Bounds on what the parser accepts. A template beyond any of them is a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Template size in bytes.
    pub max_bytes: usize,
    /// Nesting of the parser's recursion: statement bodies, parentheses, brackets, unary
    /// operators.
    pub max_depth: usize,
    /// Stack the parser's recursion may use, in bytes (checked with `max_depth`).
    pub max_stack: usize,
    /// Height of an expression tree (`a.b.c...` and `a + b + ...` chains included), which
    /// bounds the recursion of everything that walks the tree.
    pub max_height: usize,
    /// Tokens, and syntax-tree nodes.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 64,
            max_stack: 1 << 20,
            max_height: 192,
            max_nodes: 200_000,
        }
    }
}

/// Why a template was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not valid Jinja2 syntax.
    Syntax,
    /// A tag, comment, string or raw block is never closed.
    Unterminated,
    /// Larger than `Limits::max_bytes`.
    TooLarge,
    /// Deeper than `Limits::max_depth`, `max_stack` or `max_height`.
    TooDeep,
    /// More than `Limits::max_nodes` tokens or nodes.
    TooManyNodes,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax-error",
            ErrorKind::Unterminated => "unterminated",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::TooDeep => "too-deep",
            ErrorKind::TooManyNodes => "too-many-nodes",
        }
    }

    /// Whether a limit was hit (as opposed to a template that is not Jinja2).
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            ErrorKind::TooLarge | ErrorKind::TooDeep | ErrorKind::TooManyNodes
        )
    }
}

/// A template the parser rejected, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} at line {line}, column {column}: {message}", kind.as_str())]
pub struct ParseError {
    pub kind: ErrorKind,
    /// Byte offset in the template.
    pub offset: usize,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(text: &str, kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        ParseError {
            kind,
            offset,
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parse a template with the default limits.
pub fn parse(text: &str) -> Result<Template, ParseError> {
    parse_with(text, &Limits::default())
}

/// Parse a template.
pub fn parse_with(text: &str, limits: &Limits) -> Result<Template, ParseError> {
    if text.len() > limits.max_bytes {
        return Err(ParseError::new(
            text,
            ErrorKind::TooLarge,
            0,
            format!(
                "template is {} bytes, more than the limit of {}",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let tokens = lexer::tokenize(text, limits.max_nodes)?;
    parser::Parser::new(text, &tokens, limits).template()
}

#[cfg(test)]
mod tests;
