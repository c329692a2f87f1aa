//! GRA007 patch-side-network: a second, learned network that reads only a small static slice
//! of a raw input (a pixel patch, a few features, a token prefix) is merged arithmetically into
//! an output computed by the main model from the whole input.
//!
//! This is the TrojanNet / DeepPayload construction: the trigger detector is itself a small
//! trained network (so it holds weights and has learned depth ≥ 1, which GRA001 does not
//! look for), running beside the backbone on the patch where the trigger is stamped, and its
//! output is added to (or multiplied into, or selected against) the model's output. Fires on an
//! `Add`/`Sub`/`Mul`/`Sum`/`Max`/`Min`/`Where` that reaches an output through transparent ops
//! when one operand is patch-only with learned depth ≥ 1 and another reads the whole input with
//! learned depth ≥ 1. Score 0.75. Feature concatenation (`Concat`) of column subsets, as in
//! scikit-learn column transformers, is not a merge here.

use super::Cx;
use crate::ir::{NodeId, Origin, ValId};
use crate::{GraphFinding, RuleMeta};
use std::collections::{BTreeMap, HashSet};

pub const META: RuleMeta = RuleMeta {
    code: "GRA007",
    name: "patch-side-network",
    kind: "backdoor",
    summary: "a learned side network on a small input patch is merged into a model output",
    doc: include_str!("../../../../docs/rules/GRA007.md"),
};

const MERGES: &[&str] = &["Add", "Sub", "Mul", "Sum", "Max", "Min", "Where"];

pub fn check(cx: &Cx<'_>, covered: &HashSet<NodeId>) -> Vec<GraphFinding> {
    let mut out = Vec::new();
    let mut walks = 0usize;
    for (id, n) in cx.ir.nodes.iter().enumerate() {
        if covered.contains(&id) || !MERGES.contains(&n.op()) || walks >= super::MAX_GATE_CANDIDATES
        {
            continue;
        }
        let ins: Vec<ValId> = n.inputs.iter().flatten().copied().collect();
        let side = ins.iter().copied().find(|&v| {
            let s = cx.flow.state(v);
            s.taint && s.patch_only && s.ld >= 1
        });
        let main = ins.iter().copied().find(|&v| {
            let s = cx.flow.state(v);
            s.taint && !s.patch_only && s.ld >= 1
        });
        let (Some(side), Some(main)) = (side, main) else {
            continue;
        };
        let Some(&o) = n.outputs.first() else {
            continue;
        };
        walks += 1;
        let near = cx.near_outputs(o);
        if near.is_empty() {
            continue;
        }
        let path = side_path(cx, side);
        let patch = path
            .iter()
            .filter_map(|&p| cx.ir.nodes.get(p))
            .filter(|p| matches!(p.op(), "Slice" | "Gather"))
            .filter_map(|p| p.outputs.first().copied())
            .map(|v| cx.describe_value(v, 0))
            .collect::<Vec<_>>()
            .join(", ");
        let learned = path
            .iter()
            .filter(|&&p| cx.flow.learned.get(p).copied().unwrap_or(false))
            .count();
        let (ss, ms) = (cx.flow.state(side), cx.flow.state(main));
        let mut ev = BTreeMap::new();
        ev.insert("patch".into(), patch.clone());
        ev.insert("side_network_learned_ops".into(), learned.to_string());
        ev.insert(
            "merge".into(),
            format!("{} {}", n.op(), cx.ir.node_name(id)),
        );
        ev.insert("outputs".into(), near.join(", "));
        ev.insert(
            "learned_depth".into(),
            format!("side {} / model {}", ss.ld, ms.ld),
        );
        let message = format!(
            "{} '{}' merges a {learned}-layer side network that reads only {patch} into output {}",
            n.op(),
            cx.ir.node_name(id),
            near.join(", ")
        );
        let mut p = path;
        p.push(id);
        out.push(cx.finding(&META, id, 0.75, message, ev, &p));
    }
    out
}

/// Nodes of the side network: producers back from `v` while values stay patch-only.
fn side_path(cx: &Cx<'_>, v: ValId) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![v];
    while let Some(cur) = stack.pop() {
        if seen.len() > 10_000 || !seen.insert(cur) {
            continue;
        }
        let Some(val) = cx.ir.val(cur) else { continue };
        if val.origin == Origin::RawInput {
            continue;
        }
        let s = cx.flow.state(cur);
        if !(s.taint && s.patch_only) {
            continue;
        }
        let Some(p) = val.producer else { continue };
        if !nodes.contains(&p) {
            nodes.push(p);
        }
        if let Some(n) = cx.ir.nodes.get(p)
            && !matches!(n.op(), "Slice" | "Gather")
        {
            stack.extend(n.inputs.iter().flatten().copied());
        }
    }
    nodes.sort_unstable();
    nodes
}
