#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/scan")
        .join(name);
    std::fs::read(p).unwrap()
}

#[test]
fn dump_all() {
    for n in std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan"),
    )
    .unwrap()
    {
        let n = n.unwrap().file_name().into_string().unwrap();
        if !n.ends_with(".h5") {
            continue;
        }
        let f = parse(&fixture(&n), &Limits::default());
        match f {
            Ok(f) => {
                println!(
                    "== {n}: v{} sb@{} issues {:?}",
                    f.version, f.superblock_offset, f.issues
                );
                for o in &f.objects {
                    println!(
                        "  {} {:?} attrs {:?}",
                        o.path,
                        o.kind,
                        o.attributes
                            .iter()
                            .map(|a| (
                                a.name.clone(),
                                a.datatype.describe(),
                                format!("{:?}", a.value)
                                    .chars()
                                    .take(80)
                                    .collect::<String>()
                            ))
                            .collect::<Vec<_>>()
                    );
                }
            }
            Err(e) => println!("== {n}: ERR {e}"),
        }
    }
}
