//! Facts about a parsed chat template: every access that matters for a sandbox escape
//! (dunder walks, gadget globals, process machinery, other templates pulled in), each with
//! the access chain it belongs to reconstructed as text, and an inventory of what the
//! template uses. Names computed by string building are folded first (`fold`), so
//! `x['__cl' ~ 'ass__']` and `x|attr('\x5f\x5fclass\x5f\x5f')` read as `__class__`.

use super::fold::{MAX_HOPS, Val, fold_str, fold_value};
use super::scope::{Binding, Scope};
use modelgate_formats::chat_template::ast::{Args, Expr, ExprKind, Stmt, StmtKind, Template};
use modelgate_formats::chat_template::{GADGETS, PROCESS, PROCESS_ATTRS};
use std::collections::{BTreeMap, BTreeSet};

/// Attributes that are Python internals without underscores.
const INTERNAL_ATTRS: &[&str] = &[
    "mro",
    "func_globals",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_back",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "co_code",
    "im_func",
    "_TemplateReference__context",
    "_module",
];

/// Filters whose arguments name attributes (`map(attribute='x')`, `selectattr('x')`).
const ATTRIBUTE_FILTERS: &[&str] = &[
    "map",
    "selectattr",
    "rejectattr",
    "sort",
    "groupby",
    "sum",
    "unique",
    "min",
    "max",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HitKind {
    Dunder,
    Gadget,
    Process,
    Include,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: HitKind,
    /// The (folded) name: `__globals__`, `cycler`, `popen`, the included template.
    pub name: String,
    /// How it was reached: `attribute`, `subscript`, `attr filter`, `call`, `string`, ...
    pub how: &'static str,
    /// The access chain the hit is part of, reconstructed (`cycler.__init__.__globals__.os`).
    pub chain: String,
    /// Byte offset (start of the chain) in the template.
    pub offset: usize,
    /// An access (attribute, subscript, call, name); `false` for a bare string literal that
    /// only looks like a piece of a name.
    pub access: bool,
}

/// What a template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub statements: BTreeSet<&'static str>,
    pub filters: BTreeSet<String>,
    pub tests: BTreeSet<String>,
    /// Free names: context variables and globals (`messages`, `namespace`, ...).
    pub globals: BTreeSet<String>,
    /// Methods called (`.strip()`, `.items()`, ...).
    pub methods: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub hits: Vec<Hit>,
    pub inventory: Inventory,
    pub nodes: usize,
    /// Name folding stopped somewhere for lack of budget (names built from pieces there
    /// were not worked out).
    pub fold_budget_exhausted: bool,
}

/// Most hits kept per template, per kind and per access/string.
const MAX_HITS: usize = 256;
/// Longest reconstructed chain.
const MAX_CHAIN: usize = 240;

pub fn analyze(t: &Template) -> Facts {
    let mut w = Walker {
        counts: BTreeMap::new(),
        scope: Scope::default(),
        facts: Facts {
            nodes: t.nodes,
            ..Facts::default()
        },
    };
    w.stmts(&t.body);
    w.facts.fold_budget_exhausted = w.scope.exhausted();
    w.facts
}

pub fn is_dunder(s: &str) -> bool {
    s.len() > 4 && s.starts_with("__") && s.ends_with("__")
}

/// A string literal that is a dunder name or a piece of one (`'__cla'`, `'ss__'`). Python's
/// special attributes are lower-case; upper-case sentinels such as `"__NOT_A_NUMBER__"` are
/// data.
pub fn dunder_piece(s: &str) -> bool {
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    is_dunder(s)
        || ((s.starts_with("__") || s.ends_with("__"))
            && s.chars().any(|c| c.is_ascii_alphabetic())
            && !s.contains(char::is_whitespace))
}

/// A `str.format` string with a field reaching a dunder: `'{0.__class__}'`.
fn format_field_dunder(s: &str) -> Option<String> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..)?;
        let close = after.find('}')?;
        let field = after.get(..close)?;
        for part in field.split(['.', '[', ']']) {
            if is_dunder(part) {
                return Some(part.to_string());
            }
        }
        rest = after.get(close + 1..)?;
    }
    None
}

struct Walker<'t> {
    scope: Scope<'t>,
    facts: Facts,
    counts: BTreeMap<(HitKind, bool), usize>,
}

impl<'t> Walker<'t> {
    fn hit(&mut self, kind: HitKind, name: &str, how: &'static str, at: &Expr, root: &Expr) {
        self.hit_raw(kind, name, how, at.offset, self.render(root), true);
    }

    fn hit_raw(
        &mut self,
        kind: HitKind,
        name: &str,
        how: &'static str,
        offset: usize,
        chain: String,
        access: bool,
    ) {
        // Capped per kind and per access/string, so a flood of harmless-looking string
        // pieces cannot crowd the accesses out.
        let bucket = self.counts.entry((kind, access)).or_insert(0);
        if *bucket >= MAX_HITS {
            return;
        }
        *bucket += 1;
        self.facts.hits.push(Hit {
            kind,
            name: name.to_string(),
            how,
            chain,
            offset,
            access,
        });
    }

    fn stmts(&mut self, body: &'t [Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn bind_target(&mut self, target: &'t Expr, b: Binding<'t>) {
        match &target.kind {
            ExprKind::Name(n) => self.scope.bind(n, b),
            ExprKind::Tuple(items) => {
                for i in items {
                    self.bind_target(i, Binding::Opaque);
                }
            }
            ExprKind::Attr { obj, name } => {
                if let ExprKind::Name(ns) = &obj.kind {
                    self.scope.bind(&format!("{ns}.{name}"), b);
                }
            }
            _ => {}
        }
    }

    fn stmt(&mut self, s: &'t Stmt) {
        let kind = &s.kind;
        if !matches!(kind, StmtKind::Text(_) | StmtKind::Output(_)) {
            self.facts.inventory.statements.insert(kind.keyword());
        }
        match kind {
            StmtKind::Set { target, value } => {
                self.expr(value, None);
                if let ExprKind::Attr { obj, .. } = &target.kind {
                    self.expr(obj, None);
                }
                self.bind_target(target, Binding::Value(value));
            }
            StmtKind::SetBlock {
                target,
                filter,
                body,
            } => {
                self.stmts(body);
                if let Some(f) = filter {
                    self.expr(f, None);
                }
                let text: Option<String> = body
                    .iter()
                    .map(|s| match &s.kind {
                        StmtKind::Text(t) => Some(t.clone()),
                        StmtKind::Output(e) => fold_str(e, &self.scope),
                        _ => None,
                    })
                    .collect();
                let b = match (text, filter) {
                    (Some(t), None) => {
                        if dunder_piece(t.trim()) {
                            self.hit_raw(
                                HitKind::Dunder,
                                t.trim(),
                                "set block text",
                                s.offset,
                                format!("{{% set ... %}}{}{{% endset %}}", t.trim()),
                                false,
                            );
                        }
                        Binding::Text(t)
                    }
                    _ => Binding::Opaque,
                };
                self.bind_target(target, b);
            }
            StmtKind::For {
                target,
                iter,
                filter,
                body,
                otherwise,
                ..
            } => {
                self.expr(iter, None);
                match &target.kind {
                    ExprKind::Name(n) => self.scope.bind(n, Binding::LoopItem(iter)),
                    _ => self.bind_target(target, Binding::Opaque),
                }
                // Jinja's loop object is local to the loop body.
                self.scope.bind("loop", Binding::Opaque);
                if let Some(f) = filter {
                    self.expr(f, None);
                }
                self.stmts(body);
                self.stmts(otherwise);
            }
            StmtKind::Macro { name, params, body } => {
                self.scope.bind(name, Binding::Opaque);
                for implicit in ["caller", "varargs", "kwargs"] {
                    self.scope.bind(implicit, Binding::Opaque);
                }
                for p in params {
                    if let Some(d) = &p.default {
                        self.expr(d, None);
                    }
                    self.scope.bind(&p.name, Binding::Opaque);
                }
                self.stmts(body);
            }
            StmtKind::CallBlock { call, params, body } => {
                self.expr(call, None);
                for p in params {
                    if let Some(d) = &p.default {
                        self.expr(d, None);
                    }
                    self.scope.bind(&p.name, Binding::Opaque);
                }
                self.stmts(body);
            }
            StmtKind::Include { template, .. }
            | StmtKind::Import { template, .. }
            | StmtKind::FromImport { template, .. }
            | StmtKind::Extends { template } => {
                self.expr(template, None);
                let name = fold_str(template, &self.scope).unwrap_or_else(|| self.render(template));
                let chain = format!("{{% {} {} %}}", kind.keyword(), self.render(template));
                self.hit_raw(
                    HitKind::Include,
                    &name,
                    kind.keyword(),
                    s.offset,
                    chain,
                    true,
                );
                match kind {
                    StmtKind::Import { alias, .. } => self.scope.bind(alias, Binding::Opaque),
                    StmtKind::FromImport { names, .. } => {
                        for (n, a) in names {
                            self.scope.bind(a.as_ref().unwrap_or(n), Binding::Opaque);
                        }
                    }
                    _ => {}
                }
            }
            StmtKind::With { assignments, body } => {
                for (t, v) in assignments {
                    self.expr(v, None);
                    self.bind_target(t, Binding::Value(v));
                }
                self.stmts(body);
            }
            _ => {
                for e in kind.exprs() {
                    self.expr(e, None);
                }
                for b in kind.bodies() {
                    self.stmts(b);
                }
            }
        }
    }

    fn free(&self, name: &str) -> bool {
        !self.scope.is_bound(name)
    }

    /// An attribute (or item, or `attr`) access named `name` on `obj`.
    fn access(&mut self, name: &str, how: &'static str, obj: &Expr, at: &Expr, root: &Expr) {
        if is_dunder(name) || INTERNAL_ATTRS.contains(&name) {
            self.hit(HitKind::Dunder, name, how, at, root);
        }
        if PROCESS.contains(&name) || PROCESS_ATTRS.contains(&name) {
            self.hit(HitKind::Process, name, how, at, root);
        }
        if let ExprKind::Name(g) = &obj.kind
            && GADGETS.contains(&g.as_str())
            && self.free(g)
        {
            self.hit(HitKind::Gadget, g, how, obj, root);
        }
    }

    /// Walk an expression. `root` is the outermost node of the access chain (`a.b[c](d)|f`)
    /// this node is on, if any.
    fn expr(&mut self, e: &'t Expr, root: Option<&'t Expr>) {
        let on_chain = matches!(
            e.kind,
            ExprKind::Attr { .. }
                | ExprKind::Item { .. }
                | ExprKind::Call { .. }
                | ExprKind::Filter { input: Some(_), .. }
        );
        let chain_root = if on_chain {
            Some(root.unwrap_or(e))
        } else {
            root
        };
        let r = chain_root.unwrap_or(e);
        match &e.kind {
            ExprKind::Name(n) => {
                if self.free(n) {
                    self.facts.inventory.globals.insert(n.clone());
                    if is_dunder(n) {
                        self.hit(HitKind::Dunder, n, "name", e, r);
                    }
                    if PROCESS.contains(&n.as_str()) {
                        self.hit(HitKind::Process, n, "name", e, r);
                    }
                }
            }
            ExprKind::Str(s) => {
                if dunder_piece(s) {
                    self.hit_raw(HitKind::Dunder, s, "string", e.offset, repr(s), false);
                } else if let Some(d) = format_field_dunder(s) {
                    self.hit_raw(
                        HitKind::Dunder,
                        &d,
                        "format string",
                        e.offset,
                        repr(s),
                        true,
                    );
                }
                // `'system'` is also a chat role.
                if PROCESS.contains(&s.as_str())
                    || (PROCESS_ATTRS.contains(&s.as_str()) && s != "system")
                {
                    self.hit_raw(HitKind::Process, s, "string", e.offset, repr(s), false);
                }
            }
            ExprKind::Attr { obj, name } => {
                self.access(name, "attribute", obj, e, r);
                self.expr(obj, chain_root);
            }
            ExprKind::Item { obj, key } => {
                for k in self.candidates(key) {
                    self.access(&k, "subscript", obj, e, r);
                }
                self.expr(obj, chain_root);
                self.expr(key, None);
            }
            ExprKind::Call { func, args } => {
                match &func.kind {
                    ExprKind::Attr { name, .. } => {
                        self.facts.inventory.methods.insert(name.clone());
                        if PROCESS.contains(&name.as_str())
                            || PROCESS_ATTRS.contains(&name.as_str())
                        {
                            self.hit(HitKind::Process, name, "call", e, r);
                        }
                    }
                    ExprKind::Name(n) if self.free(n) && PROCESS.contains(&n.as_str()) => {
                        self.hit(HitKind::Process, n, "call", e, r);
                    }
                    _ => {}
                }
                self.keyword_names(args, e, r);
                self.expr(func, chain_root);
                self.args(args);
            }
            ExprKind::Filter { input, name, args } => {
                self.facts.inventory.filters.insert(name.clone());
                self.filter(input.as_deref(), name, args, e, r);
                self.keyword_names(args, e, r);
                if let Some(i) = input {
                    self.expr(i, chain_root);
                }
                self.args(args);
            }
            ExprKind::Test { name, .. } => {
                self.facts.inventory.tests.insert(name.clone());
                self.children(e);
            }
            _ => self.children(e),
        }
    }

    /// The names a key or attribute-name expression can take: its folded value, or every
    /// value of a constant list a loop variable runs over
    /// (`{% for n in ['__class__'] %}{{ x|attr(n) }}`).
    fn candidates(&self, key: &Expr) -> Vec<String> {
        if let Some(k) = fold_str(key, &self.scope) {
            return vec![k];
        }
        if let ExprKind::Name(n) = &key.kind
            && let Some(Binding::LoopItem(iter)) = self.scope.binding(n)
            && let Some(Val::List(items)) = fold_value(iter, &self.scope)
        {
            return items
                .into_iter()
                .filter_map(|v| match v {
                    Val::Str(s) => Some(s),
                    _ => None,
                })
                .collect();
        }
        Vec::new()
    }

    fn children(&mut self, e: &'t Expr) {
        let mut kids = Vec::new();
        e.for_each_child(|c| kids.push(c));
        for c in kids {
            self.expr(c, None);
        }
    }

    fn args(&mut self, args: &'t Args) {
        for a in args.exprs() {
            self.expr(a, None);
        }
    }

    /// `dict(__class__=1)`: keyword names spell names too.
    fn keyword_names(&mut self, args: &Args, at: &Expr, root: &Expr) {
        for (k, _) in &args.keyword {
            if is_dunder(k) {
                self.hit(HitKind::Dunder, k, "keyword argument", at, root);
            }
        }
    }

    fn filter(&mut self, input: Option<&Expr>, name: &str, args: &Args, at: &Expr, root: &Expr) {
        let arg = |i: usize| args.positional.get(i);
        if name == "attr" {
            if let Some(a) = arg(0) {
                let names = self.candidates(a);
                for k in &names {
                    if let Some(obj) = input {
                        self.access(k, "attr filter", obj, at, root);
                    } else if is_dunder(k) {
                        self.hit(HitKind::Dunder, k, "attr filter", at, root);
                    }
                }
                if fold_str(a, &self.scope).is_none() {
                    self.hit(HitKind::Gadget, "attr(<computed>)", "attr filter", at, root);
                }
            }
            return;
        }
        if !ATTRIBUTE_FILTERS.contains(&name) {
            return;
        }
        let mut names: Vec<&Expr> = args.keyword("attribute").into_iter().collect();
        match name {
            "selectattr" | "rejectattr" | "groupby" => names.extend(arg(0)),
            // `map('attr', '__class__')` applies the attr filter to every item.
            "map" if arg(0).and_then(|a| fold_str(a, &self.scope)).as_deref() == Some("attr") => {
                names.extend(arg(1));
            }
            _ => {}
        }
        for n in names {
            if let Some(k) = fold_str(n, &self.scope) {
                // `attribute='a.b'` walks dotted paths.
                for part in k.split('.') {
                    if is_dunder(part) || INTERNAL_ATTRS.contains(&part) {
                        self.hit(HitKind::Dunder, part, "attribute argument", at, root);
                    }
                }
            }
        }
    }

    /// The expression as text, with folded names written out and `{% set %}` aliases and
    /// loop variables replaced by what they stand for.
    fn render(&self, e: &Expr) -> String {
        let mut out = String::new();
        self.render_into(e, &mut out, MAX_HOPS);
        if out.len() > MAX_CHAIN {
            let mut cut = MAX_CHAIN;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
        }
        out
    }

    fn render_into(&self, e: &Expr, out: &mut String, hops: usize) {
        if out.len() > MAX_CHAIN * 2 {
            return;
        }
        let r = |x: &Expr, out: &mut String| self.render_into(x, out, hops);
        match &e.kind {
            ExprKind::Name(n) => match (self.scope.binding(n), hops.checked_sub(1)) {
                (Some(Binding::Value(v)), Some(h)) if is_chain(v) => self.render_into(v, out, h),
                (Some(Binding::LoopItem(it)), Some(h)) => {
                    out.push('(');
                    self.render_into(it, out, h);
                    out.push_str(")[*]");
                }
                _ => out.push_str(n),
            },
            ExprKind::Str(s) => out.push_str(&repr(s)),
            ExprKind::Int(Some(i)) => out.push_str(&i.to_string()),
            ExprKind::Int(None) => out.push_str("<big int>"),
            ExprKind::Float(f) => out.push_str(&f.to_string()),
            ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            ExprKind::NoneLit => out.push_str("none"),
            ExprKind::List(items) => self.seq(items, "[", "]", out, hops),
            ExprKind::Tuple(items) => self.seq(items, "(", ")", out, hops),
            ExprKind::Dict(_) => out.push_str("{…}"),
            ExprKind::Attr { obj, name } => {
                r(obj, out);
                out.push('.');
                out.push_str(name);
            }
            ExprKind::Item { obj, key } => {
                r(obj, out);
                out.push('[');
                match fold_str(key, &self.scope) {
                    Some(k) => out.push_str(&repr(&k)),
                    None => r(key, out),
                }
                out.push(']');
            }
            ExprKind::Slice { start, stop, step } => {
                if let Some(x) = start {
                    r(x, out);
                }
                out.push(':');
                if let Some(x) = stop {
                    r(x, out);
                }
                if let Some(x) = step {
                    out.push(':');
                    r(x, out);
                }
            }
            ExprKind::Call { func, args } => {
                r(func, out);
                self.call_args(args, out, hops);
            }
            ExprKind::Filter { input, name, args } => {
                if let Some(i) = input {
                    r(i, out);
                }
                let folded = (name == "attr")
                    .then(|| args.positional.first())
                    .flatten()
                    .and_then(|a| fold_str(a, &self.scope));
                match folded {
                    // `x|attr('__class__')` is `getattr(x, '__class__')`.
                    Some(k) => {
                        out.push('.');
                        out.push_str(&k);
                    }
                    None => {
                        out.push('|');
                        out.push_str(name);
                        if args.exprs().next().is_some() {
                            self.call_args(args, out, hops);
                        }
                    }
                }
            }
            ExprKind::Test {
                input,
                name,
                negated,
                ..
            } => {
                r(input, out);
                out.push_str(if *negated { " is not " } else { " is " });
                out.push_str(name);
            }
            ExprKind::Unary { operand, op } => {
                out.push_str(match op {
                    modelgate_formats::chat_template::ast::UnaryOp::Not => "not ",
                    modelgate_formats::chat_template::ast::UnaryOp::Neg => "-",
                    modelgate_formats::chat_template::ast::UnaryOp::Pos => "+",
                });
                r(operand, out);
            }
            ExprKind::Binary { op, left, right } => match fold_str(e, &self.scope) {
                Some(s) => out.push_str(&repr(&s)),
                None => {
                    r(left, out);
                    out.push(' ');
                    out.push_str(op.as_str());
                    out.push(' ');
                    r(right, out);
                }
            },
            ExprKind::Compare { left, rest } => {
                r(left, out);
                for (op, x) in rest {
                    out.push(' ');
                    out.push_str(op.as_str());
                    out.push(' ');
                    r(x, out);
                }
            }
            ExprKind::Cond { then, test, .. } => {
                r(then, out);
                out.push_str(" if ");
                r(test, out);
                out.push_str(" else …");
            }
        }
    }

    fn seq(&self, items: &[Expr], open: &str, close: &str, out: &mut String, hops: usize) {
        out.push_str(open);
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.render_into(x, out, hops);
        }
        out.push_str(close);
    }

    fn call_args(&self, args: &Args, out: &mut String, hops: usize) {
        out.push('(');
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push_str(", ");
            }
            first = false;
        };
        for a in &args.positional {
            sep(out);
            self.render_into(a, out, hops);
        }
        for (k, v) in &args.keyword {
            sep(out);
            out.push_str(k);
            out.push('=');
            self.render_into(v, out, hops);
        }
        if let Some(s) = &args.star {
            sep(out);
            out.push('*');
            self.render_into(s, out, hops);
        }
        if let Some(s) = &args.double_star {
            sep(out);
            out.push_str("**");
            self.render_into(s, out, hops);
        }
        out.push(')');
    }
}

fn is_chain(e: &Expr) -> bool {
    matches!(
        e.kind,
        ExprKind::Attr { .. }
            | ExprKind::Item { .. }
            | ExprKind::Call { .. }
            | ExprKind::Filter { .. }
            | ExprKind::Name(_)
    )
}

/// A string as a single-quoted literal.
pub fn repr(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars().take(80) {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    if s.chars().count() > 80 {
        out.push('…');
    }
    out.push('\'');
    out
}
