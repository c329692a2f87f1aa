//! `TPL`: Jinja chat templates (GGUF metadata, `tokenizer_config.json`, `chat_template.jinja`),
//! parsed into a syntax tree and checked for sandbox-escape patterns; never rendered.
//!
//! `analyze` walks the tree (with `fold` for names built from pieces and `scope` for what
//! `{% set %}` and loops bind); `check` turns its facts into at most one finding per rule.
//! A template the parser rejects is reported (`TPL004`) and then searched token by token
//! (`modelgate_formats::chat_template::tokens`), so it never passes unexamined.

pub mod analyze;
pub mod dunder_access;
pub mod fold;
pub mod gadget;
pub mod include;
pub mod inventory;
pub mod process_access;
pub mod scope;
pub mod unparseable;

use crate::engine::ScanCx;
use analyze::{Facts, Hit, HitKind};
use modelgate_core::{Confidence, Finding, Kind, RuleMeta, VirtualPath};
use modelgate_formats::chat_template::{self as ct, line_col};

/// Most distinct tokens and chains listed as evidence per finding.
const MAX_TOKENS: usize = 16;
const MAX_CHAINS: usize = 8;

const HELP: &str = "Never render this template; replace it with the publisher's original and render templates only in a sandboxed Jinja environment (ImmutableSandboxedEnvironment)";

/// Where the template sits in the scanned file.
struct Origin<'a> {
    path: &'a VirtualPath,
    /// File offset of the template text when it is stored verbatim (GGUF, `.jinja`).
    base: Option<u64>,
    source: &'a str,
    text: &'a str,
}

impl Origin<'_> {
    fn at(&self, offset: usize) -> VirtualPath {
        match self.base.and_then(|b| b.checked_add(offset as u64)) {
            Some(off) => self.path.at(off),
            None => self.path.clone(),
        }
    }
}

/// Parse one template, check it and emit the findings. `base` is the file offset of the
/// template text when it is stored verbatim (GGUF), so findings point at the first hit.
pub fn check(cx: &mut ScanCx, path: &VirtualPath, base: Option<u64>, source: &str, text: &str) {
    let origin = Origin {
        path,
        base,
        source,
        text,
    };
    match parse_and_analyze(text) {
        Ok(facts) => {
            emit_hits(cx, &origin, &facts.hits);
            if facts.fold_budget_exhausted {
                let mut f = unparseable::META
                    .finding(
                        origin.at(0),
                        format!("chat template {source} builds names too elaborately to be worked out within the analysis budget"),
                    )
                    .with("template", source)
                    .with("error", "fold-budget")
                    .help("Some names built from pieces were not worked out; review the template by hand");
                f.kind = Kind::Budget;
                cx.emit(f);
            }
            cx.emit(inventory_finding(&origin, &facts));
        }
        Err(e) => {
            let mut f = unparseable::META
                .finding(
                    origin.at(e.offset),
                    format!("chat template {source} could not be parsed: {e}"),
                )
                .with("template", source)
                .with("error", e.kind.as_str())
                .with("line", e.line.to_string())
                .with("column", e.column.to_string())
                .with("reason", e.message.clone())
                .help("A template that is not valid Jinja2 fails when rendered by transformers and llama.cpp alike; the publisher's original parses. It was searched token by token instead");
            if e.kind.is_limit() {
                f.kind = Kind::Budget;
            }
            cx.emit(f);
            emit_hits(cx, &origin, &token_hits(text));
        }
    }
}

/// Stack of the thread that parses and analyses a template: the parser measures its own
/// stack use (`Limits::max_stack`), but the walks over the tree recurse as deep as the tree
/// is high (`Limits::max_height`), and debug builds use many times the stack of release
/// builds. The reservation is virtual memory; only what is used gets committed.
const ANALYSIS_STACK: usize = 64 << 20;

fn parse_and_analyze(text: &str) -> Result<Facts, ct::ParseError> {
    fn run(text: &str) -> Result<Facts, ct::ParseError> {
        ct::parse(text).map(|t| analyze::analyze(&t))
    }
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("chat-template".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(s, move || run(text));
        match spawned {
            // A panic is re-raised here, where the engine turns it into a finding.
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => run(text),
        }
    })
}

/// The fallback scan's hits in the shape of the tree analysis' hits.
fn token_hits(text: &str) -> Vec<Hit> {
    ct::scan(text)
        .into_iter()
        .map(|h| Hit {
            kind: match h.kind {
                ct::HitKind::Dunder => HitKind::Dunder,
                ct::HitKind::Gadget => HitKind::Gadget,
                ct::HitKind::Process => HitKind::Process,
            },
            chain: h.token.clone(),
            name: h.token,
            how: h.usage.as_str(),
            offset: h.offset,
            access: h.usage != ct::Usage::String,
        })
        .collect()
}

fn emit_hits(cx: &mut ScanCx, origin: &Origin, hits: &[Hit]) {
    for kind in [
        HitKind::Dunder,
        HitKind::Gadget,
        HitKind::Process,
        HitKind::Include,
    ] {
        let of_kind: Vec<&Hit> = hits.iter().filter(|h| h.kind == kind).collect();
        if let Some(f) = kind_finding(origin, kind, &of_kind) {
            cx.emit(f);
        }
    }
}

fn kind_finding(origin: &Origin, kind: HitKind, hits: &[&Hit]) -> Option<Finding> {
    // Lead with the first real access; bare string pieces only when there is nothing else.
    let accesses = hits.iter().filter(|h| h.access).min_by_key(|h| h.offset);
    let first = accesses.or_else(|| hits.iter().min_by_key(|h| h.offset))?;
    let (meta, what): (&RuleMeta, String) = match kind {
        HitKind::Dunder => (&dunder_access::META, format!("reaches {}", first.name)),
        HitKind::Gadget => (
            &gadget::META,
            format!("reaches into the Jinja global {:?}", first.name),
        ),
        HitKind::Process => (&process_access::META, format!("names {:?}", first.name)),
        HitKind::Include => (
            &include::META,
            format!("pulls in the template {:?}", first.name),
        ),
    };
    let (line, column) = line_col(origin.text, first.offset);
    let msg = format!(
        "chat template {} {what} ({}) at line {line}, column {column}: {}",
        origin.source, first.how, first.chain
    );
    let mut f = meta
        .finding(origin.at(first.offset), msg)
        .with("template", origin.source)
        .with("hits", hits.len().to_string())
        .with("line", line.to_string())
        .with("column", column.to_string())
        .help(HELP);
    if accesses.is_none() {
        f = f.confidence(Confidence::Medium);
    }
    let mut tokens: Vec<String> = Vec::new();
    let mut chains: Vec<&str> = vec![first.chain.as_str()];
    for h in hits {
        let t = format!("{} ({})", h.name, h.how);
        if !tokens.contains(&t) && tokens.len() < MAX_TOKENS {
            tokens.push(t);
        }
        if h.access && !chains.contains(&h.chain.as_str()) && chains.len() < MAX_CHAINS {
            chains.push(&h.chain);
        }
    }
    for t in tokens {
        f = f.with("token", t);
    }
    for c in chains {
        f = f.with("chain", c);
    }
    Some(f)
}

fn inventory_finding(origin: &Origin, facts: &Facts) -> Finding {
    let inv = &facts.inventory;
    let join = |set: &mut dyn Iterator<Item = &str>| set.collect::<Vec<_>>().join(", ");
    let statements = join(&mut inv.statements.iter().copied());
    let filters = join(&mut inv.filters.iter().map(String::as_str));
    let tests = join(&mut inv.tests.iter().map(String::as_str));
    let globals = join(&mut inv.globals.iter().map(String::as_str));
    let methods = join(&mut inv.methods.iter().map(String::as_str));
    let msg = format!(
        "chat template {} parsed ({} nodes); globals: {}",
        origin.source,
        facts.nodes,
        if globals.is_empty() { "none" } else { &globals }
    );
    inventory::META
        .finding(origin.at(0), msg)
        .with("template", origin.source)
        .with("nodes", facts.nodes.to_string())
        .with("statements", statements)
        .with("filters", filters)
        .with("tests", tests)
        .with("globals", globals)
        .with("methods", methods)
}
