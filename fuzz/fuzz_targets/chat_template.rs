//! The chat-template checker (Jinja tokens, never rendered) and the Keras config walker, both
//! fed text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = modelgate_formats::chat_template::scan(&text);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = modelgate_formats::keras::objects(&v);
    }
});
