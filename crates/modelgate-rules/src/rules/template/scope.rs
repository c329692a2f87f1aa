//! What names mean at a point of a template, in source order: what `{% set %}` bound them to
//! (for folding and for showing access chains through aliases), the loop they iterate, or
//! just "bound locally" (macro parameters, imports). Bindings only accumulate: a name bound
//! anywhere earlier in the text counts as bound, whichever branch bound it.

use modelgate_formats::chat_template::ast::Expr;
use std::collections::HashMap;

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

#[derive(Debug, Default)]
pub struct Scope<'t> {
    names: HashMap<String, Binding<'t>>,
}

impl<'t> Scope<'t> {
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
