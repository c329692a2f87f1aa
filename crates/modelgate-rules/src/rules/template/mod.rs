//! `TPL`: Jinja chat templates (GGUF metadata, `tokenizer_config.json`, `chat_template.jinja`)
//! checked for sandbox-escape patterns by a token-level scan of their code; never rendered.

pub mod dunder_access;
pub mod gadget;
pub mod process_access;

use crate::engine::ScanCx;
use modelgate_core::VirtualPath;
use modelgate_formats::chat_template::{HitKind, scan};

/// Most distinct tokens listed as evidence per finding.
const MAX_TOKENS: usize = 16;

/// Scan one template and emit at most one finding per hit kind. `base` is the file offset of
/// the template text when it is stored verbatim (GGUF), so findings point at the first hit.
pub fn check(cx: &mut ScanCx, path: &VirtualPath, base: Option<u64>, source: &str, text: &str) {
    let hits = scan(text);
    for kind in [HitKind::Dunder, HitKind::Gadget, HitKind::Process] {
        let of_kind: Vec<_> = hits.iter().filter(|h| h.kind == kind).collect();
        let Some(first) = of_kind.first() else {
            continue;
        };
        let mut tokens: Vec<String> = Vec::new();
        for h in &of_kind {
            let t = format!("{} ({})", h.token, h.usage.as_str());
            if !tokens.contains(&t) && tokens.len() < MAX_TOKENS {
                tokens.push(t);
            }
        }
        let (meta, what) = match kind {
            HitKind::Dunder => (&dunder_access::META, format!("accesses {}", first.token)),
            HitKind::Gadget => (
                &gadget::META,
                format!("reaches into the Jinja global {:?}", first.token),
            ),
            HitKind::Process => (&process_access::META, format!("names {:?}", first.token)),
        };
        let at = match base.and_then(|b| b.checked_add(first.offset as u64)) {
            Some(off) => path.at(off),
            None => path.clone(),
        };
        let msg = format!(
            "chat template {source} {what} ({}) at template byte {}",
            first.usage.as_str(),
            first.offset
        );
        let mut f = meta
            .finding(at, msg)
            .with("template", source)
            .with("hits", of_kind.len().to_string())
            .help("Never render this template; replace it with the publisher's original and render templates only in a sandboxed Jinja environment");
        for t in tokens {
            f = f.with("token", t);
        }
        cx.emit(f);
    }
}
