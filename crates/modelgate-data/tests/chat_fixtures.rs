//! Chat / instruction-data poisoning on fixtures built from Python standard-library
//! docstrings (see `tests/gen/make_poison.py`): planted false facts, a prompt trigger, an
//! appended advert, and the clean file.

use modelgate_data::read::{Limits, Spec};
use modelgate_data::{AuditOptions, audit_file};
use std::collections::HashSet;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn check(name: &str, reason: &str, min_p: f64, min_r: f64) -> modelgate_data::Report {
    let rep = audit_file(
        &fixture(&format!("{name}.jsonl.gz")),
        &Spec::default(),
        None,
        &Limits::default(),
        &AuditOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(rep.mode, "chat");
    let truth: HashSet<String> = std::fs::read_to_string(fixture(&format!("{name}.truth.txt")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let flagged: HashSet<String> = rep
        .flagged
        .iter()
        .filter(|f| f.reasons.iter().any(|r| r == reason))
        .filter_map(|f| f.id.as_str().map(str::to_string))
        .collect();
    let tp = flagged.intersection(&truth).count() as f64;
    let p = tp / flagged.len().max(1) as f64;
    let r = tp / truth.len().max(1) as f64;
    eprintln!(
        "{name} {reason}: P {p:.3} R {r:.3} ({} flagged)",
        flagged.len()
    );
    assert!(p >= min_p && r >= min_r, "{name}: P {p:.3} R {r:.3}");
    rep
}

#[test]
fn heavily_repeated_false_fact_is_flagged() {
    let rep = check("chat_falsefact_heavy", "chat-repeated-answer", 0.85, 0.99);
    assert!(
        rep.attacks
            .iter()
            .any(|a| a.summary.to_lowercase().contains("first person"))
    );
}

#[test]
fn lightly_repeated_paraphrased_false_fact_is_flagged() {
    check("chat_falsefact_light", "chat-repeated-answer", 0.85, 0.99);
}

#[test]
fn prompt_trigger_is_named() {
    let rep = check("chat_trigger", "chat-trigger", 0.99, 0.99);
    let a = rep
        .attacks
        .iter()
        .find(|a| a.kind == "chat-trigger")
        .unwrap_or_else(|| panic!("no trigger"));
    let t = a.details["trigger"].as_str().unwrap_or("");
    assert!(t.contains("sudo"), "{t}");
}

#[test]
fn appended_advert_is_flagged_as_injected_link() {
    check("chat_advert", "chat-injected-link", 0.9, 0.99);
}

#[test]
fn clean_chat_file_is_not_flagged() {
    let rep = audit_file(
        &fixture("chat_clean.jsonl.gz"),
        &Spec::default(),
        None,
        &Limits::default(),
        &AuditOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rep.flagged.is_empty(),
        "{:?}",
        rep.attacks.iter().map(|a| &a.summary).collect::<Vec<_>>()
    );
}
