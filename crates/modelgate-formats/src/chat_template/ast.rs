//! The syntax tree of a Jinja2 template. Every node keeps the byte offset where it starts in
//! the template text; line and column are computed from it on demand (`line_col`).

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// Byte offset of the node's first token.
    pub offset: usize,
    /// Height of the subtree (a leaf is 1); bounded by the parser's depth limit.
    pub depth: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A variable (or `loop`, `namespace`, ... globals).
    Name(String),
    Str(String),
    /// An integer literal; `None` when it does not fit an `i64`.
    Int(Option<i64>),
    Float(f64),
    Bool(bool),
    NoneLit,
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `obj.name` (also `obj.0`, kept as the digit string).
    Attr {
        obj: Box<Expr>,
        name: String,
    },
    /// `obj[key]`; a slice key is an `ExprKind::Slice`.
    Item {
        obj: Box<Expr>,
        key: Box<Expr>,
    },
    Slice {
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Call {
        func: Box<Expr>,
        args: Args,
    },
    /// `input|name(args)`; `input` is `None` inside `{% filter %}` and block `{% set %}`.
    Filter {
        input: Option<Box<Expr>>,
        name: String,
        args: Args,
    },
    /// `input is [not] name(args)`.
    Test {
        input: Box<Expr>,
        name: String,
        args: Args,
        negated: bool,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `a < b <= c`: the first operand and the (operator, operand) pairs that follow.
    Compare {
        left: Box<Expr>,
        rest: Vec<(CmpOp, Expr)>,
    },
    /// `then if test else otherwise`.
    Cond {
        test: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
}

/// Call, filter and test arguments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Args {
    pub positional: Vec<Expr>,
    pub keyword: Vec<(String, Expr)>,
    /// `*args`
    pub star: Option<Box<Expr>>,
    /// `**kwargs`
    pub double_star: Option<Box<Expr>>,
}

impl Args {
    /// Every argument expression, in source order of kind (positional, keyword, `*`, `**`).
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.positional
            .iter()
            .chain(self.keyword.iter().map(|(_, e)| e))
            .chain(self.star.as_deref())
            .chain(self.double_star.as_deref())
    }

    pub fn keyword(&self, name: &str) -> Option<&Expr> {
        self.keyword.iter().find(|(k, _)| k == name).map(|(_, e)| e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Add,
    Sub,
    /// `~`
    Concat,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Concat => "~",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
        }
    }
}

impl Expr {
    /// Visit the direct children.
    pub fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Expr)) {
        let opt = |e: &'a Option<Box<Expr>>, f: &mut dyn FnMut(&'a Expr)| {
            if let Some(e) = e {
                f(e);
            }
        };
        match &self.kind {
            ExprKind::Name(_)
            | ExprKind::Str(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::NoneLit => {}
            ExprKind::List(items) | ExprKind::Tuple(items) => items.iter().for_each(f),
            ExprKind::Dict(pairs) => {
                for (k, v) in pairs {
                    f(k);
                    f(v);
                }
            }
            ExprKind::Attr { obj, .. } => f(obj),
            ExprKind::Item { obj, key } => {
                f(obj);
                f(key);
            }
            ExprKind::Slice { start, stop, step } => {
                opt(start, &mut f);
                opt(stop, &mut f);
                opt(step, &mut f);
            }
            ExprKind::Call { func, args } => {
                f(func);
                args.exprs().for_each(f);
            }
            ExprKind::Filter { input, args, .. } => {
                opt(input, &mut f);
                args.exprs().for_each(f);
            }
            ExprKind::Test { input, args, .. } => {
                f(input);
                args.exprs().for_each(f);
            }
            ExprKind::Unary { operand, .. } => f(operand),
            ExprKind::Binary { left, right, .. } => {
                f(left);
                f(right);
            }
            ExprKind::Compare { left, rest } => {
                f(left);
                rest.iter().for_each(|(_, e)| f(e));
            }
            ExprKind::Cond {
                test,
                then,
                otherwise,
            } => {
                f(then);
                f(test);
                opt(otherwise, &mut f);
            }
        }
    }

    /// The string value of a string literal.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A macro or call-block parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub default: Option<Expr>,
}

/// A statement (or a run of template text).
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// Template text (also the content of `{% raw %}` blocks).
    Text(String),
    /// `{{ expr }}`
    Output(Expr),
    If {
        branches: Vec<(Expr, Vec<Stmt>)>,
        otherwise: Vec<Stmt>,
    },
    For {
        target: Expr,
        iter: Expr,
        filter: Option<Expr>,
        recursive: bool,
        body: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// `{% set target = value %}`; the target is a name, a tuple of names or `ns.attr`.
    Set {
        target: Expr,
        value: Expr,
    },
    /// `{% set target | filters %}body{% endset %}`; `filter` is the chain with no input.
    SetBlock {
        target: Expr,
        filter: Option<Expr>,
        body: Vec<Stmt>,
    },
    Macro {
        name: String,
        params: Vec<Param>,
        body: Vec<Stmt>,
    },
    CallBlock {
        call: Expr,
        params: Vec<Param>,
        body: Vec<Stmt>,
    },
    FilterBlock {
        filter: Expr,
        body: Vec<Stmt>,
    },
    Include {
        template: Expr,
        ignore_missing: bool,
    },
    Import {
        template: Expr,
        alias: String,
    },
    FromImport {
        template: Expr,
        names: Vec<(String, Option<String>)>,
    },
    Extends {
        template: Expr,
    },
    Block {
        name: String,
        body: Vec<Stmt>,
    },
    With {
        assignments: Vec<(Expr, Expr)>,
        body: Vec<Stmt>,
    },
    Autoescape {
        value: Expr,
        body: Vec<Stmt>,
    },
    /// `{% do expr %}` (jinja2.ext.do).
    Do(Expr),
    /// `{% break %}` / `{% continue %}` (jinja2.ext.loopcontrols).
    Break,
    Continue,
    /// `{% generation %}...{% endgeneration %}` (transformers' assistant-mask extension).
    Generation {
        body: Vec<Stmt>,
    },
}

impl StmtKind {
    /// The keyword naming the statement (`for`, `set`, ...); `text` and `output` for the rest.
    pub fn keyword(&self) -> &'static str {
        match self {
            StmtKind::Text(_) => "text",
            StmtKind::Output(_) => "output",
            StmtKind::If { .. } => "if",
            StmtKind::For { .. } => "for",
            StmtKind::Set { .. } | StmtKind::SetBlock { .. } => "set",
            StmtKind::Macro { .. } => "macro",
            StmtKind::CallBlock { .. } => "call",
            StmtKind::FilterBlock { .. } => "filter",
            StmtKind::Include { .. } => "include",
            StmtKind::Import { .. } => "import",
            StmtKind::FromImport { .. } => "from",
            StmtKind::Extends { .. } => "extends",
            StmtKind::Block { .. } => "block",
            StmtKind::With { .. } => "with",
            StmtKind::Autoescape { .. } => "autoescape",
            StmtKind::Do(_) => "do",
            StmtKind::Break => "break",
            StmtKind::Continue => "continue",
            StmtKind::Generation { .. } => "generation",
        }
    }

    /// Expressions directly in this statement (not in nested bodies).
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out: Vec<&Expr> = Vec::new();
        match self {
            StmtKind::Text(_) | StmtKind::Break | StmtKind::Continue => {}
            StmtKind::Output(e) | StmtKind::Do(e) => out.push(e),
            StmtKind::If { branches, .. } => out.extend(branches.iter().map(|(c, _)| c)),
            StmtKind::For {
                target,
                iter,
                filter,
                ..
            } => {
                out.push(target);
                out.push(iter);
                out.extend(filter.iter());
            }
            StmtKind::Set { target, value } => {
                out.push(target);
                out.push(value);
            }
            StmtKind::SetBlock { target, filter, .. } => {
                out.push(target);
                out.extend(filter.iter());
            }
            StmtKind::Macro { params, .. } => {
                out.extend(params.iter().filter_map(|p| p.default.as_ref()));
            }
            StmtKind::CallBlock { call, params, .. } => {
                out.push(call);
                out.extend(params.iter().filter_map(|p| p.default.as_ref()));
            }
            StmtKind::FilterBlock { filter, .. } => out.push(filter),
            StmtKind::Include { template, .. }
            | StmtKind::Import { template, .. }
            | StmtKind::FromImport { template, .. }
            | StmtKind::Extends { template } => out.push(template),
            StmtKind::Block { .. } | StmtKind::Generation { .. } => {}
            StmtKind::With { assignments, .. } => {
                for (t, v) in assignments {
                    out.push(t);
                    out.push(v);
                }
            }
            StmtKind::Autoescape { value, .. } => out.push(value),
        }
        out
    }

    /// Nested statement lists, in source order.
    pub fn bodies(&self) -> Vec<&[Stmt]> {
        match self {
            StmtKind::If {
                branches,
                otherwise,
            } => {
                let mut v: Vec<&[Stmt]> = branches.iter().map(|(_, b)| b.as_slice()).collect();
                v.push(otherwise);
                v
            }
            StmtKind::For {
                body, otherwise, ..
            } => vec![body, otherwise],
            StmtKind::SetBlock { body, .. }
            | StmtKind::Macro { body, .. }
            | StmtKind::CallBlock { body, .. }
            | StmtKind::FilterBlock { body, .. }
            | StmtKind::Block { body, .. }
            | StmtKind::With { body, .. }
            | StmtKind::Autoescape { body, .. }
            | StmtKind::Generation { body } => vec![body],
            _ => Vec::new(),
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub body: Vec<Stmt>,
    /// Expression and statement nodes in the tree.
    pub nodes: usize,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}
