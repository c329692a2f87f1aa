//! Parquet input for `modelgate data`: chat detection and the nested-to-JSON conversion (no
//! columns named), and a tabular read with a text and a label column.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_data::read::{Limits, Spec, read};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let p = dir.path().join("f.parquet");
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let limits = Limits::default();
    let _ = read(&p, &Spec::default(), &limits);
    let text = Spec {
        label: Some("label".into()),
        text: Some("text".into()),
        ..Spec::default()
    };
    let _ = read(&p, &text, &limits);
});
