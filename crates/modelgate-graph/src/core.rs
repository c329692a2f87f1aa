//! Bridge to the scan engine's vocabulary (`modelgate-core`): rule metadata for the registry
//! and conversion of [`GraphFinding`]s into core findings.

use crate::rules::{
    gra001_input_gate, gra002_constant_substitution, gra003_magic_comparison,
    gra004_inserted_nodes, gra005_obfuscation, gra006_incomplete, gra007_patch_side_network,
};
use crate::{GraphFinding, RuleMeta, Severity};
use modelgate_core::{Confidence, Evidence, Finding, Kind, VirtualPath};

const ATLAS_BACKDOOR: &[&str] = &[
    "MITRE ATLAS AML.T0018 (Backdoor ML Model)",
    "https://hiddenlayer.com/innovation-hub/shadowlogic",
];

const fn core_meta(
    m: RuleMeta,
    kind: Kind,
    severity: modelgate_core::Severity,
    confidence: Confidence,
    references: &'static [&'static str],
) -> modelgate_core::RuleMeta {
    modelgate_core::RuleMeta {
        code: m.code,
        name: m.name,
        family: "graph",
        kind,
        severity,
        confidence,
        summary: m.summary,
        doc: m.doc,
        references,
        since: "0.1.0",
    }
}

/// The graph rules as `modelgate-core` rule metadata (default severity/confidence are the
/// typical ones; each finding carries its own, derived from its score).
pub const CORE_RULES: &[modelgate_core::RuleMeta] = &[
    core_meta(
        gra001_input_gate::META,
        Kind::Backdoor,
        modelgate_core::Severity::Critical,
        Confidence::High,
        ATLAS_BACKDOOR,
    ),
    core_meta(
        gra002_constant_substitution::META,
        Kind::Backdoor,
        modelgate_core::Severity::Medium,
        Confidence::Medium,
        ATLAS_BACKDOOR,
    ),
    core_meta(
        gra003_magic_comparison::META,
        Kind::Backdoor,
        modelgate_core::Severity::Low,
        Confidence::Low,
        ATLAS_BACKDOOR,
    ),
    core_meta(
        gra004_inserted_nodes::META,
        Kind::Backdoor,
        modelgate_core::Severity::Critical,
        Confidence::High,
        ATLAS_BACKDOOR,
    ),
    core_meta(
        gra005_obfuscation::META,
        Kind::Backdoor,
        modelgate_core::Severity::Info,
        Confidence::Low,
        ATLAS_BACKDOOR,
    ),
    core_meta(
        gra006_incomplete::META,
        Kind::Malformed,
        modelgate_core::Severity::Info,
        Confidence::High,
        &[],
    ),
    core_meta(
        gra007_patch_side_network::META,
        Kind::Backdoor,
        modelgate_core::Severity::High,
        Confidence::Medium,
        ATLAS_BACKDOOR,
    ),
];

fn severity(s: Severity) -> modelgate_core::Severity {
    match s {
        Severity::Info => modelgate_core::Severity::Info,
        Severity::Low => modelgate_core::Severity::Low,
        Severity::Medium => modelgate_core::Severity::Medium,
        Severity::High => modelgate_core::Severity::High,
        Severity::Critical => modelgate_core::Severity::Critical,
    }
}

/// Converts a graph finding into a core finding located at `location` (the ONNX file, or the
/// archive member holding it). Node, graph path, score and all evidence become evidence entries.
pub fn to_core_finding(f: &GraphFinding, location: VirtualPath) -> Finding {
    let confidence = if f.confidence >= 0.8 {
        Confidence::High
    } else if f.confidence >= 0.5 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let kind = if f.kind == "malformed" {
        Kind::Malformed
    } else {
        Kind::Backdoor
    };
    let mut evidence = vec![Evidence::new("score", format!("{:.3}", f.confidence))];
    if !f.node.is_empty() {
        evidence.push(Evidence::new("node", format!("{} ({})", f.node, f.op_type)));
        evidence.push(Evidence::new("graph", f.location.clone()));
    }
    evidence.extend(
        f.evidence
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| Evidence::new(k.clone(), v.clone())),
    );
    Finding {
        code: f.code.to_string(),
        rule: f.name.to_string(),
        severity: severity(f.severity),
        confidence,
        kind,
        message: f.message.trim_end_matches('.').to_string(),
        location,
        evidence,
        help: Some("inspect with `modelgate graph explain --html` and compare with the original using `modelgate graph diff`".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_rules_mirror_the_graph_rules() {
        assert_eq!(CORE_RULES.len(), crate::rules::RULES.len());
        for (c, g) in CORE_RULES.iter().zip(crate::rules::RULES) {
            assert_eq!((c.code, c.name, c.doc), (g.code, g.name, g.doc));
        }
    }
}
