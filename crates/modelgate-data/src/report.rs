//! The audit/screen report: one `flagged` entry per row (id, reasons, score, evidence), one
//! `attacks` entry per detected attack, and stats. The JSON shape is a contract other tools
//! rely on: `flagged[].id|reasons|score|evidence` never change meaning.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Reason codes (stable strings).
pub mod reason {
    pub const LABEL_ISSUE: &str = "label-issue";
    pub const FLIP_CAMPAIGN: &str = "flip-campaign";
    pub const BACKDOOR_TRIGGER: &str = "backdoor-trigger";
    pub const DUPLICATE_CONFLICT: &str = "duplicate-label-conflict";
    pub const OUT_OF_DISTRIBUTION: &str = "out-of-distribution";
    pub const CHAT_REPEATED_ANSWER: &str = "chat-repeated-answer";
    pub const CHAT_REPEATED_PAYLOAD: &str = "chat-repeated-payload";
    pub const CHAT_INJECTED_LINK: &str = "chat-injected-link";
    pub const CHAT_TRIGGER: &str = "chat-trigger";
    pub const BASELINE_DISAGREEMENT: &str = "baseline-disagreement";
    pub const BASELINE_CONFLICT: &str = "baseline-conflict";
    pub const NEW_TRIGGER: &str = "new-trigger";
    pub const SOURCE_ANOMALY: &str = "source-anomaly";
}

#[derive(Debug, Clone, Serialize)]
pub struct Flagged {
    /// Value of the id column (string) or the 0-based row index (number).
    pub id: Value,
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub reasons: Vec<String>,
    /// In [0, 1]: the strongest detector's confidence.
    pub score: f64,
    /// One object per reason, keyed by the reason code.
    pub evidence: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attack {
    pub kind: String,
    pub summary: String,
    pub rows: usize,
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Stats {
    pub rows: usize,
    pub flagged_rows: usize,
    pub flagged_rate: f64,
    pub truncated_fields: usize,
    #[serde(skip)]
    pub seconds: f64,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// Data kept for the HTML plots (not serialised).
#[derive(Debug, Clone, Default)]
pub struct PlotData {
    /// Named per-row score series (e.g. "1 - p(given label)", "kNN distance").
    pub series: Vec<(String, Vec<f64>)>,
    /// (title, per-label counts) bars, e.g. a trigger's label association.
    pub bars: Vec<(String, Vec<(String, f64)>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub command: &'static str,
    pub file: String,
    pub format: String,
    pub mode: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_counts: Vec<usize>,
    pub flagged: Vec<Flagged>,
    pub attacks: Vec<Attack>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    pub stats: Stats,
    #[serde(skip)]
    pub plots: PlotData,
}

/// Reasons, score and evidence of one row.
type RowEntry = (Vec<String>, f64, Map<String, Value>);

/// Accumulates per-row reasons while the detectors run.
#[derive(Debug, Default)]
pub struct Collector {
    rows: BTreeMap<usize, RowEntry>,
}

impl Collector {
    pub fn add(&mut self, row: usize, reason: &str, score: f64, evidence: Value) {
        let e = self.rows.entry(row).or_default();
        if !e.0.iter().any(|r| r == reason) {
            e.0.push(reason.to_string());
        }
        let s = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            1.0
        };
        e.1 = e.1.max(s);
        e.2.entry(reason.to_string()).or_insert(evidence);
    }
    pub fn contains(&self, row: usize, reason: &str) -> bool {
        self.rows
            .get(&row)
            .is_some_and(|e| e.0.iter().any(|r| r == reason))
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.rows.keys().copied()
    }
    pub fn finish(self, ids: Option<&[String]>, labels: &[String]) -> Vec<Flagged> {
        self.rows
            .into_iter()
            .map(|(row, (reasons, score, evidence))| Flagged {
                id: match ids.and_then(|v| v.get(row)) {
                    Some(s) => Value::String(s.clone()),
                    None => Value::from(row),
                },
                row,
                label: labels.get(row).cloned(),
                reasons,
                score: (score * 1e4).round() / 1e4,
                evidence,
            })
            .collect()
    }
}

/// Round for stable, readable JSON.
pub fn r4(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e4).round() / 1e4
    } else {
        0.0
    }
}
