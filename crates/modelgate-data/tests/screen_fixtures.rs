//! Baseline + batch screening (continual learning): a trusted half of the SpamAssassin
//! sample, then batches from 20 reporting accounts of which two attackers send the poison
//! and clean cover rows (see `tests/gen/make_poison.py`).

use modelgate_data::baseline::{State, fit_file, screen_file};
use modelgate_data::read::{Limits, Spec};
use std::collections::HashSet;
use std::path::PathBuf;

fn label_spec() -> Spec {
    Spec {
        label: Some("label".into()),
        ..Spec::default()
    }
}

/// The poisoned row ids of a fixture (`NAME.truth.txt`).
fn truth_ids(name: &str) -> HashSet<String> {
    std::fs::read_to_string(fixture(&format!("{name}.truth.txt")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A baseline state fitted on a fixture (with its row vectors when `npy` is given).
fn baseline(csv: &str, npy: Option<&str>) -> State {
    let npy = npy.map(fixture);
    fit_file(
        &fixture(csv),
        &label_spec(),
        npy.as_deref(),
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{csv}: {e}"))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn batches_are_gated_against_the_baseline() {
    let state = baseline("stream_baseline.csv.gz", None);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("state.gz");
    state.save(&path).unwrap_or_else(|e| panic!("{e}"));
    let state = State::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut results = Vec::new();
    for name in ["clean", "flip10", "trigger05", "cleanlabel05"] {
        let rep = screen_file(
            &state,
            &fixture(&format!("stream_batch_{name}.csv.gz")),
            None,
            Some("source"),
            None,
            0.05,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let truth = truth_ids(&format!("stream_batch_{name}"));
        let flagged: HashSet<String> = rep
            .flagged
            .iter()
            .filter_map(|f| f.id.as_str().map(str::to_string))
            .collect();
        let tp = flagged.intersection(&truth).count();
        eprintln!(
            "{name}: verdict {:?}, {} flagged, {tp} of {} poisoned",
            rep.verdict,
            flagged.len(),
            truth.len()
        );
        results.push((name, rep, flagged.len(), tp, truth.len()));
    }
    let (_, clean, nflag, _, _) = &results[0];
    assert_ne!(
        clean.verdict.as_deref(),
        Some("reject"),
        "clean batch rejected: {:?}",
        clean.stats.extra.get("alarms")
    );
    assert!(*nflag <= 2, "clean batch: {nflag} rows flagged");
    for (name, rep, nflag, tp, nt) in &results[1..] {
        assert_eq!(rep.verdict.as_deref(), Some("reject"), "{name}");
        let p = *tp as f64 / (*nflag).max(1) as f64;
        let r = *tp as f64 / (*nt).max(1) as f64;
        assert!(p >= 0.7 && r >= 0.7, "{name}: P {p:.2} R {r:.2}");
    }
    // The triggers are named, and the flip attacker account is found.
    let trig = &results[2].1;
    assert!(
        trig.attacks
            .iter()
            .any(|a| a.kind == "new-trigger" && a.details["trigger"] == "zx9")
    );
    let cl = &results[3].1;
    assert!(
        cl.attacks
            .iter()
            .any(|a| a.kind == "new-trigger" && a.details["kind"] == "clean-label")
    );
    let flips = &results[1].1;
    assert!(
        flips
            .attacks
            .iter()
            .any(|a| a.kind == "source-anomaly" && a.summary.contains("user13"))
    );
}

#[test]
fn corrupt_state_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("bad.gz");
    std::fs::write(&p, b"definitely not a state").unwrap_or_else(|e| panic!("{e}"));
    let e = State::load(&p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("not a modelgate baseline state"), "{e}");
}

/// `--vectors` for baseline and screen: digits as .npy row vectors (tests/gen/make_vectors.py).
#[test]
fn vector_batches_are_screened_against_a_vector_baseline() {
    let state = baseline("vec_baseline.csv", Some("vec_baseline.npy"));
    assert!(state.vectors);
    let batch_npy = fixture("vec_batch_clean.npy");
    let screen = |name: &str| {
        screen_file(
            &state,
            &fixture(&format!("vec_batch_{name}.csv")),
            Some(&batch_npy),
            None,
            None,
            0.05,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let clean = screen("clean");
    assert_ne!(clean.verdict.as_deref(), Some("reject"));
    assert!(clean.flagged.len() <= 20, "{} flagged", clean.flagged.len());
    let flips = screen("flip10");
    assert_eq!(flips.verdict.as_deref(), Some("reject"));
    let truth = truth_ids("vec_batch_flip10");
    let flagged: HashSet<String> = flips
        .flagged
        .iter()
        .filter(|f| f.reasons.iter().any(|r| r == "baseline-disagreement"))
        .filter_map(|f| f.id.as_str().map(str::to_string))
        .collect();
    let tp = flagged.intersection(&truth).count();
    let (p, r) = (
        tp as f64 / flagged.len().max(1) as f64,
        tp as f64 / truth.len() as f64,
    );
    eprintln!(
        "vector flips: P {p:.2} R {r:.2} ({} flagged)",
        flagged.len()
    );
    assert!(p >= 0.8 && r >= 0.7, "P {p:.2} R {r:.2}");
}

#[test]
fn vector_baseline_and_batch_must_match() {
    let state = baseline("vec_baseline.csv", Some("vec_baseline.npy"));
    let batch = fixture("vec_batch_clean.csv");
    let err = |v: Option<&std::path::Path>| {
        screen_file(&state, &batch, v, None, None, 0.05)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        err(None).contains("give the batch's vectors"),
        "{}",
        err(None)
    );
    // Row count differs (the baseline's 1 000 vectors against a 797-row batch).
    let e = err(Some(&fixture("vec_baseline.npy")));
    assert!(e.contains("vectors have 1000 rows"), "{e}");
    // A text baseline does not take vectors.
    let text = baseline("stream_baseline.csv.gz", None);
    let e = screen_file(
        &text,
        &batch,
        Some(&fixture("vec_batch_clean.npy")),
        None,
        None,
        0.05,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("not on vectors"), "{e}");
}

#[test]
fn npz_archives_give_the_same_vectors_and_clear_errors() {
    let limits = Limits::default();
    let npy = modelgate_data::read::read_npy(&fixture("vec_baseline.npy"), &limits)
        .unwrap_or_else(|e| panic!("{e}"));
    let npz = modelgate_data::read::read_npy(&fixture("vec_baseline.npz"), &limits)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(npy.len(), 1000);
    assert_eq!(npy, npz);
    let e = modelgate_data::read::read_npy(&fixture("vec_two_arrays.npz"), &limits)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("several arrays (a.npy, b.npy)"), "{e}");
    // A truncated archive is an error, not a panic.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.path().join("cut.npz");
    let bytes = std::fs::read(fixture("vec_baseline.npz")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    assert!(modelgate_data::read::read_npy(&cut, &limits).is_err());
}
