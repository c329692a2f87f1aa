//! Recursive descent from tokens to the syntax tree, following Jinja2's grammar and operator
//! precedence (lowest first): conditional `a if b else c`, `or`, `and`, `not`, comparisons
//! (`== != < <= > >= in not in`), `+ -`, `~`, `* / // %`, `**`, unary `- +`, then postfix
//! (`.attr`, `[key]`, slices, calls) and filters/tests (`|f(args)`, `is [not] t`).

use super::ast::{Args, BinOp, CmpOp, Expr, ExprKind, Param, Stmt, StmtKind, Template, UnaryOp};
use super::lexer::{Tok, Token};
use super::{ErrorKind, Limits, ParseError};

type PResult<T> = Result<T, ParseError>;

pub struct Parser<'a> {
    text: &'a str,
    toks: &'a [Token],
    pos: usize,
    limits: &'a Limits,
    depth: usize,
    nodes: usize,
    /// Address of a local of `new`'s caller frame: how much stack the recursion uses is
    /// measured against it (debug builds use many times the stack of release builds).
    stack_base: usize,
}

/// The address of a local in the current frame.
fn stack_address() -> usize {
    let probe = 0u8;
    std::ptr::addr_of!(probe) as usize
}

const EOF: Tok = Tok::Eof;

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, toks: &'a [Token], limits: &'a Limits) -> Self {
        Parser {
            text,
            toks,
            pos: 0,
            limits,
            depth: 0,
            nodes: 0,
            stack_base: stack_address(),
        }
    }

    /// The whole template.
    pub fn template(mut self) -> PResult<Template> {
        let body = self.subparse(&[])?;
        if !matches!(self.peek(), Tok::Eof) {
            return Err(self.unexpected("end of template"));
        }
        Ok(Template {
            body,
            nodes: self.nodes,
        })
    }

    // ----- token helpers -----

    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&EOF, |t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> &Tok {
        self.toks.get(self.pos + n).map_or(&EOF, |t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(0, |t| t.offset)
    }

    fn bump(&mut self) {
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == name)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.is_op(op);
        if hit {
            self.bump();
        }
        hit
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let hit = self.is_name(name);
        if hit {
            self.bump();
        }
        hit
    }

    fn describe(t: &Tok) -> String {
        match t {
            Tok::Text(_) => "template text".into(),
            Tok::VarBegin => "'{{'".into(),
            Tok::VarEnd => "'}}'".into(),
            Tok::BlockBegin => "'{%'".into(),
            Tok::BlockEnd => "'%}'".into(),
            Tok::Name(n) => format!("name {n:?}"),
            Tok::Str(_) => "string".into(),
            Tok::Int(_) | Tok::Float(_) => "number".into(),
            Tok::Op(o) => format!("'{o}'"),
            Tok::Eof => "end of template".into(),
        }
    }

    fn error(&self, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.text, ErrorKind::Syntax, self.offset(), msg)
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        self.error(format!(
            "expected {wanted}, found {}",
            Self::describe(self.peek())
        ))
    }

    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{op}'")))
        }
    }

    fn expect_keyword(&mut self, name: &str) -> PResult<()> {
        if self.eat_name(name) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{name}'")))
        }
    }

    fn expect_name(&mut self) -> PResult<String> {
        if let Tok::Name(n) = self.peek() {
            let n = n.clone();
            self.bump();
            Ok(n)
        } else {
            Err(self.unexpected("a name"))
        }
    }

    /// The `%}` that opens a statement body; Jinja2 allows a colon before it, for Python
    /// compatibility (`{% if x: %}`).
    fn body_start(&mut self) -> PResult<()> {
        self.eat_op(":");
        self.expect_block_end()
    }

    fn expect_block_end(&mut self) -> PResult<()> {
        if matches!(self.peek(), Tok::BlockEnd) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected("'%}'"))
        }
    }

    // ----- limits -----

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth
            || self.stack_base.abs_diff(stack_address()) > self.limits.max_stack
        {
            return Err(ParseError::new(
                self.text,
                ErrorKind::TooDeep,
                self.offset(),
                format!(
                    "nesting deeper than {} (or more than {} bytes of stack)",
                    self.limits.max_depth, self.limits.max_stack
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn count(&mut self, offset: usize) -> PResult<()> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ParseError::new(
                self.text,
                ErrorKind::TooManyNodes,
                offset,
                format!("more than {} syntax nodes", self.limits.max_nodes),
            ));
        }
        Ok(())
    }

    fn mk(&mut self, kind: ExprKind, offset: usize) -> PResult<Expr> {
        self.count(offset)?;
        let mut e = Expr {
            kind,
            offset,
            depth: 1,
        };
        let mut max = 0u16;
        e.for_each_child(|c| max = max.max(c.depth));
        let depth = usize::from(max) + 1;
        if depth > self.limits.max_height {
            return Err(ParseError::new(
                self.text,
                ErrorKind::TooDeep,
                offset,
                format!("expression tree higher than {}", self.limits.max_height),
            ));
        }
        e.depth = u16::try_from(depth).unwrap_or(u16::MAX);
        Ok(e)
    }

    fn stmt(&mut self, kind: StmtKind, offset: usize) -> PResult<Stmt> {
        self.count(offset)?;
        Ok(Stmt { kind, offset })
    }

    // ----- statements -----

    /// Statements until end of input (`ends` empty) or until a `{% name` tag with a name in
    /// `ends`, which is left unconsumed.
    fn subparse(&mut self, ends: &[&str]) -> PResult<Vec<Stmt>> {
        let mut body = Vec::new();
        loop {
            let off = self.offset();
            match self.peek() {
                Tok::Text(s) => {
                    let s = s.clone();
                    self.bump();
                    body.push(self.stmt(StmtKind::Text(s), off)?);
                }
                Tok::VarBegin => {
                    self.bump();
                    let e = self.parse_tuple(false, true, &[], false)?;
                    if !matches!(self.peek(), Tok::VarEnd) {
                        return Err(self.unexpected("'}}'"));
                    }
                    self.bump();
                    body.push(self.stmt(StmtKind::Output(e), off)?);
                }
                Tok::BlockBegin => {
                    if let Tok::Name(n) = self.peek_at(1)
                        && ends.contains(&n.as_str())
                    {
                        return Ok(body);
                    }
                    self.bump();
                    let s = self.statement(off)?;
                    body.push(s);
                }
                Tok::Eof => {
                    if ends.is_empty() {
                        return Ok(body);
                    }
                    return Err(self.error(format!(
                        "unexpected end of template, expected {}",
                        ends.iter()
                            .map(|e| format!("'{e}'"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )));
                }
                _ => return Err(self.unexpected("template text or a tag")),
            }
        }
    }

    /// Consume `{% name` of an end/middle tag found by `subparse`; returns the name.
    fn end_tag(&mut self) -> PResult<String> {
        if !matches!(self.peek(), Tok::BlockBegin) {
            return Err(self.unexpected("'{%'"));
        }
        self.bump();
        self.expect_name()
    }

    /// A body up to `{% end %}` (nothing else allowed in the end tag).
    fn body_until(&mut self, end: &str) -> PResult<Vec<Stmt>> {
        let body = self.subparse(&[end])?;
        self.end_tag()?;
        self.expect_block_end()?;
        Ok(body)
    }

    fn statement(&mut self, off: usize) -> PResult<Stmt> {
        self.enter()?;
        let r = self.statement_inner(off);
        self.leave();
        r
    }

    fn statement_inner(&mut self, off: usize) -> PResult<Stmt> {
        let Tok::Name(kw) = self.peek().clone() else {
            return Err(self.unexpected("a tag name"));
        };
        self.bump();
        let kind = match kw.as_str() {
            "if" => self.parse_if()?,
            "for" => self.parse_for()?,
            "set" => self.parse_set()?,
            "macro" => {
                let name = self.expect_name()?;
                let params = self.parse_signature()?;
                self.body_start()?;
                let body = self.body_until("endmacro")?;
                StmtKind::Macro { name, params, body }
            }
            "call" => {
                let params = if self.is_op("(") {
                    self.parse_signature()?
                } else {
                    Vec::new()
                };
                let call = self.parse_expression(true)?;
                if !matches!(call.kind, ExprKind::Call { .. }) {
                    return Err(ParseError::new(
                        self.text,
                        ErrorKind::Syntax,
                        call.offset,
                        "expected a call after 'call'",
                    ));
                }
                self.body_start()?;
                let body = self.body_until("endcall")?;
                StmtKind::CallBlock { call, params, body }
            }
            "filter" => {
                let filter = self.parse_filter_chain(None, true)?;
                self.body_start()?;
                let body = self.body_until("endfilter")?;
                StmtKind::FilterBlock { filter, body }
            }
            "include" => {
                let template = self.parse_expression(true)?;
                let mut ignore_missing = false;
                if self.is_name("ignore")
                    && matches!(self.peek_at(1), Tok::Name(n) if n == "missing")
                {
                    self.bump();
                    self.bump();
                    ignore_missing = true;
                }
                self.import_context()?;
                self.expect_block_end()?;
                StmtKind::Include {
                    template,
                    ignore_missing,
                }
            }
            "import" => {
                let template = self.parse_expression(true)?;
                self.expect_keyword("as")?;
                let alias = self.expect_name()?;
                self.import_context()?;
                self.expect_block_end()?;
                StmtKind::Import { template, alias }
            }
            "from" => {
                let template = self.parse_expression(true)?;
                self.expect_keyword("import")?;
                let mut names = Vec::new();
                // As Jinja2: names separated by commas (none trailing), optionally ending
                // in `with context` / `without context`.
                loop {
                    if !names.is_empty() {
                        self.expect_op(",")?;
                    }
                    if self.at_import_context() {
                        self.import_context()?;
                        break;
                    }
                    let name = self.expect_name()?;
                    let alias = if self.eat_name("as") {
                        Some(self.expect_name()?)
                    } else {
                        None
                    };
                    names.push((name, alias));
                    if self.at_import_context() {
                        self.import_context()?;
                        break;
                    }
                    if !self.is_op(",") {
                        break;
                    }
                }
                if names.is_empty() {
                    return Err(self.unexpected("a name to import"));
                }
                self.expect_block_end()?;
                StmtKind::FromImport { template, names }
            }
            "extends" => {
                let template = self.parse_expression(true)?;
                self.expect_block_end()?;
                StmtKind::Extends { template }
            }
            "block" => {
                let name = self.expect_name()?;
                self.eat_name("scoped");
                self.eat_name("required");
                self.body_start()?;
                let body = self.subparse(&["endblock"])?;
                self.end_tag()?;
                if let Tok::Name(_) = self.peek() {
                    self.bump();
                }
                self.expect_block_end()?;
                StmtKind::Block { name, body }
            }
            "with" => {
                let mut assignments = Vec::new();
                while !matches!(self.peek(), Tok::BlockEnd) {
                    if !assignments.is_empty() {
                        self.expect_op(",")?;
                    }
                    let target = self.parse_assign_target(true, false, &[])?;
                    self.expect_op("=")?;
                    let value = self.parse_expression(true)?;
                    assignments.push((target, value));
                }
                self.body_start()?;
                let body = self.body_until("endwith")?;
                StmtKind::With { assignments, body }
            }
            "autoescape" => {
                let value = self.parse_expression(true)?;
                self.body_start()?;
                let body = self.body_until("endautoescape")?;
                StmtKind::Autoescape { value, body }
            }
            "do" => {
                let e = self.parse_tuple(false, true, &[], false)?;
                self.expect_block_end()?;
                StmtKind::Do(e)
            }
            "break" => {
                self.expect_block_end()?;
                StmtKind::Break
            }
            "continue" => {
                self.expect_block_end()?;
                StmtKind::Continue
            }
            "generation" => {
                self.body_start()?;
                let body = self.body_until("endgeneration")?;
                StmtKind::Generation { body }
            }
            other => {
                return Err(ParseError::new(
                    self.text,
                    ErrorKind::Syntax,
                    off,
                    format!("unknown or misplaced tag {other:?}"),
                ));
            }
        };
        self.stmt(kind, off)
    }

    fn at_import_context(&self) -> bool {
        (self.is_name("with") || self.is_name("without"))
            && matches!(self.peek_at(1), Tok::Name(n) if n == "context")
    }

    fn import_context(&mut self) -> PResult<()> {
        if self.at_import_context() {
            self.bump();
            self.bump();
        }
        Ok(())
    }

    fn parse_if(&mut self) -> PResult<StmtKind> {
        let mut branches = Vec::new();
        let mut otherwise = Vec::new();
        let mut test = self.parse_tuple(false, false, &[], false)?;
        loop {
            self.body_start()?;
            let body = self.subparse(&["elif", "else", "endif"])?;
            branches.push((test, body));
            match self.end_tag()?.as_str() {
                "elif" => {
                    test = self.parse_tuple(false, false, &[], false)?;
                }
                "else" => {
                    self.body_start()?;
                    otherwise = self.body_until("endif")?;
                    break;
                }
                _ => {
                    self.expect_block_end()?;
                    break;
                }
            }
        }
        Ok(StmtKind::If {
            branches,
            otherwise,
        })
    }

    fn parse_for(&mut self) -> PResult<StmtKind> {
        let target = self.parse_assign_target(true, false, &["in"])?;
        self.expect_keyword("in")?;
        let iter = self.parse_tuple(false, false, &["recursive"], false)?;
        let filter = if self.eat_name("if") {
            Some(self.parse_expression(true)?)
        } else {
            None
        };
        let recursive = self.eat_name("recursive");
        self.body_start()?;
        let body = self.subparse(&["endfor", "else"])?;
        let mut otherwise = Vec::new();
        if self.end_tag()? == "else" {
            self.body_start()?;
            otherwise = self.body_until("endfor")?;
        } else {
            self.expect_block_end()?;
        }
        Ok(StmtKind::For {
            target,
            iter,
            filter,
            recursive,
            body,
            otherwise,
        })
    }

    fn parse_set(&mut self) -> PResult<StmtKind> {
        let target = self.parse_assign_target(true, true, &[])?;
        if self.eat_op("=") {
            let value = self.parse_tuple(false, true, &[], false)?;
            self.expect_block_end()?;
            return Ok(StmtKind::Set { target, value });
        }
        let filter = if self.is_op("|") {
            Some(self.parse_filter_chain(None, false)?)
        } else {
            None
        };
        self.body_start()?;
        let body = self.body_until("endset")?;
        Ok(StmtKind::SetBlock {
            target,
            filter,
            body,
        })
    }

    /// `(a, b=default, ...)` of a macro or call block.
    fn parse_signature(&mut self) -> PResult<Vec<Param>> {
        self.expect_op("(")?;
        let mut params = Vec::new();
        while !self.is_op(")") {
            // No trailing comma, as in Jinja2.
            if !params.is_empty() {
                self.expect_op(",")?;
            }
            let name = self.expect_name()?;
            let default = if self.eat_op("=") {
                Some(self.parse_expression(true)?)
            } else {
                None
            };
            params.push(Param { name, default });
        }
        self.expect_op(")")?;
        Ok(params)
    }

    /// An assignment target: a name, a tuple of names, or (`with_namespace`) `ns.attr`.
    fn parse_assign_target(
        &mut self,
        with_tuple: bool,
        with_namespace: bool,
        extra_end: &[&str],
    ) -> PResult<Expr> {
        let off = self.offset();
        if with_namespace && matches!(self.peek_at(1), Tok::Op(".")) {
            let ns = self.expect_name()?;
            self.expect_op(".")?;
            let attr = self.expect_name()?;
            let obj = self.mk(ExprKind::Name(ns), off)?;
            return self.mk(
                ExprKind::Attr {
                    obj: Box::new(obj),
                    name: attr,
                },
                off,
            );
        }
        let target = if with_tuple {
            self.parse_tuple(true, true, extra_end, false)?
        } else {
            self.parse_primary()?
        };
        if !assignable(&target) {
            return Err(ParseError::new(
                self.text,
                ErrorKind::Syntax,
                target.offset,
                "can only assign to names and tuples of names",
            ));
        }
        Ok(target)
    }

    // ----- expressions -----

    fn is_tuple_end(&self, extra_end: &[&str]) -> bool {
        match self.peek() {
            Tok::VarEnd | Tok::BlockEnd | Tok::Op(")") => true,
            Tok::Name(n) => extra_end.contains(&n.as_str()),
            _ => false,
        }
    }

    /// Comma-separated expressions; a single one without a comma is returned as is.
    fn parse_tuple(
        &mut self,
        simplified: bool,
        with_condexpr: bool,
        extra_end: &[&str],
        explicit_parentheses: bool,
    ) -> PResult<Expr> {
        let off = self.offset();
        let mut items = Vec::new();
        let mut is_tuple = false;
        loop {
            if !items.is_empty() {
                self.expect_op(",")?;
            }
            if self.is_tuple_end(extra_end) {
                break;
            }
            let e = if simplified {
                self.parse_primary()?
            } else {
                self.parse_expression(with_condexpr)?
            };
            items.push(e);
            if self.is_op(",") {
                is_tuple = true;
            } else {
                break;
            }
        }
        if !is_tuple {
            if items.len() == 1
                && let Some(e) = items.pop()
            {
                return Ok(e);
            }
            if !explicit_parentheses {
                return Err(self.unexpected("an expression"));
            }
        }
        self.mk(ExprKind::Tuple(items), off)
    }

    pub(crate) fn parse_expression(&mut self, with_condexpr: bool) -> PResult<Expr> {
        self.enter()?;
        let r = if with_condexpr {
            self.parse_condexpr()
        } else {
            self.parse_or()
        };
        self.leave();
        r
    }

    fn parse_condexpr(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_or()?;
        while self.eat_name("if") {
            let test = self.parse_or()?;
            let otherwise = if self.eat_name("else") {
                self.enter()?;
                let r = self.parse_condexpr();
                self.leave();
                Some(Box::new(r?))
            } else {
                None
            };
            e = self.mk(
                ExprKind::Cond {
                    test: Box::new(test),
                    then: Box::new(e),
                    otherwise,
                },
                off,
            )?;
        }
        Ok(e)
    }

    fn binary(&mut self, op: BinOp, left: Expr, right: Expr, off: usize) -> PResult<Expr> {
        self.mk(
            ExprKind::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            },
            off,
        )
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_and()?;
        while self.eat_name("or") {
            let r = self.parse_and()?;
            e = self.binary(BinOp::Or, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_not()?;
        while self.eat_name("and") {
            let r = self.parse_not()?;
            e = self.binary(BinOp::And, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        let off = self.offset();
        if self.eat_name("not") {
            self.enter()?;
            let r = self.parse_not();
            self.leave();
            let operand = r?;
            return self.mk(
                ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(operand),
                },
                off,
            );
        }
        self.parse_compare()
    }

    fn parse_compare(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let left = self.parse_math1()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Op("==") => CmpOp::Eq,
                Tok::Op("!=") => CmpOp::Ne,
                Tok::Op("<") => CmpOp::Lt,
                Tok::Op("<=") => CmpOp::Le,
                Tok::Op(">") => CmpOp::Gt,
                Tok::Op(">=") => CmpOp::Ge,
                Tok::Name(n) if n == "in" => CmpOp::In,
                Tok::Name(n)
                    if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") =>
                {
                    self.bump();
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.bump();
            let r = self.parse_math1()?;
            rest.push((op, r));
        }
        if rest.is_empty() {
            return Ok(left);
        }
        self.mk(
            ExprKind::Compare {
                left: Box::new(left),
                rest,
            },
            off,
        )
    }

    fn parse_math1(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_concat()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => break,
            };
            self.bump();
            let r = self.parse_concat()?;
            e = self.binary(op, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_concat(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_math2()?;
        while self.eat_op("~") {
            let r = self.parse_math2()?;
            e = self.binary(BinOp::Concat, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_math2(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_pow()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                Tok::Op("//") => BinOp::FloorDiv,
                Tok::Op("%") => BinOp::Mod,
                _ => break,
            };
            self.bump();
            let r = self.parse_pow()?;
            e = self.binary(op, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_pow(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let mut e = self.parse_unary(true)?;
        while self.eat_op("**") {
            let r = self.parse_unary(true)?;
            e = self.binary(BinOp::Pow, e, r, off)?;
        }
        Ok(e)
    }

    fn parse_unary(&mut self, with_filter: bool) -> PResult<Expr> {
        self.enter()?;
        let r = self.parse_unary_inner(with_filter);
        self.leave();
        r
    }

    fn parse_unary_inner(&mut self, with_filter: bool) -> PResult<Expr> {
        let off = self.offset();
        let op = match self.peek() {
            Tok::Op("-") => Some(UnaryOp::Neg),
            Tok::Op("+") => Some(UnaryOp::Pos),
            _ => None,
        };
        let mut e = if let Some(op) = op {
            self.bump();
            let operand = self.parse_unary(false)?;
            self.mk(
                ExprKind::Unary {
                    op,
                    operand: Box::new(operand),
                },
                off,
            )?
        } else {
            self.parse_primary()?
        };
        e = self.parse_postfix(e)?;
        if with_filter {
            e = self.parse_filter_expr(e)?;
        }
        Ok(e)
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let kind = match self.peek().clone() {
            Tok::Name(n) => {
                self.bump();
                match n.as_str() {
                    "true" | "True" => ExprKind::Bool(true),
                    "false" | "False" => ExprKind::Bool(false),
                    "none" | "None" => ExprKind::NoneLit,
                    _ => ExprKind::Name(n),
                }
            }
            Tok::Str(s) => {
                self.bump();
                let mut s = s;
                // Adjacent string literals concatenate.
                while let Tok::Str(more) = self.peek() {
                    s.push_str(more);
                    self.bump();
                }
                ExprKind::Str(s)
            }
            Tok::Int(i) => {
                self.bump();
                ExprKind::Int(i)
            }
            Tok::Float(f) => {
                self.bump();
                ExprKind::Float(f)
            }
            Tok::Op("(") => {
                self.bump();
                let e = self.parse_tuple(false, true, &[], true)?;
                self.expect_op(")")?;
                return Ok(e);
            }
            Tok::Op("[") => {
                self.bump();
                let mut items = Vec::new();
                while !self.is_op("]") {
                    if !items.is_empty() {
                        self.expect_op(",")?;
                        if self.is_op("]") {
                            break;
                        }
                    }
                    items.push(self.parse_expression(true)?);
                }
                self.expect_op("]")?;
                ExprKind::List(items)
            }
            Tok::Op("{") => {
                self.bump();
                let mut pairs = Vec::new();
                while !self.is_op("}") {
                    if !pairs.is_empty() {
                        self.expect_op(",")?;
                        if self.is_op("}") {
                            break;
                        }
                    }
                    let k = self.parse_expression(true)?;
                    self.expect_op(":")?;
                    let v = self.parse_expression(true)?;
                    pairs.push((k, v));
                }
                self.expect_op("}")?;
                ExprKind::Dict(pairs)
            }
            _ => return Err(self.unexpected("an expression")),
        };
        self.mk(kind, off)
    }

    fn parse_postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            let off = e.offset;
            if self.eat_op(".") {
                let kind = match self.peek().clone() {
                    Tok::Name(n) => {
                        self.bump();
                        ExprKind::Attr {
                            obj: Box::new(e),
                            name: n,
                        }
                    }
                    Tok::Int(i) => {
                        let key_off = self.offset();
                        self.bump();
                        let key = self.mk(ExprKind::Int(i), key_off)?;
                        ExprKind::Item {
                            obj: Box::new(e),
                            key: Box::new(key),
                        }
                    }
                    _ => return Err(self.unexpected("an attribute name")),
                };
                e = self.mk(kind, off)?;
            } else if self.eat_op("[") {
                let key_off = self.offset();
                let mut keys = Vec::new();
                while !self.is_op("]") {
                    // No trailing comma, as in Jinja2.
                    if !keys.is_empty() {
                        self.expect_op(",")?;
                    }
                    keys.push(self.parse_subscribed()?);
                }
                self.expect_op("]")?;
                // `a[]` is accepted by Jinja2 as an empty tuple key.
                let key = match keys.pop() {
                    Some(k) if keys.is_empty() => k,
                    Some(k) => {
                        keys.push(k);
                        self.mk(ExprKind::Tuple(keys), key_off)?
                    }
                    None => self.mk(ExprKind::Tuple(Vec::new()), key_off)?,
                };
                e = self.mk(
                    ExprKind::Item {
                        obj: Box::new(e),
                        key: Box::new(key),
                    },
                    off,
                )?;
            } else if self.is_op("(") {
                let args = self.parse_call_args()?;
                e = self.mk(
                    ExprKind::Call {
                        func: Box::new(e),
                        args,
                    },
                    off,
                )?;
            } else {
                return Ok(e);
            }
        }
    }

    fn parse_subscribed(&mut self) -> PResult<Expr> {
        let off = self.offset();
        let start = if self.is_op(":") {
            None
        } else {
            let e = self.parse_expression(true)?;
            if !self.is_op(":") {
                return Ok(e);
            }
            Some(Box::new(e))
        };
        self.expect_op(":")?;
        let stop = if self.is_op("]") || self.is_op(",") || self.is_op(":") {
            None
        } else {
            Some(Box::new(self.parse_expression(true)?))
        };
        let step = if self.eat_op(":") {
            if self.is_op("]") || self.is_op(",") {
                None
            } else {
                Some(Box::new(self.parse_expression(true)?))
            }
        } else {
            None
        };
        self.mk(ExprKind::Slice { start, stop, step }, off)
    }

    fn parse_call_args(&mut self) -> PResult<Args> {
        self.expect_op("(")?;
        let mut args = Args::default();
        let mut first = true;
        while !self.is_op(")") {
            if !first {
                self.expect_op(",")?;
                if self.is_op(")") {
                    break;
                }
            }
            first = false;
            if self.eat_op("**") {
                args.double_star = Some(Box::new(self.parse_expression(true)?));
            } else if self.eat_op("*") {
                args.star = Some(Box::new(self.parse_expression(true)?));
            } else if let (Tok::Name(n), Tok::Op("=")) = (self.peek().clone(), self.peek_at(1)) {
                self.bump();
                self.bump();
                let v = self.parse_expression(true)?;
                args.keyword.push((n, v));
            } else {
                args.positional.push(self.parse_expression(true)?);
            }
        }
        self.expect_op(")")?;
        Ok(args)
    }

    fn parse_filter_expr(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if self.is_op("|") {
                e = self.parse_filter_chain(Some(e), false)?;
            } else if self.is_name("is") {
                e = self.parse_test(e)?;
            } else if self.is_op("(") {
                let off = e.offset;
                let args = self.parse_call_args()?;
                e = self.mk(
                    ExprKind::Call {
                        func: Box::new(e),
                        args,
                    },
                    off,
                )?;
            } else {
                return Ok(e);
            }
        }
    }

    /// `|f(args)|g...`; `start_inline`: the first filter has no leading `|` (filter blocks).
    fn parse_filter_chain(&mut self, input: Option<Expr>, start_inline: bool) -> PResult<Expr> {
        let mut input = input;
        let mut inline = start_inline;
        loop {
            let off = input.as_ref().map_or_else(|| self.offset(), |e| e.offset);
            if !inline {
                self.expect_op("|")?;
            }
            inline = false;
            let name = self.dotted_name()?;
            let args = if self.is_op("(") {
                self.parse_call_args()?
            } else {
                Args::default()
            };
            let e = self.mk(
                ExprKind::Filter {
                    input: input.map(Box::new),
                    name,
                    args,
                },
                off,
            )?;
            if !self.is_op("|") {
                return Ok(e);
            }
            input = Some(e);
        }
    }

    fn dotted_name(&mut self) -> PResult<String> {
        let mut name = self.expect_name()?;
        while self.is_op(".") && matches!(self.peek_at(1), Tok::Name(_)) {
            self.bump();
            name.push('.');
            name.push_str(&self.expect_name()?);
        }
        Ok(name)
    }

    fn parse_test(&mut self, input: Expr) -> PResult<Expr> {
        let off = input.offset;
        self.expect_keyword("is")?;
        let negated = self.eat_name("not");
        let name = self.dotted_name()?;
        let mut args = Args::default();
        if self.is_op("(") {
            args = self.parse_call_args()?;
        } else {
            let takes_arg = match self.peek() {
                Tok::Name(n) => !matches!(n.as_str(), "else" | "or" | "and"),
                Tok::Str(_) | Tok::Int(_) | Tok::Float(_) => true,
                Tok::Op(o) => matches!(*o, "(" | "[" | "{"),
                _ => false,
            };
            if takes_arg {
                let a = self.parse_primary()?;
                let a = self.parse_postfix(a)?;
                args.positional.push(a);
            }
        }
        self.mk(
            ExprKind::Test {
                input: Box::new(input),
                name,
                args,
                negated,
            },
            off,
        )
    }
}

fn assignable(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Name(n) => !matches!(
            n.as_str(),
            "true" | "false" | "none" | "True" | "False" | "None"
        ),
        ExprKind::Tuple(items) => items.iter().all(assignable),
        _ => false,
    }
}
