//! The symbolic machine's fast path must behave exactly like the general decoder and
//! dispatcher: same values, events, end, offsets, frame issues and protocol violations.
//! Both are run over every scan fixture and fuzz seed (from offset 0 and from every
//! PROTO-looking offset inside, which reaches pickles inside zip members), and over
//! deterministic mutations of those files (flipped, truncated and duplicated bytes).

use modelgate_formats::pickle::symbolic::{VmLimits, run_stream, run_stream_reference};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = Vec::new();
    files(&root.join("tests/fixtures/scan"), &mut paths);
    files(&root.join("fuzz/corpus/pickle_vm"), &mut paths);
    files(&root.join("fuzz/corpus/scan_bytes"), &mut paths);
    files(&root.join("examples"), &mut paths);
    paths
        .into_iter()
        .filter_map(|p| {
            let d = std::fs::read(&p).ok()?;
            (d.len() <= 4 << 20).then_some((p, d))
        })
        .collect()
}

fn limits() -> VmLimits {
    VmLimits {
        max_ops: 200_000,
        max_values: 200_000,
        max_memo: 10_000,
        max_nesting: 4,
    }
}

/// Start offsets worth running from: 0 and every `\x80` followed by a protocol number.
fn starts(d: &[u8]) -> Vec<usize> {
    let mut s = vec![0];
    s.extend(
        d.windows(2)
            .enumerate()
            .filter(|(i, w)| *i > 0 && w[0] == 0x80 && w[1] <= 5)
            .map(|(i, _)| i)
            .take(32),
    );
    s
}

fn same(label: &str, d: &[u8], start: usize, lim: VmLimits) -> bool {
    let a = format!("{:?}", run_stream(d, start, lim));
    let b = format!("{:?}", run_stream_reference(d, start, lim));
    if a != b {
        let k = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let lo = k.saturating_sub(150);
        eprintln!(
            "fast path differs on {label} from offset {start}:\n fast: {}\n  ref: {}",
            a.get(lo..(k + 150).min(a.len())).unwrap_or(""),
            b.get(lo..(k + 150).min(b.len())).unwrap_or("")
        );
        return false;
    }
    true
}

#[test]
fn fast_path_matches_the_reference_on_every_fixture() {
    let corpus = corpus();
    assert!(corpus.len() > 100, "fixtures not found ({})", corpus.len());
    let mut bad = 0;
    let mut runs = 0;
    for (p, d) in &corpus {
        for s in starts(d) {
            runs += 1;
            if !same(&p.display().to_string(), d, s, limits()) {
                bad += 1;
            }
        }
    }
    assert!(runs > corpus.len());
    assert_eq!(bad, 0, "{bad} of {runs} runs differ");
}

#[test]
fn fast_path_matches_the_reference_on_mutations_and_tight_budgets() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut bad = 0;
    let mut runs = 0;
    for (p, d) in corpus().iter().filter(|(_, d)| d.len() <= 64 << 10) {
        for round in 0..24 {
            let mut m = d.clone();
            if m.is_empty() {
                break;
            }
            let len = m.len() as u64;
            match round % 4 {
                0 | 1 => {
                    for _ in 0..1 + round % 3 {
                        let i = (next() % len) as usize;
                        m[i] = (next() & 0xff) as u8;
                    }
                }
                2 => m.truncate((next() % len) as usize),
                _ => {
                    let i = (next() % len) as usize;
                    let j = (i + 1 + (next() % 16) as usize).min(m.len());
                    let dup = m[i..j].to_vec();
                    m.splice(i..i, dup);
                }
            }
            // Tight budgets exercise the budget checks on both paths.
            let lim = if round % 5 == 0 {
                VmLimits {
                    max_ops: 1 + (next() % 64) as usize,
                    max_values: 1 + (next() % 64) as usize,
                    max_memo: 1 + (next() % 8) as usize,
                    max_nesting: 1,
                }
            } else {
                limits()
            };
            for s in starts(&m).into_iter().take(4) {
                runs += 1;
                if !same(&format!("{} mutation {round}", p.display()), &m, s, lim) {
                    bad += 1;
                }
            }
        }
    }
    assert!(runs > 1000, "only {runs} runs");
    assert_eq!(bad, 0, "{bad} of {runs} runs differ");
}

#[test]
fn fast_path_matches_the_reference_on_protocol_0_edge_cases() {
    let cases: &[&[u8]] = &[
        b"(lp0\nF1.5\naF 2.5 \r\nap1\ng1\na.",
        b"(lp0\nF1e\na.",
        b"(lp0\nF\xc3\xa9\na.",
        b"(lp0\nFinf\naF-NaN\naF+1.e5\naF.5\naF5.\na.",
        b"(lp0\np+1\ng1\n.",
        b"(lp00\ng00\n.",
        b"(lp0\ng1\n.",
        b"(lp0\np1\ng 1 \n.",
        b"(lp0\np-1\n.",
        b"(lp0\np99999999999999999999\n.",
        b"(lp0\np1",
        b"(lp0\nF1.0",
        b"(dp0\nVa\np1\nF0.25\nsVb\np2\ng1\ns.",
        b"\x80\x02]q\x00(K\x01M\x02\x01J\xff\xff\xff\xffG?\xf0\x00\x00\x00\x00\x00\x00e.",
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01\x8c\x01bK\x02u.",
        b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01\x8c\x01bu.",
        b"\x80\x02(K\x01e.",
        b"\x80\x02]q\x00(K\x01(e.",
        b"\x80\x02K\x01K\x02\x86\x94h\x00h\x01.",
        b"\x80\x02X\x02\x00\x00\x00\xff\xfe.",
        b"\x80\x02X\xff\x00\x00\x00ab.",
        b"\x80\x01K\x01\x85K\x02s.",
    ];
    for (i, c) in cases.iter().enumerate() {
        assert!(same(&format!("case {i}"), c, 0, limits()), "case {i}");
    }
}
