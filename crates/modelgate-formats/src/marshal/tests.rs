#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn seed(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/marshal")
        .join(name);
    std::fs::read(p).unwrap()
}

#[test]
fn dump() {
    for n in ["py38", "py310", "py311_nested", "py312"] {
        let d = disassemble(&seed(n), &Limits::default());
        println!("{n}: {d:#?}");
    }
}
