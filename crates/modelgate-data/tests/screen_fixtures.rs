//! Baseline + batch screening (continual learning): a trusted half of the SpamAssassin
//! sample, then batches from 20 reporting accounts of which two attackers send the poison
//! and clean cover rows (see `tests/gen/make_poison.py`).

use modelgate_data::Report;
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

/// Screen `stream_batch_{name}.csv.gz` (source column `source`, 5 % flag budget).
fn screen_stream_batch(state: &State, name: &str) -> Report {
    screen_file(
        state,
        &fixture(&format!("stream_batch_{name}.csv.gz")),
        None,
        Some("source"),
        None,
        0.05,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The error `State::load` gives for `p` ("" when it loads).
fn load_error(p: &std::path::Path) -> String {
    State::load(p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
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
        let rep = screen_stream_batch(&state, name);
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
    let e = load_error(&p);
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

/// The JSON report without its timing.
fn report_json(r: &modelgate_data::Report) -> String {
    let mut r = r.clone();
    r.stats.seconds = 0.0;
    modelgate_data::render::json(&r)
}

/// Version-2 states pack their large tables; they load back exactly, and a version-1 state
/// (the same tables as plain JSON arrays) still loads and screens to the same report.
#[test]
fn states_round_trip_and_old_states_still_load() {
    let state = baseline("stream_baseline.csv.gz", None);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("state.gz");
    state.save(&path).unwrap_or_else(|e| panic!("{e}"));
    let back = State::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.version, 2);
    assert_eq!(back.model.map, state.model.map);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.model.w), bits(&state.model.w));
    assert_eq!(bits(&back.nb.counts), bits(&state.nb.counts));
    let idf = |s: &State| match &s.featurizer {
        modelgate_data::baseline::StateFeaturizer::Text(i) => bits(&i.idf),
        _ => Vec::new(),
    };
    assert!(!idf(&state).is_empty());
    assert_eq!(idf(&back), idf(&state));
    assert_eq!(back.ngram_df, state.ngram_df);
    assert_eq!(back.content, state.content);
    assert_eq!(back.bands, state.bands);
    assert_eq!(back.row_labels, state.row_labels);
    // The same state in the version-1 layout (plain JSON arrays).
    let mut v1 = serde_json::to_value(&state).unwrap_or_else(|e| panic!("{e}"));
    v1["version"] = serde_json::json!(1);
    v1["model"]["map"] = serde_json::json!(state.model.map);
    v1["model"]["w"] = serde_json::json!(state.model.w);
    v1["nb"]["counts"] = serde_json::json!(state.nb.counts);
    if let modelgate_data::baseline::StateFeaturizer::Text(i) = &state.featurizer {
        v1["featurizer"]["Text"]["idf"] = serde_json::json!(i.idf);
    }
    v1["ngram_df"] = serde_json::json!(state.ngram_df);
    v1["content"] = serde_json::json!(state.content);
    v1["bands"] = serde_json::json!(state.bands);
    v1["row_labels"] = serde_json::json!(state.row_labels);
    let old = dir.path().join("old.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&old).unwrap_or_else(|e| panic!("{e}")),
        flate2::Compression::fast(),
    );
    serde_json::to_writer(&mut gz, &v1).unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"));
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    assert!(
        size(&path) < size(&old),
        "{} vs {}",
        size(&path),
        size(&old)
    );
    let old_state = State::load(&old).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(old_state.version, 1);
    let batch = fixture("stream_batch_trigger05.csv.gz");
    let screen = |s: &State| {
        screen_file(s, &batch, None, Some("source"), None, 0.05).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        report_json(&screen(&old_state)),
        report_json(&screen(&back))
    );
    // A corrupt packed table is a clear error.
    let mut bad = serde_json::to_value(&state).unwrap_or_else(|e| panic!("{e}"));
    bad["ngram_df"] = serde_json::json!("AQAAEAA=");
    let badp = dir.path().join("bad.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&badp).unwrap_or_else(|e| panic!("{e}")),
        flate2::Compression::fast(),
    );
    serde_json::to_writer(&mut gz, &bad).unwrap_or_else(|e| panic!("{e}"));
    gz.finish().unwrap_or_else(|e| panic!("{e}"));
    let e = load_error(&badp);
    assert!(e.contains("packed table"), "{e}");
}

/// The screen runs its per-row work in parallel; the report does not depend on the number of
/// threads (text and numeric baselines).
#[test]
fn screen_reports_do_not_depend_on_the_thread_count() {
    let text = baseline("stream_baseline.csv.gz", None);
    let vec = baseline("vec_baseline.csv", Some("vec_baseline.npy"));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| {
            let mut out = Vec::new();
            for name in ["clean", "flip10", "trigger05", "cleanlabel05"] {
                let r = screen_stream_batch(&text, name);
                out.push(report_json(&r));
            }
            let r = screen_file(
                &vec,
                &fixture("vec_batch_flip10.csv"),
                Some(&fixture("vec_batch_clean.npy")),
                None,
                None,
                0.05,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            out.push(report_json(&r));
            out
        })
    };
    let one = run(1);
    assert!(one[2].contains("new-trigger"));
    assert_eq!(one, run(3));
}

/// A baseline whose saturating n-gram cells are all taken (as they are for a large baseline:
/// 2^20 cells against millions of n-grams) must still see that a trigger token is new: the
/// state's Bloom filter, not the cells, decides "absent from the baseline".
#[test]
fn clean_label_trigger_is_found_when_every_sketch_cell_is_taken() {
    let mut state = baseline("stream_baseline.csv.gz", None);
    assert!(!state.ngram_seen.is_empty());
    state.ngram_df.iter_mut().for_each(|c| *c = (*c).max(3));
    let rep = screen_stream_batch(&state, "cleanlabel05");
    let found = rep.attacks.iter().find(|a| a.kind == "new-trigger");
    assert!(
        found.is_some_and(|a| a.details["trigger"] == "zx9"),
        "{:?}",
        rep.attacks.iter().map(|a| &a.summary).collect::<Vec<_>>()
    );
    assert_eq!(rep.verdict.as_deref(), Some("reject"));
}

/// A state whose n-gram filter is not a power-of-two number of words is refused on load (the
/// probes mask bit positions by that size), with the error naming the inconsistency.
#[test]
fn state_with_a_malformed_ngram_filter_is_a_clear_error() {
    let mut state = baseline("stream_baseline.csv.gz", None);
    state.ngram_seen.truncate(3);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("state.gz");
    state.save(&p).unwrap_or_else(|e| panic!("{e}"));
    let e = load_error(&p);
    assert!(e.contains("inconsistent state"), "{e}");
}
