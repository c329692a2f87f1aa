//! Streaming (chunked) reads: `audit` and `screen` read a text column a chunk of rows at a
//! time, tokenising and freeing each chunk before the next is parsed. The reports must be
//! byte-identical to those of the whole-file path (read every row, then audit / screen), and
//! bad input must give the same errors, whatever the chunk size.

use modelgate_data::audit::{AuditOptions, audit_owned};
use modelgate_data::baseline::{State, fit_file, screen, screen_file_chunked};
use modelgate_data::read::{Content, Limits, Records, Spec, read, read_pipelined, read_streaming};
use modelgate_data::{Report, audit_file_chunked, render};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn label_spec() -> Spec {
    Spec {
        label: Some("label".into()),
        ..Spec::default()
    }
}

/// The JSON report with the wall-clock seconds zeroed (the only field that varies by run).
fn report_json(r: &Report) -> String {
    let mut r = r.clone();
    r.stats.seconds = 0.0;
    render::json(&r)
}

/// The whole-file audit: every row read, then audited.
fn audit_whole(path: &Path, spec: &Spec, opts: &AuditOptions) -> String {
    let recs = read(path, spec, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    report_json(&audit_owned(recs, None, opts).unwrap_or_else(|e| panic!("{e}")))
}

fn audit_chunked(path: &Path, spec: &Spec, opts: &AuditOptions, chunk: usize) -> String {
    let r = audit_file_chunked(path, spec, None, &Limits::default(), opts, chunk)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    report_json(&r)
}

/// The texts a streaming read hands over, with the records it returns.
fn stream_texts(
    path: &Path,
    spec: &Spec,
    limits: &Limits,
    chunk: usize,
) -> (Records, Vec<String>, bool) {
    let mut texts = Vec::new();
    let mut sizes = Vec::new();
    let (recs, streamed) = read_streaming(path, spec, limits, chunk, &mut |t, done| {
        assert!((0.0..=1.0).contains(&done), "share read {done}");
        sizes.push(t.len());
        texts.extend(t);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Every chunk but the last is full.
    if let Some((_, full)) = sizes.split_last() {
        assert!(full.iter().all(|&s| s == chunk), "{sizes:?}");
    }
    (recs, texts, streamed)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
    p
}

/// The same rows as JSONL (gzip-compressed), from the CSV fixture's records.
fn as_jsonl_gz(dir: &tempfile::TempDir, csv: &str, with_source: bool) -> PathBuf {
    let spec = Spec {
        source: with_source.then(|| "source".to_string()),
        ..label_spec()
    };
    let recs = read(&fixture(csv), &spec, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let Content::Text(texts) = &recs.content else {
        panic!("{csv}: not text");
    };
    let ids = recs.ids.clone().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for (i, t) in texts.iter().enumerate() {
        let mut obj = serde_json::json!({"id": ids[i], "text": t, "label": recs.labels[i]});
        if let Some(s) = &recs.sources {
            obj["source"] = serde_json::json!(s[i]);
        }
        writeln!(gz, "{obj}").unwrap_or_else(|e| panic!("{e}"));
    }
    let name = csv.replace(".csv.gz", ".jsonl.gz");
    write(dir, &name, &gz.finish().unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn streaming_read_hands_over_every_text_in_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let jsonl = as_jsonl_gz(&dir, "spam_flip10.csv.gz", false);
    let lim = Limits {
        max_field_chars: 150,
        ..Limits::default()
    };
    for path in [fixture("spam_flip10.csv.gz"), jsonl] {
        let whole = read(&path, &label_spec(), &lim).unwrap_or_else(|e| panic!("{e}"));
        for chunk in [1, 7, 1000, 1 << 20] {
            let (recs, texts, streamed) = stream_texts(&path, &label_spec(), &lim, chunk);
            assert!(streamed);
            assert_eq!(recs.content, Content::Text(Vec::new()));
            assert_eq!(Content::Text(texts), whole.content, "chunk {chunk}");
            assert_eq!(recs.labels, whole.labels);
            assert_eq!(recs.ids, whole.ids);
            assert_eq!(recs.rows, whole.rows);
            assert!(whole.truncated_fields > 0);
            assert_eq!(recs.truncated_fields, whole.truncated_fields);
            assert_eq!(recs.format, whole.format);
        }
    }
    // Feature columns and chat layouts come back whole; the sink is not called.
    let feats = Spec {
        features: Some(vec!["all".into()]),
        ..label_spec()
    };
    let (recs, texts, streamed) =
        stream_texts(&fixture("bc_flip10.csv.gz"), &feats, &Limits::default(), 7);
    assert!(!streamed && texts.is_empty());
    assert!(matches!(recs.content, Content::Features { .. }));
    let (recs, texts, streamed) = stream_texts(
        &fixture("chat_trigger.jsonl.gz"),
        &Spec::default(),
        &Limits::default(),
        7,
    );
    assert!(!streamed && texts.is_empty());
    assert!(matches!(recs.content, Content::Chat { .. }));
}

/// Bad input gives the same error streamed as read whole, also when the bad row comes after
/// some chunks were handed over.
#[test]
fn streaming_read_gives_the_same_errors_and_limits() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut good = String::from("text,label\n");
    for i in 0..30 {
        good.push_str(&format!("row number {i},{}\n", ["a", "b"][i % 2]));
    }
    let ragged = format!("{good}x,y,z\n");
    let mut not_utf8 = good.clone().into_bytes();
    not_utf8.extend_from_slice(b"\xff\xfe,a\n");
    let mut jsonl = String::new();
    for i in 0..30 {
        jsonl.push_str(&format!("{{\"text\":\"row {i}\",\"label\":\"a\"}}\n"));
    }
    let bad_json = format!("{jsonl}[1,2]\n");
    let empty_label = format!("{good}text,\n");
    let cases: Vec<(PathBuf, Spec, Limits, &str)> = vec![
        (
            write(&dir, "r.csv", ragged.as_bytes()),
            label_spec(),
            Limits::default(),
            "ragged",
        ),
        (
            write(&dir, "u.csv", &not_utf8),
            label_spec(),
            Limits::default(),
            "not valid UTF-8",
        ),
        (
            write(&dir, "j.jsonl", bad_json.as_bytes()),
            label_spec(),
            Limits::default(),
            "JSON object",
        ),
        (
            write(&dir, "l.csv", empty_label.as_bytes()),
            label_spec(),
            Limits::default(),
            "label is empty",
        ),
        (
            write(&dir, "e.csv", b""),
            label_spec(),
            Limits::default(),
            "empty",
        ),
        (
            write(&dir, "h.csv", b"text,label\n"),
            label_spec(),
            Limits::default(),
            "empty",
        ),
        (
            write(&dir, "g.csv", good.as_bytes()),
            Spec {
                label: Some("klass".into()),
                ..Spec::default()
            },
            Limits::default(),
            "no column named \"klass\"",
        ),
        (
            write(&dir, "g2.csv", good.as_bytes()),
            label_spec(),
            Limits {
                max_rows: 20,
                ..Limits::default()
            },
            "more than 20 rows",
        ),
        (
            write(&dir, "g3.csv", good.as_bytes()),
            label_spec(),
            Limits {
                max_bytes: 200,
                ..Limits::default()
            },
            "byte limit",
        ),
        (
            // No label column: the row limit still counts the streamed texts.
            write(&dir, "g4.csv", good.as_bytes()),
            Spec::default(),
            Limits {
                max_rows: 20,
                ..Limits::default()
            },
            "more than 20 rows",
        ),
    ];
    for (path, spec, lim, want) in cases {
        let whole = read(&path, &spec, &lim)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(whole.contains(want), "{}: {whole}", path.display());
        for chunk in [1, 7] {
            let streamed = read_streaming(&path, &spec, &lim, chunk, &mut |_, _| Ok(()))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(streamed, whole, "{} chunk {chunk}", path.display());
            let pipelined = read_pipelined(&path, &spec, &lim, chunk, &mut |_, _| {})
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(pipelined, whole, "{} chunk {chunk}", path.display());
        }
    }
    // One class: the audit's error is the same too.
    let one = write(&dir, "one.csv", b"text,label\nx,a\ny,a\nz,a\n");
    let whole = audit_owned(
        read(&one, &label_spec(), &Limits::default()).unwrap_or_else(|e| panic!("{e}")),
        None,
        &AuditOptions::default(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(whole.contains("only one class"), "{whole}");
    let streamed = audit_file_chunked(
        &one,
        &label_spec(),
        None,
        &Limits::default(),
        &AuditOptions::default(),
        2,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert_eq!(streamed, whole);
}

#[test]
fn chunked_audit_reports_equal_whole_file_reports() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let opts = AuditOptions::default();
    let mut files = vec![
        fixture("spam_flip10.csv.gz"),
        fixture("spam_trigger_token03.csv.gz"),
        fixture("spam_dupconflict.csv.gz"),
        as_jsonl_gz(&dir, "spam_trigger_phrase01.csv.gz", false),
    ];
    if cfg!(feature = "parquet") {
        files.push(fixture("spam_flip10.parquet"));
    }
    for path in &files {
        let whole = audit_whole(path, &label_spec(), &opts);
        assert!(whole.contains("\"flagged\""));
        for chunk in [7, 100] {
            assert_eq!(
                audit_chunked(path, &label_spec(), &opts, chunk),
                whole,
                "{} chunk {chunk}",
                path.display()
            );
        }
    }
    // Cut texts (the truncated-field count is in the report) and numeric features (read
    // whole) give the same reports too.
    let lim = Limits {
        max_field_chars: 200,
        ..Limits::default()
    };
    let path = fixture("spam_flip10.csv.gz");
    let recs = read(&path, &label_spec(), &lim).unwrap_or_else(|e| panic!("{e}"));
    let whole = report_json(&audit_owned(recs, None, &opts).unwrap_or_else(|e| panic!("{e}")));
    let chunked = audit_file_chunked(&path, &label_spec(), None, &lim, &opts, 7)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(chunked.stats.truncated_fields > 0);
    assert_eq!(report_json(&chunked), whole);
    let feats = Spec {
        features: Some(vec!["all".into()]),
        ..label_spec()
    };
    let path = fixture("bc_flip10.csv.gz");
    assert_eq!(
        audit_chunked(&path, &feats, &opts, 7),
        audit_whole(&path, &feats, &opts)
    );
}

/// The whole-file screen: the batch read at once, then screened (as `screen_file` did).
fn screen_whole(state: &State, path: &Path, source: Option<&str>) -> String {
    let spec = Spec {
        label: Some(state.label_column.clone()),
        text: state.text_column.clone(),
        features: state.feature_columns.clone(),
        id: state.id_column.clone(),
        source: source.map(str::to_string),
        vectors: state.vectors,
    };
    let limits = Limits {
        max_field_chars: state.max_field_chars,
        ..Limits::default()
    };
    let recs = read(path, &spec, &limits).unwrap_or_else(|e| panic!("{e}"));
    report_json(&screen(state, &recs, None, 0.05).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn chunked_screen_reports_equal_whole_batch_reports() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = fit_file(
        &fixture("stream_baseline.csv.gz"),
        &label_spec(),
        None,
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut batches: Vec<PathBuf> = ["clean", "flip10", "trigger05", "cleanlabel05"]
        .iter()
        .map(|n| fixture(&format!("stream_batch_{n}.csv.gz")))
        .collect();
    batches.push(as_jsonl_gz(&dir, "stream_batch_trigger05.csv.gz", true));
    let mut verdicts = Vec::new();
    for path in &batches {
        for source in [Some("source"), None] {
            let whole = screen_whole(&state, path, source);
            for chunk in [7, 50] {
                let r = screen_file_chunked(&state, path, None, source, None, 0.05, chunk)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    report_json(&r),
                    whole,
                    "{} {source:?} chunk {chunk}",
                    path.display()
                );
                verdicts.push(r.verdict.unwrap_or_default());
            }
        }
    }
    // The batches exercise the batch-level statistics (triggers, per-source rates, drift).
    assert!(verdicts.iter().any(|v| v == "reject"), "{verdicts:?}");
    assert!(verdicts.iter().any(|v| v != "reject"), "{verdicts:?}");
}

/// Parquet: only the selected columns are read. The `_badcol` fixtures add a string column
/// that is not UTF-8 (which the parquet crate refuses to read) and a bulky list column; no
/// audit asks for them, so the reports equal those of the files without them.
#[cfg(feature = "parquet")]
#[test]
fn parquet_reads_only_the_columns_it_needs() {
    let opts = AuditOptions::default();
    let plain = audit_chunked(
        &fixture("spam_flip10.parquet"),
        &label_spec(),
        &opts,
        1 << 14,
    );
    let with_bad = audit_chunked(
        &fixture("spam_badcol.parquet"),
        &label_spec(),
        &opts,
        1 << 14,
    );
    // The reports differ only in the file name.
    assert_eq!(
        with_bad.replace("spam_badcol.parquet", "spam_flip10.parquet"),
        plain
    );
    let whole = read(
        &fixture("spam_badcol.parquet"),
        &label_spec(),
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.rows, 1000);
    // Chat: the layout's columns (and the id) only.
    let chat = |f: &str| {
        let r = modelgate_data::audit_file(
            &fixture(f),
            &Spec::default(),
            None,
            &Limits::default(),
            &opts,
        )
        .unwrap_or_else(|e| panic!("{f}: {e}"));
        report_json(&r).replace(f, "FILE")
    };
    assert_eq!(
        chat("chat_trigger_badcol.parquet"),
        chat("chat_trigger.parquet")
    );
    // Asking for the bad column is still the parquet crate's error, named.
    let spec = Spec {
        text: Some("raw".into()),
        ..label_spec()
    };
    let e = read(&fixture("spam_badcol.parquet"), &spec, &Limits::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("row 1") && e.contains("String"), "{e}");
    // A wrong column name still lists the file's columns (every column is read then).
    let spec = Spec {
        label: Some("klass".into()),
        ..Spec::default()
    };
    let e = read(&fixture("chat_trigger.parquet"), &spec, &Limits::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("no column named \"klass\"") && e.contains("completion") && e.contains("id"),
        "{e}"
    );
}
