//! The machine against CPython's own loader on text-literal edge cases
//! (`tests/fixtures/scan/LOADER_ORACLE.json`, made by `tests/fixtures/gen/loader_oracle.py`).
//!
//! Safety property: every stream the loader accepts, the machine runs to its STOP (stopping
//! earlier would hide whatever the loader runs next), with the same integer values. Integer
//! literals must also be rejected where the loader rejects them.

use modelgate_formats::pickle::pyint::{PyInt, int_opcode, python_int};
use modelgate_formats::pickle::symbolic::{StreamEnd, VmLimits, run_stream};
use std::path::Path;

#[derive(serde::Deserialize)]
struct Case {
    op: String,
    arg: String,
    accepted: bool,
    value: Option<String>,
}

fn limits() -> VmLimits {
    VmLimits {
        max_ops: 1000,
        max_values: 1000,
        max_memo: 100,
        max_nesting: 2,
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn stream(c: &Case) -> Vec<u8> {
    // Latin-1, as the oracle encodes the argument.
    let line: Vec<u8> = c
        .arg
        .chars()
        .map(|ch| ch as u32 as u8)
        .chain([b'\n'])
        .collect();
    let mut d = Vec::new();
    match c.op.as_str() {
        "I" | "L" | "F" => {
            d.extend_from_slice(c.op.as_bytes());
            d.extend_from_slice(&line);
        }
        "p" => {
            d.extend_from_slice(b"Np");
            d.extend_from_slice(&line);
        }
        "g" => {
            d.extend_from_slice(b"Np10\n0g");
            d.extend_from_slice(&line);
        }
        "X" => {
            let p = hex(&c.arg);
            d.push(b'X');
            d.extend_from_slice(&(p.len() as u32).to_le_bytes());
            d.extend_from_slice(&p);
        }
        other => panic!("unknown op {other}"),
    }
    d.extend_from_slice(b"0N.");
    d
}

/// The machine's value for an INT/LONG literal, as Python prints it.
fn int_value(c: &Case) -> Option<String> {
    let t = c.arg.trim_end_matches('\r');
    let v = match c.op.as_str() {
        "I" => match t.trim() {
            "00" => Some(PyInt::Small(0)),
            "01" => Some(PyInt::Small(1)),
            s => int_opcode(s),
        },
        _ => python_int(t.strip_suffix('L').unwrap_or(t), 0),
    }?;
    Some(match v {
        PyInt::Small(i) => i.to_string(),
        PyInt::Big(s) => s,
    })
}

#[test]
fn the_machine_accepts_what_the_loader_accepts() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/scan/LOADER_ORACLE.json");
    let cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 250);
    let mut failures = Vec::new();
    for c in &cases {
        let d = stream(c);
        let p = run_stream(&d, 0, limits());
        let ran = matches!(p.end, StreamEnd::Stop { .. });
        if c.accepted && !ran {
            failures.push(format!(
                "{} {:?}: the loader accepts it, the machine stops: {:?}",
                c.op, c.arg, p.end
            ));
        }
        // A grammar rejection must match too; running out of memory for a huge memo index
        // is not grammar (the machine going on there only reports more).
        let resource = c.value.as_deref() == Some("MemoryError");
        if matches!(c.op.as_str(), "I" | "L" | "p" | "g") && !c.accepted && ran && !resource {
            failures.push(format!(
                "{} {:?}: the loader rejects it, the machine accepts it",
                c.op, c.arg
            ));
        }
        if c.accepted && matches!(c.op.as_str(), "I" | "L") {
            let want = c.value.clone().unwrap_or_default();
            let got = int_value(c).unwrap_or_default();
            // Values beyond i64 are kept as their literal; compare those only when decimal.
            let comparable =
                got.parse::<i64>().is_ok() || got.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            if comparable && got != want {
                failures.push(format!(
                    "{} {:?}: value {got}, the loader's {want}",
                    c.op, c.arg
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
