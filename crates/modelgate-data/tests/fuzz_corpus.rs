//! Stable-toolchain replay of the committed fuzz corpora of modelgate-data
//! (`fuzz/corpus/{data_state,parquet_input}`), exactly as the fuzz targets call the code, plus
//! deterministic mutations of every seed (flipped bytes, truncations): never a panic, and the
//! untouched seeds parse.

use modelgate_data::baseline::State;
use modelgate_data::packed::{decode, pairs};
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.ok()?.path();
            let d = std::fs::read(&p).ok()?;
            Some((p, d))
        })
        .collect();
    v.sort();
    v
}

/// Deterministic variants of `seed`: the seed, byte flips, stretches XOR-ed, truncations.
fn variants(seed: &[u8], rounds: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d ^ seed.len() as u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = vec![seed.to_vec()];
    let n = seed.len().max(1) as u64;
    for r in 0..rounds {
        let mut v = seed.to_vec();
        match r % 3 {
            0 => {
                if let Some(b) = v.get_mut((next() % n) as usize) {
                    *b = (next() & 0xff) as u8;
                }
            }
            1 => {
                let start = (next() % n) as usize;
                for b in v.iter_mut().skip(start).take(16) {
                    *b ^= 0x5a;
                }
            }
            _ => v.truncate((next() % n) as usize),
        }
        out.push(v);
    }
    out
}

fn exercise_state(data: &[u8]) {
    let _ = decode::<u16>(data);
    let _ = decode::<u32>(data);
    let _ = decode::<f32>(data);
    let _ = pairs::decode(data);
    let _ = serde_json::from_slice::<State>(data);
}

#[test]
fn state_corpus_and_mutations_never_panic() {
    let seeds = corpus("data_state");
    assert!(seeds.len() >= 3, "corpus too small");
    for (p, d) in &seeds {
        if p.extension().is_some_and(|e| e == "json") {
            assert!(
                serde_json::from_slice::<State>(d).is_ok(),
                "{} does not parse",
                p.display()
            );
        } else {
            assert!(
                decode::<u32>(d).is_ok()
                    || decode::<f32>(d).is_ok()
                    || decode::<u16>(d).is_ok()
                    || pairs::decode(d).is_ok(),
                "{} is no packed table",
                p.display()
            );
        }
        for v in variants(d, 60) {
            exercise_state(&v);
        }
    }
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_corpus_and_mutations_never_panic() {
    use modelgate_data::read::{Limits, Spec, read};
    let seeds = corpus("parquet_input");
    assert!(seeds.len() >= 2, "corpus too small");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = Spec {
        label: Some("label".into()),
        text: Some("text".into()),
        ..Spec::default()
    };
    let limits = Limits::default();
    let mut read_ok = 0;
    for (p, d) in &seeds {
        for (i, v) in variants(d, 30).into_iter().enumerate() {
            let f = dir.path().join("f.parquet");
            std::fs::write(&f, &v).unwrap_or_else(|e| panic!("{e}"));
            let chat = read(&f, &Spec::default(), &limits);
            let _ = read(&f, &text, &limits);
            if i == 0 && chat.is_ok() {
                read_ok += 1;
            }
            if let Err(e) = chat {
                assert!(!e.to_string().is_empty(), "{}", p.display());
            }
        }
    }
    assert!(read_ok >= 1, "no seed was read at all");
}
