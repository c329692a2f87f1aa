//! ONNX models: structural checks (custom operator domains, external-data paths) and the
//! shadow-logic graph analysis of `modelgate-graph`. External tensor data is never read.

use crate::engine::{Analyzer, Artifact, ScanCx};
use crate::rules::generic::{budget_exceeded, malformed};
use crate::rules::onnx::{custom_operator, external_data_path};
use modelgate_core::FormatId;
use modelgate_graph::GraphLimits;
use modelgate_onnx::OnnxError;
use std::collections::BTreeMap;

pub struct OnnxAnalyzer;

/// Domains whose operators ship with ONNX Runtime's default build.
const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "org.pytorch.aten",
];

pub(crate) fn escapes(location: &str) -> bool {
    let l = location.replace('\\', "/");
    let drive = l.len() >= 2
        && l.as_bytes().get(1) == Some(&b':')
        && l.as_bytes().first().is_some_and(u8::is_ascii_alphabetic);
    l.starts_with('/') || drive || l.split('/').any(|c| c == "..") || l.starts_with('~')
}

impl Analyzer for OnnxAnalyzer {
    fn id(&self) -> &'static str {
        "onnx"
    }

    fn handles(&self, format: FormatId) -> bool {
        format == FormatId::Onnx
    }

    fn analyze(&self, cx: &mut ScanCx, art: &Artifact) {
        let mut limits = GraphLimits::default();
        limits.onnx.max_bytes = cx.limits().max_member_bytes;
        let model = match modelgate_onnx::parse(art.data.as_slice(), &limits.onnx) {
            Ok(m) => m,
            Err(e @ (OnnxError::TooLarge { .. } | OnnxError::Limit { .. })) => {
                cx.emit(
                    budget_exceeded::META
                        .finding(art.path.clone(), format!("{e}; the model was not analysed"))
                        .with("budget", "onnx"),
                );
                return;
            }
            Err(e) => {
                cx.emit(malformed::META.finding(art.path.clone(), e.to_string()));
                return;
            }
        };
        // Custom operator domains, counted per domain.
        let mut custom: BTreeMap<String, Vec<String>> = BTreeMap::new();
        model.visit_graphs(&mut |_, g, _| {
            for n in &g.nodes {
                if !STANDARD_DOMAINS.contains(&n.domain.as_str()) {
                    let ops = custom.entry(n.domain.clone()).or_default();
                    if !ops.contains(&n.op_type) && ops.len() < 16 {
                        ops.push(n.op_type.clone());
                    }
                }
            }
        });
        let local_functions: Vec<(String, String)> = model
            .functions
            .iter()
            .map(|f| (f.domain.clone(), f.name.clone()))
            .collect();
        for (domain, ops) in custom {
            // Operators defined by a model-local function are expanded, not loaded from native code.
            if ops
                .iter()
                .all(|o| local_functions.iter().any(|(d, n)| *d == domain && n == o))
            {
                continue;
            }
            cx.emit(
                custom_operator::META
                    .finding(art.path.clone(), format!("operators from custom domain {domain:?} ({}) need a native custom-op library to run", ops.join(", ")))
                    .with("domain", domain)
                    .with("ops", ops.join(", ")),
            );
        }
        for ext in model.external_data() {
            if escapes(&ext.data.location) {
                cx.emit(
                    external_data_path::META
                        .finding(art.path.clone(), format!("tensor {} reads external data from {:?}, outside the model directory", ext.tensor_name, ext.data.location))
                        .with("tensor", ext.tensor_name.to_string())
                        .with("location", ext.data.location.clone())
                        .with("graph", ext.graph_path.clone()),
                );
            }
        }
        if let Some(inv) = cx.inventory_mut(&art.path) {
            inv.notes.push(format!(
                "{} nodes, producer {:?}",
                model.total_nodes, model.producer_name
            ));
        }
        match modelgate_graph::analyze_model(&model, &limits) {
            Ok(a) => {
                for f in &a.findings {
                    cx.emit(modelgate_graph::core::to_core_finding(f, art.path.clone()));
                }
            }
            Err(e) => cx.emit(
                budget_exceeded::META
                    .finding(art.path.clone(), format!("graph analysis stopped: {e}"))
                    .with("budget", "graph"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_locations() {
        assert!(escapes("../../etc/passwd"));
        assert!(escapes("/etc/passwd"));
        assert!(escapes("C:\\x"));
        assert!(!escapes("weights.bin"));
        assert!(!escapes("data/weights.bin"));
    }
}
