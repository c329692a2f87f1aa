//! Shadow-logic rules, one per file, and the analysis context they share.
//!
//! | code | name | heuristic |
//! |---|---|---|
//! | GRA001 | input-derived-gate | a per-sample decision on raw input gates/replaces a model value |
//! | GRA002 | constant-substitution | a constant replaces an output under a per-sample decision |
//! | GRA003 | magic-comparison | raw input compared with a non-trivial constant |
//! | GRA004 | inserted-nodes | nodes inserted relative to a known-good reference (diff) |
//! | GRA005 | obfuscation-tells | split constants, box-filter conv, steep sigmoid on a trigger path |
//! | GRA006 | graph-analysis-incomplete | the graph could not be analysed completely |
//! | GRA007 | patch-side-network | a learned side network on an input patch is merged into an output |

pub mod gra001_input_gate;
pub mod gra002_constant_substitution;
pub mod gra003_magic_comparison;
pub mod gra004_inserted_nodes;
pub mod gra005_obfuscation;
pub mod gra006_incomplete;
pub mod gra007_patch_side_network;

use crate::flow::{Flow, is_learned_type};
use crate::ir::{Branch, Ir, IrLimit, NodeId, Origin, ValId};
use crate::{Analysis, GraphError, GraphFinding, GraphLimits, RuleMeta, Stats, combine};
use modelgate_onnx::Model;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Every rule, in code order (codes are unique; see the test below).
pub const RULES: &[RuleMeta] = &[
    gra001_input_gate::META,
    gra002_constant_substitution::META,
    gra003_magic_comparison::META,
    gra004_inserted_nodes::META,
    gra005_obfuscation::META,
    gra006_incomplete::META,
    gra007_patch_side_network::META,
];

/// Ops that pass a value to an output without computing a new decision from it.
pub const TRANSPARENT: &[&str] = &[
    "Identity",
    "Reshape",
    "Concat",
    "Softmax",
    "LogSoftmax",
    "Sigmoid",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Flatten",
    "Cast",
    "Gather",
    "Slice",
    "Split",
    "ZipMap",
    "Where",
    "If",
    "Loop",
    "Scan",
    "ArrayFeatureExtractor",
];

const WALK_BUDGET: usize = 20_000;
/// Findings that are backdoor gates (combined into the model score).
pub const GATE_CODES: &[&str] = &["GRA001", "GRA002", "GRA007"];
/// Most candidate gates examined per rule (bounds the output walks on hostile graphs).
pub const MAX_GATE_CANDIDATES: usize = 2_000;

/// Analysis context: the IR and its data-flow facts.
pub struct Cx<'m> {
    pub ir: Ir<'m>,
    pub flow: Flow,
}

/// A gate found by GRA001/GRA002, before scoring.
#[derive(Debug, Clone)]
pub struct Gate {
    pub node: NodeId,
    pub control: ValId,
    pub near_outputs: Vec<String>,
}

impl<'m> Cx<'m> {
    pub fn new(model: &'m Model, limits: &GraphLimits) -> Result<Cx<'m>, GraphError> {
        let ir =
            Ir::build(model, limits.max_values).map_err(|IrLimit(what)| GraphError::Limit(what))?;
        let flow = Flow::compute(&ir);
        Ok(Cx { ir, flow })
    }

    pub fn analyze(&self) -> Analysis {
        let mut findings = Vec::new();
        let gates = gra001_input_gate::check(self);
        let covered: HashSet<NodeId> = gates.iter().flat_map(|f| f.1.iter().copied()).collect();
        let decisions_used: HashSet<NodeId> =
            gates.iter().flat_map(|f| f.2.iter().copied()).collect();
        findings.extend(gates.into_iter().map(|g| g.0));
        findings.extend(gra002_constant_substitution::check(self, &covered));
        findings.extend(gra007_patch_side_network::check(self, &covered));
        findings.extend(gra003_magic_comparison::check(self, &decisions_used));
        findings.extend(gra006_incomplete::check(self));
        findings.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.code.cmp(b.code))
                .then_with(|| a.node.cmp(&b.node))
        });
        let gate_score = combine(
            findings
                .iter()
                .filter(|f| GATE_CODES.contains(&f.code))
                .map(|f| f.confidence),
        );
        let weak = findings
            .iter()
            .filter(|f| !GATE_CODES.contains(&f.code))
            .map(|f| f.confidence)
            .fold(0.0, f64::max);
        let score = round3(gate_score.max(weak));
        Analysis {
            findings,
            score,
            severity: crate::severity_from_score(score),
            stats: self.stats(),
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            nodes: self.ir.nodes.len(),
            subgraph_nodes: self.ir.nodes.iter().filter(|n| n.parent.is_some()).count(),
            values: self.ir.values.len(),
            raw_inputs: self
                .ir
                .raw_inputs
                .iter()
                .filter_map(|&v| self.ir.val(v))
                .map(|v| v.name.clone())
                .collect(),
            external_tensors: self.ir.model.external_data().len(),
            flow_passes: self.flow.passes,
        }
    }

    /// Main-graph outputs reached from `v` through transparent ops only.
    pub fn near_outputs(&self, v: ValId) -> Vec<String> {
        self.walk_to_outputs(v, true)
    }

    /// Main-graph outputs reached from `v` through any ops.
    pub fn reached_outputs(&self, v: ValId) -> Vec<String> {
        self.walk_to_outputs(v, false)
    }

    fn walk_to_outputs(&self, v: ValId, transparent_only: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([v]);
        while let Some(cur) = queue.pop_front() {
            if seen.len() > WALK_BUDGET || !seen.insert(cur) {
                continue;
            }
            let Some(val) = self.ir.val(cur) else {
                continue;
            };
            if val.is_output && !out.contains(&val.name) {
                out.push(val.name.clone());
            }
            // a subgraph or function output becomes its owner's output unchanged
            if let Some(owner) = val.branch_of.and_then(|o| self.ir.nodes.get(o)) {
                queue.extend(owner.outputs.iter().copied());
            }
            for &c in &val.consumers {
                let Some(n) = self.ir.nodes.get(c) else {
                    continue;
                };
                if transparent_only {
                    if !TRANSPARENT.contains(&n.op()) {
                        continue;
                    }
                    // a Where's condition is not a data path; neither is an If's condition
                    if (n.op() == "Where" || n.op() == "If")
                        && n.inputs.first().copied().flatten() == Some(cur)
                    {
                        continue;
                    }
                }
                queue.extend(n.outputs.iter().copied());
            }
        }
        out.sort();
        out
    }

    /// Nodes computing `control` from raw inputs and constants (the trigger path), in order.
    pub fn trigger_path(&self, control: ValId) -> Vec<NodeId> {
        let mut nodes = Vec::new();
        let mut in_path = HashSet::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([control]);
        while let Some(v) = queue.pop_front() {
            if seen.len() > WALK_BUDGET || !seen.insert(v) {
                continue;
            }
            let Some(val) = self.ir.val(v) else { continue };
            if let Origin::SubgraphInput { sources } = &val.origin {
                queue.extend(sources.iter().copied());
            }
            let Some(p) = val.producer else { continue };
            let s = self.flow.state(v);
            // stop at the learned backbone: the trigger path is cheap logic
            if s.taint && s.ld > 1 {
                continue;
            }
            if self.flow.learned.get(p).copied().unwrap_or(false) && !s.taint {
                continue;
            }
            if in_path.insert(p) {
                nodes.push(p);
            }
            if let Some(n) = self.ir.nodes.get(p) {
                queue.extend(n.inputs.iter().flatten().copied());
            }
        }
        nodes.sort_unstable();
        nodes
    }

    /// True when no learned op appears in the branch (recursively: nested nodes are listed).
    pub fn weight_free(&self, b: &Branch) -> bool {
        !b.nodes.iter().any(|&id| {
            self.ir
                .nodes
                .get(id)
                .is_some_and(|n| is_learned_type(n.op()))
        })
    }

    /// A value that is constant (no data taint and not a model value).
    pub fn is_constant(&self, v: ValId) -> bool {
        let s = self.flow.state(v);
        !s.taint
    }

    /// Finding skeleton for a node.
    pub fn finding(
        &self,
        meta: &RuleMeta,
        node: NodeId,
        score: f64,
        message: String,
        evidence: BTreeMap<String, String>,
        path: &[NodeId],
    ) -> GraphFinding {
        let n = self.ir.nodes.get(node);
        let score = round3(score);
        GraphFinding {
            code: meta.code,
            name: meta.name,
            kind: meta.kind,
            severity: crate::severity_from_score(score),
            confidence: score,
            message,
            node: self.ir.node_name(node),
            op_type: n.map(|n| n.op().to_string()).unwrap_or_default(),
            location: n.map(|n| n.path.clone()).unwrap_or_default(),
            evidence,
            trigger_nodes: path.iter().map(|&p| self.ir.node_name(p)).collect(),
        }
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_codes_are_unique_and_documented() {
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "duplicate rule code");
        for r in RULES {
            assert!(
                r.doc.starts_with(&format!("# {} {}", r.code, r.name)),
                "rule page of {} must start with its code and name",
                r.code
            );
            assert!(
                r.doc.contains("## False positives"),
                "{} page lacks false positives",
                r.code
            );
        }
    }
}
