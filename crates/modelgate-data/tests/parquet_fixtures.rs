//! Parquet input (cargo feature `parquet`): files written by pyarrow
//! (`tests/gen/make_parquet.py`) read and audit exactly like their CSV equivalents; bad
//! Parquet gives a named error. Without the feature a Parquet file is refused by name.

use modelgate_data::read::{Limits, Spec, read};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn spec_text() -> Spec {
    Spec {
        label: Some("label".into()),
        ..Spec::default()
    }
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_names_the_feature() {
    let err = read(
        &fixture("spam_flip10.parquet"),
        &spec_text(),
        &Limits::default(),
    )
    .map(|_| ())
    .err()
    .unwrap_or_else(|| panic!("a Parquet file was read without the parquet feature"));
    let msg = err.to_string();
    assert!(
        msg.contains("Parquet") && msg.contains("`parquet`"),
        "{msg}"
    );
}

#[cfg(feature = "parquet")]
mod with_feature {
    use super::*;
    use modelgate_data::audit::{AuditOptions, audit};
    use modelgate_data::audit_file;
    use modelgate_data::error::DataError;
    use modelgate_data::read::{ChatLayout, Content};

    /// The parts of a report that depend on the data: flagged rows, attacks, label counts.
    fn audit_json(file: &str, spec: &Spec) -> serde_json::Value {
        let recs = read(&fixture(file), spec, &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let rep =
            audit(&recs, None, &AuditOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let v = serde_json::to_value(&rep).unwrap_or_else(|e| panic!("{e}"));
        serde_json::json!({
            "mode": v["mode"],
            "labels": v["labels"],
            "label_counts": v["label_counts"],
            "flagged": v["flagged"],
            "attacks": v["attacks"],
        })
    }

    #[test]
    fn parquet_text_audit_equals_csv_audit() {
        let csv = audit_json("spam_flip10.csv.gz", &spec_text());
        let pq = audit_json("spam_flip10.parquet", &spec_text());
        assert!(
            csv["flagged"].as_array().is_some_and(|a| !a.is_empty()),
            "the fixture should flag rows"
        );
        assert_eq!(csv, pq);
    }

    #[test]
    fn parquet_feature_audit_equals_csv_audit() {
        let spec = Spec {
            label: Some("label".into()),
            features: Some(vec!["all".into()]),
            ..Spec::default()
        };
        let csv = audit_json("bc_flip10.csv.gz", &spec);
        let pq = audit_json("bc_flip10.parquet", &spec);
        assert!(csv["flagged"].as_array().is_some_and(|a| !a.is_empty()));
        assert_eq!(csv, pq);
    }

    #[test]
    fn parquet_types_and_nulls_read_like_csv() {
        let lim = Limits::default();
        let text = Spec {
            label: Some("label".into()),
            text: Some("text".into()),
            source: Some("flag".into()),
            ..Spec::default()
        };
        let a = read(&fixture("mixed.csv"), &text, &lim).unwrap_or_else(|e| panic!("{e}"));
        let b = read(&fixture("mixed.parquet"), &text, &lim).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.format, "parquet");
        assert_eq!(a.rows, 6);
        assert_eq!(
            (&a.ids, &a.labels, &a.sources, &a.content),
            (&b.ids, &b.labels, &b.sources, &b.content)
        );
        assert_eq!(
            b.content,
            Content::Text(vec![
                "hello world".into(),
                String::new(),
                "buy now".into(),
                "hello world".into(),
                "ünïcode".into(),
                "buy now".into(),
            ])
        );
        // Numeric columns with no nulls: int32/int64/float64 as features.
        let feats = Spec {
            label: Some("label".into()),
            features: Some(vec!["n64".into(), "f64".into()]),
            ..Spec::default()
        };
        let a = read(&fixture("mixed.csv"), &feats, &lim).unwrap_or_else(|e| panic!("{e}"));
        let b = read(&fixture("mixed.parquet"), &feats, &lim).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.content, b.content);
        // A null in a feature column is an empty field: the same named error as in CSV.
        let nulls = Spec {
            label: Some("label".into()),
            features: Some(vec!["n32".into()]),
            ..Spec::default()
        };
        let err = read(&fixture("mixed.parquet"), &nulls, &lim)
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("\"n32\"") && err.contains("line 4"), "{err}");
        // A float32 column reads as the decimal text pyarrow was given.
        let f32s = Spec {
            label: Some("label".into()),
            text: Some("f32".into()),
            ..Spec::default()
        };
        let b = read(&fixture("mixed.parquet"), &f32s, &lim).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            b.content,
            Content::Text(
                ["0.5", "1.25", "-2", "3", "", "0"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            )
        );
    }

    #[test]
    fn parquet_row_limit_is_enforced() {
        let lim = Limits {
            max_rows: 5,
            ..Limits::default()
        };
        let err = read(&fixture("mixed.parquet"), &spec_text(), &lim)
            .map(|_| ())
            .err();
        assert!(matches!(err, Some(DataError::Limit { .. })), "{err:?}");
    }

    fn bad_parquet(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("bad.parquet");
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        match read(&p, &spec_text(), &Limits::default()) {
            Ok(_) => panic!("bad Parquet was read"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn truncated_and_corrupt_parquet_give_named_errors() {
        let good = std::fs::read(fixture("spam_flip10.parquet")).unwrap_or_else(|e| panic!("{e}"));
        // Truncated: the footer is gone.
        for cut in [4, 5, 100, good.len() / 2, good.len() - 1] {
            let msg = bad_parquet(&good[..cut]);
            assert!(
                msg.contains("Parquet") && msg.contains("truncated"),
                "{msg}"
            );
        }
        // Magic at both ends, garbage between.
        let msg = bad_parquet(b"PAR1\0\0\0\0\0\0\0\0\x08\0\0\0PAR1");
        assert!(msg.contains("Parquet"), "{msg}");
        let msg = bad_parquet(b"PAR1PAR1");
        assert!(msg.contains("Parquet"), "{msg}");
        // Footer length pointing outside the file.
        let mut v = good.clone();
        let n = v.len();
        v[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let msg = bad_parquet(&v);
        assert!(msg.contains("Parquet"), "{msg}");
        // Corrupt every byte of a stretch in the data pages and in the footer: never a panic.
        for start in [4usize, 64, 1000, n / 2, n - 200, n - 60] {
            let mut v = good.clone();
            for b in v.iter_mut().skip(start).take(40) {
                *b ^= 0x5a;
            }
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let p = dir.path().join("x.parquet");
            std::fs::write(&p, &v).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = read(&p, &spec_text(), &Limits::default()) {
                assert!(e.to_string().contains(&*p.to_string_lossy()), "{e}");
            }
        }
    }

    #[test]
    fn zstd_and_brotli_parquet_audit_like_snappy() {
        let snappy = audit_json("spam_flip10.parquet", &spec_text());
        assert!(snappy["flagged"].as_array().is_some_and(|a| !a.is_empty()));
        for file in ["spam_zstd.parquet", "spam_brotli.parquet"] {
            assert_eq!(audit_json(file, &spec_text()), snappy, "{file}");
        }
    }

    /// Flagged rows (index, id, reasons) and attacks of a chat audit.
    fn chat_audit(file: &str) -> serde_json::Value {
        let rep = audit_file(
            &fixture(file),
            &Spec::default(),
            None,
            &Limits::default(),
            &AuditOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(rep.mode, "chat", "{file}");
        let v = serde_json::to_value(&rep).unwrap_or_else(|e| panic!("{e}"));
        serde_json::json!({"flagged": v["flagged"], "attacks": v["attacks"]})
    }

    fn flagged_ids(v: &serde_json::Value) -> Vec<String> {
        v["flagged"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn truth(name: &str) -> Vec<String> {
        let mut t: Vec<String> = std::fs::read_to_string(fixture(&format!("{name}.truth.txt")))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        t.sort();
        t
    }

    #[test]
    fn chat_parquet_audits_exactly_like_chat_jsonl() {
        // OpenAI messages as list<struct<role, content>> (zstd), ShareGPT conversations as
        // list<struct<from, value>> (brotli), flat prompt/completion (snappy).
        for (pq, jsonl, name) in [
            (
                "chat_falsefact_heavy.parquet",
                "chat_falsefact_heavy.jsonl.gz",
                "chat_falsefact_heavy",
            ),
            (
                "chat_advert_sharegpt.parquet",
                "chat_advert.jsonl.gz",
                "chat_advert",
            ),
            (
                "chat_trigger.parquet",
                "chat_trigger.jsonl.gz",
                "chat_trigger",
            ),
        ] {
            let a = chat_audit(jsonl);
            let b = chat_audit(pq);
            assert_eq!(a, b, "{pq} vs {jsonl}");
            let mut ids = flagged_ids(&b);
            ids.sort();
            let t = truth(name);
            assert!(!t.is_empty());
            let hit = t.iter().filter(|id| ids.contains(id)).count();
            assert_eq!(hit, t.len(), "{pq}: planted rows missed");
        }
    }

    #[test]
    fn chat_parquet_layouts_are_detected() {
        let lim = Limits::default();
        for (file, want) in [
            ("chat_falsefact_heavy.parquet", ChatLayout::OpenAiMessages),
            ("chat_advert_sharegpt.parquet", ChatLayout::ShareGpt),
            ("chat_trigger.parquet", ChatLayout::PromptCompletion),
        ] {
            let r = read(&fixture(file), &Spec::default(), &lim).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.format, "parquet");
            match &r.content {
                Content::Chat {
                    layout,
                    prompts,
                    responses,
                } => {
                    assert_eq!(*layout, want, "{file}");
                    assert_eq!(prompts.len(), r.rows);
                    assert_eq!(responses.len(), r.rows);
                    assert!(responses.iter().all(|s| !s.is_empty()), "{file}");
                }
                other => panic!("{file}: not chat: {other:?}"),
            }
            let jsonl = file
                .replace("_sharegpt", "")
                .replace(".parquet", ".jsonl.gz");
            // The same prompt/response text as the JSONL the file was made from (the
            // ShareGPT file differs from its OpenAI-layout source only in the layout).
            let j =
                read(&fixture(&jsonl), &Spec::default(), &lim).unwrap_or_else(|e| panic!("{e}"));
            let pairs = |c: &Content| match c {
                Content::Chat {
                    prompts, responses, ..
                } => (prompts.clone(), responses.clone()),
                _ => (Vec::new(), Vec::new()),
            };
            assert!(r.ids == j.ids, "{file}: ids differ");
            assert!(
                pairs(&r.content) == pairs(&j.content),
                "{file}: chat text differs"
            );
        }
    }

    fn nested_spec(text: &str) -> Spec {
        Spec {
            label: Some("label".into()),
            text: Some(text.into()),
            ..Spec::default()
        }
    }

    fn texts(file: &str, spec: &Spec) -> Vec<String> {
        match read(&fixture(file), spec, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .content
        {
            Content::Text(t) => t,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn nested_text_column_is_rendered_as_compact_json() {
        assert_eq!(
            texts("nested.parquet", &nested_spec("tags")),
            vec![r#"["x","y"]"#, "[]", "", r#"["z"]"#]
        );
        assert_eq!(
            texts("nested.parquet", &nested_spec("scores")),
            vec!["[1,2]", "[3]", "[null]", "[]"]
        );
        let meta = texts("nested.parquet", &nested_spec("meta"));
        let parsed: Vec<serde_json::Value> = meta
            .iter()
            .map(|s| {
                if s.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
                }
            })
            .collect();
        assert_eq!(
            parsed,
            vec![
                serde_json::json!({"source": "web", "score": 0.5, "blob": "hi",
                    "amount": "12.34", "day": "2024-01-02",
                    "when": "2024-01-02 03:04:05.000 +00:00", "attrs": {"a": 1, "b": 2}}),
                // Binary that is not UTF-8 is base64 (0xff 0x00 0x01).
                serde_json::json!({"source": null, "score": -1.25, "blob": "/wAB",
                    "amount": "-0.05", "day": null, "when": null, "attrs": {}}),
                serde_json::Value::Null,
                serde_json::json!({"source": "forum", "score": 3.0, "blob": null,
                    "amount": null, "day": "1999-12-31",
                    "when": "1999-12-31 23:59:59.000 +00:00", "attrs": null}),
            ]
        );
        // Compact: no spaces after separators.
        assert!(
            !meta[0].contains(", ") && !meta[0].contains(": "),
            "{}",
            meta[0]
        );
        // A flat column still reads as before, and a file with nested columns is not chat.
        assert_eq!(
            texts("nested.parquet", &nested_spec("text")),
            vec!["first", "second", "third", "fourth"]
        );
    }

    #[test]
    fn nested_feature_column_is_refused_by_name_and_type() {
        let lim = Limits::default();
        for (cols, name, ty) in [
            (
                vec!["x", "meta"],
                "meta",
                "struct<source: string, score: double",
            ),
            (vec!["tags"], "tags", "list<string>"),
            (vec!["all"], "tags", "list<string>"),
        ] {
            let spec = Spec {
                label: Some("label".into()),
                features: Some(cols.iter().map(|s| s.to_string()).collect()),
                ..Spec::default()
            };
            let err = read(&fixture("nested.parquet"), &spec, &lim)
                .map(|_| ())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(&format!("{name:?}")) && err.contains(ty) && err.contains("nested"),
                "{err}"
            );
        }
        // Flat numeric features next to nested columns still read.
        let spec = Spec {
            label: Some("label".into()),
            features: Some(vec!["x".into()]),
            ..Spec::default()
        };
        let r = read(&fixture("nested.parquet"), &spec, &lim).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.rows, 4);
    }

    #[test]
    fn nesting_and_cell_limits_are_named() {
        let deep = Limits {
            max_nesting: 2,
            ..Limits::default()
        };
        let err = read(
            &fixture("chat_falsefact_heavy.parquet"),
            &Spec::default(),
            &deep,
        )
        .map(|_| ())
        .err();
        let msg = err.as_ref().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            matches!(err, Some(DataError::Limit { .. })) && msg.contains("messages"),
            "{msg}"
        );
        let small = Limits {
            max_cell_bytes: 64,
            ..Limits::default()
        };
        let msg = read(
            &fixture("chat_falsefact_heavy.parquet"),
            &Spec::default(),
            &small,
        )
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            msg.contains("\"messages\"") && msg.contains("cell limit") && msg.contains("line 1"),
            "{msg}"
        );
        let msg = read(&fixture("nested.parquet"), &nested_spec("meta"), &small)
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("\"meta\"") && msg.contains("cell limit"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_and_corrupt_nested_parquet_give_named_errors() {
        let good = std::fs::read(fixture("chat_falsefact_heavy.parquet"))
            .unwrap_or_else(|e| panic!("{e}"));
        let n = good.len();
        for cut in [4, 100, n / 2, n - 1] {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let p = dir.path().join("chat.parquet");
            std::fs::write(&p, &good[..cut]).unwrap_or_else(|e| panic!("{e}"));
            let msg = read(&p, &Spec::default(), &Limits::default())
                .map(|_| ())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                msg.contains("Parquet") && msg.contains("truncated"),
                "{msg}"
            );
        }
        // Flip bytes in data pages (zstd frames of the nested column) and in the footer.
        let mut errors = 0;
        for start in (4..n - 8).step_by(n / 40).chain([n - 300, n - 120, n - 40]) {
            let mut v = good.clone();
            for b in v.iter_mut().skip(start).take(32) {
                *b ^= 0x5a;
            }
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let p = dir.path().join("chat.parquet");
            std::fs::write(&p, &v).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = read(&p, &Spec::default(), &Limits::default()) {
                assert!(e.to_string().contains(&*p.to_string_lossy()), "{e}");
                errors += 1;
            }
        }
        assert!(errors > 10, "only {errors} corruptions were noticed");
    }
}
