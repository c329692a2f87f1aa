//! Shadow-logic (trigger-gated branch) detection in ONNX computational graphs.
//!
//! Pipeline: [`modelgate_onnx`] parses the model (bounded, no tensor data read for external
//! data) → [`ir::Ir`] flattens the main graph and every If/Loop/Scan subgraph into one value
//! graph with implicit captures resolved and small constants folded → [`flow::Flow`] computes
//! per-value facts (raw-input value taint, shape-only values, learned depth, decision signals
//! and whether they collapse to a per-sample decision) → the rules in [`rules`] emit
//! [`GraphFinding`]s. [`diff`] compares two models structurally, ignoring weights; [`render`]
//! draws the graph (text, DOT, SVG, HTML).
//!
//! Entry point for the scan engine: [`analyze_onnx_bytes`].

#![forbid(unsafe_code)]

pub mod core;
pub mod diff;
pub mod flow;
pub mod ir;
pub mod render;
pub mod rules;
mod trigger;

use modelgate_onnx::{Limits, Model, OnnxError};
use std::collections::BTreeMap;

/// Budgets for graph analysis.
#[derive(Debug, Clone)]
pub struct GraphLimits {
    /// Parser budgets (input size, node count, subgraph depth).
    pub onnx: Limits,
    /// Largest number of values in the flattened graph.
    pub max_values: usize,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            onnx: Limits::default(),
            max_values: 1_000_000,
        }
    }
}

/// Why the analysis could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("graph exceeds the {0} budget")]
    Limit(&'static str),
}

pub use modelgate_core::Severity;

/// Severity of a finding from its confidence score: ≥ 0.9 critical, ≥ 0.7 high
/// (backdoored), ≥ 0.5 medium (suspicious, review), ≥ 0.3 low, otherwise info.
pub fn severity_from_score(score: f64) -> Severity {
    if score >= 0.9 {
        Severity::Critical
    } else if score >= 0.7 {
        Severity::High
    } else if score >= 0.5 {
        Severity::Medium
    } else if score >= 0.3 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// Static description of a rule (mirrors the scan engine's rule metadata).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub summary: &'static str,
    /// The rule page (`docs/rules/<code>.md`), Markdown.
    #[serde(skip)]
    pub doc: &'static str,
}

/// One finding of the graph analysis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GraphFinding {
    /// Rule code, e.g. `GRA001`.
    pub code: &'static str,
    /// Rule name, e.g. `input-derived-gate`.
    pub name: &'static str,
    /// `backdoor` for detections, `malformed` for analysis problems.
    pub kind: &'static str,
    pub severity: Severity,
    /// Confidence score in [0, 1].
    pub confidence: f64,
    /// One sentence.
    pub message: String,
    /// Name of the node the finding points at (the gate), or empty.
    pub node: String,
    pub op_type: String,
    /// Graph path of that node: `graph` or `graph/<if-node>.<branch>`.
    pub location: String,
    /// Structured evidence: trigger, gate, outputs, constants, score parts.
    pub evidence: BTreeMap<String, String>,
    /// Node names on the trigger path (for highlighting), gate last.
    pub trigger_nodes: Vec<String>,
}

/// The result of analysing one model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Analysis {
    pub findings: Vec<GraphFinding>,
    /// Model score: `1 - Π(1 - s)` over gate findings (GRA001, GRA002); standalone weak
    /// findings (GRA003) only count up to their own score.
    pub score: f64,
    pub severity: Severity,
    pub stats: Stats,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub nodes: usize,
    pub subgraph_nodes: usize,
    pub values: usize,
    pub raw_inputs: Vec<String>,
    pub external_tensors: usize,
    pub flow_passes: usize,
}

/// Parses and analyses a serialized ONNX model. Never reads external tensor data.
///
/// Malformed protobuf and exceeded budgets are errors (the caller reports them as findings);
/// a successfully parsed model always yields an [`Analysis`], possibly with no findings.
pub fn analyze_onnx_bytes(bytes: &[u8], limits: &GraphLimits) -> Result<Analysis, GraphError> {
    let model = modelgate_onnx::parse(bytes, &limits.onnx)?;
    analyze_model(&model, limits)
}

/// Like [`analyze_onnx_bytes`] for a buffer the caller can hand over (an owned `Vec`, or an
/// mmap wrapped with `Bytes::from_owner`): inline tensor data is not copied.
pub fn analyze_onnx_owned(
    bytes: modelgate_onnx::Bytes,
    limits: &GraphLimits,
) -> Result<Analysis, GraphError> {
    let model = modelgate_onnx::parse_bytes(bytes, &limits.onnx)?;
    analyze_model(&model, limits)
}

/// Analyses an already parsed model.
pub fn analyze_model(model: &Model, limits: &GraphLimits) -> Result<Analysis, GraphError> {
    let cx = rules::Cx::new(model, limits)?;
    Ok(cx.analyze())
}

/// Combines independent scores: `1 - Π(1 - s)`.
pub fn combine(scores: impl IntoIterator<Item = f64>) -> f64 {
    1.0 - scores
        .into_iter()
        .fold(1.0, |acc, s| acc * (1.0 - s.clamp(0.0, 1.0)))
}
