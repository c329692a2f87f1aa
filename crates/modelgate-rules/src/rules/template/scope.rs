//! What names mean at a point of a template, in source order: what `{% set %}` bound them to
//! (for folding and for showing access chains through aliases), the loop they iterate, or
//! just "bound locally" (macro parameters, imports). Bindings only accumulate: a name bound
//! anywhere earlier in the text counts as bound, whichever branch bound it.

use modelgate_formats::chat_template::ast::Expr;
use std::cell::Cell;
use std::collections::HashMap;

/// Folding steps allowed for one template, and for one folded expression: `{% set %}` chains
/// can make folding exponential (`{% set a = b + b + b %}{% set b = c + c + c %}...`).
pub const TEMPLATE_FUEL: u64 = 2_000_000;
pub const EXPR_FUEL: u64 = 20_000;

#[derive(Debug, Clone)]
pub enum Binding<'t> {
    /// `{% set name = value %}` (the last one in the text so far).
    Value(&'t Expr),
    /// `{% set name %}text{% endset %}` with a body of plain text.
    Text(String),
    /// The target of `{% for name in iter %}`.
    LoopItem(&'t Expr),
    /// Bound, value unknown (tuple targets, macro parameters, imports).
    Opaque,
}

#[derive(Debug)]
pub struct Scope<'t> {
    names: HashMap<String, Binding<'t>>,
    template_fuel: Cell<u64>,
    expr_fuel: Cell<u64>,
    exhausted: Cell<bool>,
}

impl Default for Scope<'_> {
    fn default() -> Self {
        Scope {
            names: HashMap::new(),
            template_fuel: Cell::new(TEMPLATE_FUEL),
            expr_fuel: Cell::new(EXPR_FUEL),
            exhausted: Cell::new(false),
        }
    }
}

impl<'t> Scope<'t> {
    /// Start folding one expression.
    pub fn refuel(&self) {
        self.expr_fuel.set(EXPR_FUEL);
    }

    /// Take one folding step; `false` when a budget is used up.
    pub fn burn(&self) -> bool {
        let (t, e) = (self.template_fuel.get(), self.expr_fuel.get());
        if t == 0 || e == 0 {
            self.exhausted.set(true);
            return false;
        }
        self.template_fuel.set(t - 1);
        self.expr_fuel.set(e - 1);
        true
    }

    /// Whether folding ever stopped for lack of budget.
    pub fn exhausted(&self) -> bool {
        self.exhausted.get()
    }

    pub fn bind(&mut self, name: &str, b: Binding<'t>) {
        self.names.insert(name.to_string(), b);
    }

    pub fn binding(&self, name: &str) -> Option<&Binding<'t>> {
        self.names.get(name)
    }

    pub fn is_bound(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }
}
