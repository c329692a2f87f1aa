//! GRA003 magic-comparison: raw input data (learned depth 0) compared with a constant that is
//! not 0/±1/NaN/±inf/float-limit and not an enumeration (`range(n)`, one-hot).
//!
//! Weak on its own (0.3, low): tokenizer special ids, k-NN vote labels and function-expanded
//! activations (`Shrink`, `ThresholdedRelu`, `Clip`) compare raw values with constants too.
//! Comparisons that are part of a GRA001 trigger are folded into that finding instead.

use super::Cx;
use crate::flow::COMPARISONS;
use crate::ir::NodeId;
use crate::{GraphFinding, RuleMeta};
use std::collections::{BTreeMap, HashSet};

pub const META: RuleMeta = RuleMeta {
    code: "GRA003",
    name: "magic-comparison",
    kind: "backdoor",
    summary: "raw input compared with a non-trivial constant",
    doc: include_str!("../../../../docs/rules/GRA003.md"),
};

fn trivial(v: f64) -> bool {
    v == 0.0 || v.abs() == 1.0 || v.is_nan() || v.is_infinite() || v.abs() >= 3.0e38
}

/// Is `d` a comparison of raw data (ld 0) with a magic constant?
pub fn is_magic(cx: &Cx<'_>, d: NodeId) -> bool {
    let Some(n) = cx.ir.nodes.get(d) else {
        return false;
    };
    if !COMPARISONS.contains(&n.op()) || cx.flow.enumeration.get(d).copied().unwrap_or(false) {
        return false;
    }
    let ins: Vec<_> = n.inputs.iter().flatten().copied().collect();
    let (Some(&a), Some(&b)) = (ins.first(), ins.get(1)) else {
        return false;
    };
    let (sa, sb) = (cx.flow.state(a), cx.flow.state(b));
    let (t, c) = match (sa.taint, sb.taint) {
        (true, false) => (sa, b),
        (false, true) => (sb, a),
        _ => return false,
    };
    t.ld == 0
        && cx
            .ir
            .const_vals(c)
            .is_some_and(|v| !v.is_empty() && !v.iter().all(|&x| trivial(x)))
}

pub fn magic_decisions(cx: &Cx<'_>, decisions: &[NodeId]) -> Vec<NodeId> {
    decisions
        .iter()
        .copied()
        .filter(|&d| is_magic(cx, d))
        .collect()
}

pub fn check(cx: &Cx<'_>, used: &HashSet<NodeId>) -> Vec<GraphFinding> {
    let mut out = Vec::new();
    for id in 0..cx.ir.nodes.len() {
        if used.contains(&id) || !is_magic(cx, id) {
            continue;
        }
        // only comparisons that originate a decision (their output carries them)
        let originates = cx
            .ir
            .nodes
            .get(id)
            .and_then(|n| n.outputs.first())
            .map(|&o| cx.flow.state(o))
            .and_then(|s| s.sig)
            .is_some_and(|s| s.decisions.contains(&id));
        if !originates {
            continue;
        }
        let text = cx.describe_decision(id);
        let mut ev = BTreeMap::new();
        ev.insert("comparison".into(), text.clone());
        let message = format!("raw input compared with a magic constant: {text}");
        out.push(cx.finding(&META, id, 0.3, message, ev, &[id]));
    }
    out
}
