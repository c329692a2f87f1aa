//! Chat templates: the Jinja2 parser and the rules' tree analysis (never rendered), the
//! token-level fallback scan, and the Keras config walker, all fed text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match modelgate_formats::chat_template::parse(&text) {
        Ok(t) => {
            let facts = modelgate_rules::rules::template::analyze::analyze(&t);
            assert!(facts.hits.iter().all(|h| h.offset <= text.len()));
        }
        Err(e) => assert!(e.offset <= text.len() && e.line >= 1 && e.column >= 1),
    }
    let _ = modelgate_formats::chat_template::scan(&text);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = modelgate_formats::keras::objects(&v);
    }
});
