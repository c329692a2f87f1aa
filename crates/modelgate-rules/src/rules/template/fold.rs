//! Constant folding of the expressions templates use to build names without writing them:
//! `'__cla' ~ 'ss__'`, `'_' * 2`, `['__', 'class', '__']|join`, `'%c%c' % (95, 95)`,
//! `dict(__class__=1)|first`, `'{}{}'.format(a, b)`, `'__SSALC__'|lower|reverse`, and names
//! bound by `{% set %}` to such values. Values are bounded in length; anything not known
//! statically folds to `None`.

use super::scope::{Binding, Scope};
use modelgate_formats::chat_template::ast::{Args, BinOp, Expr, ExprKind, UnaryOp};

/// Longest folded string / list.
const MAX_LEN: usize = 512;
/// How many `{% set %}` indirections are followed.
pub const MAX_HOPS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    List(Vec<Val>),
}

impl Val {
    fn text(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Int(i) => Some(i.to_string()),
            Val::List(_) => None,
        }
    }

    fn items(&self) -> Option<Vec<Val>> {
        match self {
            Val::List(v) => Some(v.clone()),
            Val::Str(s) => Some(s.chars().map(|c| Val::Str(c.to_string())).collect()),
            Val::Int(_) => None,
        }
    }
}

fn bounded(s: String) -> Option<Val> {
    (s.len() <= MAX_LEN).then_some(Val::Str(s))
}

/// The string an expression evaluates to, when it is known statically.
pub fn fold_str(e: &Expr, scope: &Scope) -> Option<String> {
    match fold_value(e, scope)? {
        Val::Str(s) => Some(s),
        _ => None,
    }
}

/// The value of an expression, when it is known statically.
pub fn fold_value(e: &Expr, scope: &Scope) -> Option<Val> {
    scope.refuel();
    fold(e, scope, MAX_HOPS)
}

fn fold(e: &Expr, scope: &Scope, hops: usize) -> Option<Val> {
    if !scope.burn() {
        return None;
    }
    let f = |x: &Expr| fold(x, scope, hops);
    match &e.kind {
        ExprKind::Str(s) => Some(Val::Str(s.clone())),
        ExprKind::Int(Some(i)) => Some(Val::Int(*i)),
        ExprKind::Unary { op, operand } => match (op, f(operand)?) {
            (UnaryOp::Neg, Val::Int(i)) => i.checked_neg().map(Val::Int),
            (UnaryOp::Pos, Val::Int(i)) => Some(Val::Int(i)),
            _ => None,
        },
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            if items.len() > MAX_LEN {
                return None;
            }
            items
                .iter()
                .map(f)
                .collect::<Option<Vec<_>>>()
                .map(Val::List)
        }
        // A dict iterates (and joins) as its keys.
        ExprKind::Dict(pairs) => pairs
            .iter()
            .map(|(k, _)| f(k))
            .collect::<Option<Vec<_>>>()
            .map(Val::List),
        ExprKind::Name(n) => match scope.binding(n)? {
            Binding::Value(v) => fold(v, scope, hops.checked_sub(1)?),
            Binding::Text(t) => Some(Val::Str(t.clone())),
            Binding::LoopItem(_) | Binding::Opaque => None,
        },
        ExprKind::Attr { obj, name } => {
            let ExprKind::Name(ns) = &obj.kind else {
                return None;
            };
            match scope.binding(&format!("{ns}.{name}")) {
                Some(Binding::Value(v)) => fold(v, scope, hops.checked_sub(1)?),
                Some(Binding::Text(t)) => Some(Val::Str(t.clone())),
                Some(_) => None,
                // Not set since: the value given to `namespace(name=...)`.
                None => match scope.binding(ns)? {
                    Binding::Value(Expr {
                        kind: ExprKind::Call { func, args },
                        ..
                    }) if matches!(&func.kind, ExprKind::Name(n) if n == "namespace") => {
                        fold(args.keyword(name)?, scope, hops.checked_sub(1)?)
                    }
                    _ => None,
                },
            }
        }
        ExprKind::Binary { op, left, right } => {
            let (l, r) = (f(left)?, f(right)?);
            match (op, l, r) {
                (BinOp::Concat, l, r) => bounded(l.text()? + &r.text()?),
                (BinOp::Add, Val::Str(a), Val::Str(b)) => bounded(a + &b),
                (BinOp::Add, Val::Int(a), Val::Int(b)) => a.checked_add(b).map(Val::Int),
                (BinOp::Add, Val::List(mut a), Val::List(b)) => {
                    a.extend(b);
                    (a.len() <= MAX_LEN).then_some(Val::List(a))
                }
                (BinOp::Mul, Val::Str(s), Val::Int(n)) | (BinOp::Mul, Val::Int(n), Val::Str(s)) => {
                    let n = usize::try_from(n).unwrap_or(0);
                    (s.len().saturating_mul(n) <= MAX_LEN).then(|| Val::Str(s.repeat(n)))
                }
                (BinOp::Mod, Val::Str(fmt), args) => printf(&fmt, &args).and_then(bounded),
                _ => None,
            }
        }
        ExprKind::Item { obj, key } => {
            let v = f(obj)?;
            if let ExprKind::Slice { start, stop, step } = &key.kind {
                let int = |x: &Option<Box<Expr>>| -> Option<Option<i64>> {
                    match x {
                        None => Some(None),
                        Some(x) => match f(x)? {
                            Val::Int(i) => Some(Some(i)),
                            _ => None,
                        },
                    }
                };
                let (a, b, c) = (int(start)?, int(stop)?, int(step)?);
                let items = v.items()?;
                let sliced = slice(&items, a, b, c)?;
                return Some(match v {
                    Val::Str(_) => Val::Str(sliced.iter().filter_map(Val::text).collect()),
                    _ => Val::List(sliced),
                });
            }
            let Val::Int(i) = f(key)? else { return None };
            let items = v.items()?;
            let idx = if i < 0 {
                items
                    .len()
                    .checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
            } else {
                usize::try_from(i).ok()?
            };
            items.get(idx).cloned()
        }
        ExprKind::Filter {
            input: Some(input),
            name,
            args,
        } => filter(name, f(input)?, args, scope, hops),
        ExprKind::Call { func, args } => call(func, args, scope, hops),
        _ => None,
    }
}

fn arg_str(args: &Args, i: usize, scope: &Scope, hops: usize) -> Option<String> {
    fold(args.positional.get(i)?, scope, hops)?.text()
}

fn filter(name: &str, v: Val, args: &Args, scope: &Scope, hops: usize) -> Option<Val> {
    match name {
        "join" => {
            let sep = match args.positional.first().or_else(|| args.keyword("d")) {
                Some(s) => fold(s, scope, hops)?.text()?,
                None => String::new(),
            };
            let parts = v
                .items()?
                .iter()
                .map(Val::text)
                .collect::<Option<Vec<_>>>()?;
            bounded(parts.join(&sep))
        }
        "lower" => bounded(v.text()?.to_lowercase()),
        "upper" => bounded(v.text()?.to_uppercase()),
        "trim" => bounded(v.text()?.trim().to_string()),
        "string" => match v {
            Val::List(_) => None,
            v => bounded(v.text()?),
        },
        "reverse" => match v {
            Val::Str(s) => bounded(s.chars().rev().collect()),
            Val::List(mut l) => {
                l.reverse();
                Some(Val::List(l))
            }
            Val::Int(_) => None,
        },
        "first" => v.items()?.first().cloned(),
        "last" => v.items()?.last().cloned(),
        "list" => v.items().map(Val::List),
        "replace" => {
            let (a, b) = (
                arg_str(args, 0, scope, hops)?,
                arg_str(args, 1, scope, hops)?,
            );
            if a.is_empty() {
                return None;
            }
            bounded(v.text()?.replace(&a, &b))
        }
        "format" => {
            let list = args
                .positional
                .iter()
                .map(|a| fold(a, scope, hops))
                .collect::<Option<Vec<_>>>()?;
            printf(&v.text()?, &Val::List(list)).and_then(bounded)
        }
        _ => None,
    }
}

fn call(func: &Expr, args: &Args, scope: &Scope, hops: usize) -> Option<Val> {
    match &func.kind {
        // `dict(__class__=1)` iterates as its keys.
        ExprKind::Name(n) if n == "dict" && !scope.is_bound("dict") => Some(Val::List(
            args.keyword
                .iter()
                .map(|(k, _)| Val::Str(k.clone()))
                .collect(),
        )),
        ExprKind::Attr { obj, name } => {
            let recv = fold(obj, scope, hops)?;
            let s = recv.text()?;
            match name.as_str() {
                "join" => {
                    let items = fold(args.positional.first()?, scope, hops)?.items()?;
                    let parts = items.iter().map(Val::text).collect::<Option<Vec<_>>>()?;
                    bounded(parts.join(&s))
                }
                "format" => {
                    let list = args
                        .positional
                        .iter()
                        .map(|a| fold(a, scope, hops)?.text())
                        .collect::<Option<Vec<_>>>()?;
                    str_format(&s, &list).and_then(bounded)
                }
                "upper" => bounded(s.to_uppercase()),
                "lower" => bounded(s.to_lowercase()),
                "strip" => bounded(s.trim().to_string()),
                "lstrip" => bounded(s.trim_start().to_string()),
                "rstrip" => bounded(s.trim_end().to_string()),
                "replace" => {
                    let (a, b) = (
                        arg_str(args, 0, scope, hops)?,
                        arg_str(args, 1, scope, hops)?,
                    );
                    if a.is_empty() {
                        return None;
                    }
                    bounded(s.replace(&a, &b))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Python `%` formatting for `%s`, `%d`, `%c` and `%%`.
fn printf(fmt: &str, args: &Val) -> Option<String> {
    let list = match args {
        Val::List(l) => l.clone(),
        v => vec![v.clone()],
    };
    let mut it = list.into_iter();
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' => out.push_str(&it.next()?.text()?),
            'd' | 'i' => match it.next()? {
                Val::Int(i) => out.push_str(&i.to_string()),
                _ => return None,
            },
            'c' => match it.next()? {
                Val::Int(i) => out.push(char::from_u32(u32::try_from(i).ok()?)?),
                Val::Str(s) if s.chars().count() == 1 => out.push_str(&s),
                _ => return None,
            },
            _ => return None,
        }
        if out.len() > MAX_LEN {
            return None;
        }
    }
    Some(out)
}

/// Python `str.format` with `{}` and `{N}` fields only.
fn str_format(fmt: &str, args: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut auto = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        ch => field.push(ch),
                    }
                }
                let idx = if field.is_empty() {
                    auto += 1;
                    auto - 1
                } else {
                    field.parse().ok()?
                };
                out.push_str(args.get(idx)?);
            }
            ch => out.push(ch),
        }
        if out.len() > MAX_LEN {
            return None;
        }
    }
    Some(out)
}

fn slice(items: &[Val], a: Option<i64>, b: Option<i64>, c: Option<i64>) -> Option<Vec<Val>> {
    let n = i64::try_from(items.len()).ok()?;
    let step = c.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let norm = |x: i64, lo: i64, hi: i64| {
        let x = if x < 0 { x + n } else { x };
        x.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, end) = (norm(a.unwrap_or(0), 0, n), norm(b.unwrap_or(n), 0, n));
        while i < end {
            out.push(items.get(usize::try_from(i).ok()?)?.clone());
            i += step;
        }
    } else {
        let mut i = a.map_or(n - 1, |x| norm(x, -1, n - 1));
        let end = b.map_or(-1, |x| norm(x, -1, n - 1));
        while i > end {
            out.push(items.get(usize::try_from(i).ok()?)?.clone());
            i += step;
        }
    }
    Some(out)
}
