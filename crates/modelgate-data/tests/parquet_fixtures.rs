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
    use modelgate_data::error::DataError;
    use modelgate_data::read::Content;

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
    fn parquet_with_a_codec_not_built_in_is_named() {
        let err = read(
            &fixture("spam_zstd.parquet"),
            &spec_text(),
            &Limits::default(),
        )
        .map(|_| ())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("Parquet") && err.to_lowercase().contains("zstd"),
            "{err}"
        );
    }
}
