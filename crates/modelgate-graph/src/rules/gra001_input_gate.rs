//! GRA001 input-derived-gate: a per-sample decision computed from a raw input by cheap,
//! non-learned logic selects, zeroes, blends or shifts a value computed by the model.
//!
//! Fires on a `Where`/`If`/`Mul`/`Add`/`Sub`/`Sum`/`Max`/`Min` node when
//! * the control operand is value-tainted by a raw graph input with learned depth ≤ 1,
//! * it derives from a decision (comparison with a constant, or a steep sigmoid/tanh step),
//! * the decision collapses to a per-sample verdict (a reduction, pooling, ArgMax/TopK, or a
//!   comparison on a small static slice of the input, ≤ 4096 elements per sample),
//! * another operand carries the model (learned depth ≥ 2, or ≥ 1 when the control has none),
//! * for `If`, one branch is weight-free.
//!
//! Score: 0.9 for a select (`Where`/`If`) that reaches an output through transparent ops, 0.8
//! for an arithmetic gate there, 0.75/0.7 for gates inside the network; GRA005 tells and a
//! GRA003 magic constant on the trigger path are combined in (`1 - Π(1 - s)`).
//!
//! Not flagged: attention/padding masks (element-wise, never reduced), one-hot encodings
//! (comparison with an enumeration), NaN/Clip sanitising (no comparison with a constant),
//! shape-driven control flow (`Shape`/`Size` carry no value taint), configuration inputs such
//! as a sample rate (rank-0/size-1 inputs are not raw data), NMS post-processing (reads model
//! outputs, learned depth ≥ 2).

use super::{Cx, TRANSPARENT, gra003_magic_comparison, gra005_obfuscation};
use crate::ir::{NodeId, ValId};
use crate::trigger::fmt_vals;
use crate::{GraphFinding, RuleMeta, combine};
use std::collections::BTreeMap;

pub const META: RuleMeta = RuleMeta {
    code: "GRA001",
    name: "input-derived-gate",
    kind: "backdoor",
    summary: "a per-sample decision on raw input gates or replaces a model value (shadow logic)",
    doc: include_str!("../../../../docs/rules/GRA001.md"),
};

#[derive(Debug, Clone)]
struct Hit {
    node: NodeId,
    control: ValId,
    model: ValId,
    near: Vec<String>,
}

const SELECTS: &[&str] = &["Where", "If"];
const ARITH: &[&str] = &["Mul", "Add", "Sub", "Sum", "Max", "Min"];

/// Returns findings with the gate nodes and decision nodes each one covers.
pub fn check(cx: &Cx<'_>) -> Vec<(GraphFinding, Vec<NodeId>, Vec<NodeId>)> {
    let mut groups: BTreeMap<Vec<NodeId>, Vec<Hit>> = BTreeMap::new();
    let mut candidates = 0usize;
    for (id, n) in cx.ir.nodes.iter().enumerate() {
        if candidates >= super::MAX_GATE_CANDIDATES {
            break;
        }
        let op = n.op();
        let ins: Vec<ValId> = n.inputs.iter().flatten().copied().collect();
        let pairs: Vec<(ValId, Vec<ValId>)> = match op {
            "Where" => match ins.as_slice() {
                [c, a, b] => vec![(*c, vec![*a, *b])],
                _ => continue,
            },
            "If" => {
                let Some(&c) = ins.first() else { continue };
                if !n.branches.iter().any(|b| cx.weight_free(b)) {
                    continue;
                }
                vec![(
                    c,
                    n.branches
                        .iter()
                        .flat_map(|b| b.outputs.iter().copied())
                        .chain(n.captures.iter().copied())
                        .collect(),
                )]
            }
            _ if ARITH.contains(&op) => ins
                .iter()
                .map(|&c| (c, ins.iter().copied().filter(|&o| o != c).collect()))
                .collect(),
            _ => continue,
        };
        for (control, data) in pairs {
            let cs = cx.flow.state(control);
            let Some(sig) = cs.sig.as_ref() else { continue };
            if !(cs.taint && cs.ld <= 1 && sig.collapsed && sig.min_ld <= 1) {
                continue;
            }
            let model = data.into_iter().find(|&m| {
                let ms = cx.flow.state(m);
                m != control && ms.taint && (ms.ld >= 2 || (ms.ld >= 1 && cs.ld == 0))
            });
            let Some(model) = model else { continue };
            let near = n
                .outputs
                .first()
                .map(|&o| cx.near_outputs(o))
                .unwrap_or_default();
            candidates += 1;
            groups.entry(sig.decisions.clone()).or_default().push(Hit {
                node: id,
                control,
                model,
                near,
            });
        }
    }
    let mut out = Vec::new();
    for (decisions, hits) in groups {
        let rank = |h: &Hit| {
            let select = cx
                .ir
                .nodes
                .get(h.node)
                .is_some_and(|n| SELECTS.contains(&n.op()));
            match (h.near.is_empty(), select) {
                (false, true) => 0,
                (false, false) => 1,
                (true, true) => 2,
                (true, false) => 3,
            }
        };
        let Some(primary) = hits.iter().min_by_key(|h| (rank(h), h.node)).cloned() else {
            continue;
        };
        let base = [0.9, 0.8, 0.75, 0.7]
            .get(rank(&primary))
            .copied()
            .unwrap_or(0.7);
        out.push(build(cx, &primary, base, &hits, decisions));
    }
    out
}

fn build(
    cx: &Cx<'_>,
    h: &Hit,
    base: f64,
    all: &[Hit],
    decisions: Vec<NodeId>,
) -> (GraphFinding, Vec<NodeId>, Vec<NodeId>) {
    let mut path = cx.trigger_path(h.control);
    let tells = gra005_obfuscation::tells(cx, &path, &decisions);
    let magic = gra003_magic_comparison::magic_decisions(cx, &decisions);
    let mut parts = vec![("base".to_string(), base)];
    parts.extend(tells.iter().cloned());
    if !magic.is_empty() {
        parts.push(("magic constant (GRA003)".to_string(), 0.3));
    }
    let score = combine(parts.iter().map(|p| p.1));
    let trigger = cx.describe_trigger(&decisions, &path);
    let collapse: Vec<String> = path
        .iter()
        .filter(|&&p| {
            cx.ir.nodes.get(p).is_some_and(|n| {
                crate::flow::is_collapse(n.op()) || n.op() == "Slice" || n.op() == "Gather"
            })
        })
        .map(|&p| {
            format!(
                "{} {}",
                cx.ir.nodes.get(p).map(|n| n.op()).unwrap_or(""),
                cx.ir.node_name(p)
            )
        })
        .collect();
    let n = cx.ir.nodes.get(h.node);
    let op = n.map(|n| n.op().to_string()).unwrap_or_default();
    let gate_name = cx.ir.node_name(h.node);
    let mut outputs: Vec<String> = all.iter().flat_map(|x| x.near.iter().cloned()).collect();
    outputs.sort();
    outputs.dedup();
    let internal = outputs.is_empty();
    if internal {
        outputs = n
            .and_then(|n| n.outputs.first())
            .map(|&o| cx.reached_outputs(o))
            .unwrap_or_default();
    }
    let effect = effect(cx, h);
    let gates: Vec<String> = all
        .iter()
        .map(|x| {
            format!(
                "{} {}",
                cx.ir.nodes.get(x.node).map(|n| n.op()).unwrap_or(""),
                cx.ir.node_name(x.node)
            )
        })
        .collect();
    let mut ev = BTreeMap::new();
    ev.insert("trigger".into(), trigger.clone());
    ev.insert("gate".into(), format!("{op} {gate_name}"));
    ev.insert("gates".into(), gates.join(", "));
    ev.insert("outputs".into(), outputs.join(", "));
    ev.insert("effect".into(), effect.clone());
    ev.insert("collapse".into(), collapse.join(", "));
    ev.insert(
        "decision_nodes".into(),
        decisions
            .iter()
            .map(|&d| cx.ir.node_name(d))
            .collect::<Vec<_>>()
            .join(", "),
    );
    ev.insert(
        "model_operand".into(),
        cx.ir
            .val(h.model)
            .map(|v| v.name.clone())
            .unwrap_or_default(),
    );
    let cs = cx.flow.state(h.control);
    let ms = cx.flow.state(h.model);
    ev.insert(
        "learned_depth".into(),
        format!("control {} / model {}", cs.ld, ms.ld),
    );
    ev.insert(
        "placement".into(),
        if internal {
            "inside the network".into()
        } else {
            "at the output".into()
        },
    );
    ev.insert(
        "score_parts".into(),
        parts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (k, v) in &tells {
        ev.insert(format!("tell: {k}"), format!("{v}"));
    }
    let where_ = if internal {
        format!("inside the network (reaches {})", outputs.join(", "))
    } else {
        format!("output {}", outputs.join(", "))
    };
    let message = format!("{op} '{gate_name}' {effect} at {where_} when {trigger}");
    if !path.contains(&h.node) {
        path.push(h.node);
    }
    let covered = all.iter().map(|x| x.node).collect();
    (
        cx.finding(&META, h.node, score, message, ev, &path),
        covered,
        decisions,
    )
}

fn effect(cx: &Cx<'_>, h: &Hit) -> String {
    let Some(n) = cx.ir.nodes.get(h.node) else {
        return String::new();
    };
    match n.op() {
        "Where" => {
            let other = n
                .inputs
                .iter()
                .skip(1)
                .flatten()
                .copied()
                .find(|&v| v != h.model);
            match other.and_then(|o| cx.ir.const_vals(o).map(fmt_vals)) {
                Some(c) => format!("replaces the model value with constant {c}"),
                None => "replaces the model value with another value".into(),
            }
        }
        "If" => {
            let constant = n.branches.iter().find(|b| {
                cx.weight_free(b)
                    && !b.outputs.is_empty()
                    && b.outputs.iter().all(|&o| cx.is_constant(o))
            });
            match constant {
                Some(b) => format!("switches to the constant {} branch", b.attr),
                None => {
                    let free: Vec<String> = n
                        .branches
                        .iter()
                        .filter(|b| cx.weight_free(b))
                        .map(|b| b.attr.clone())
                        .collect();
                    format!("switches to the weight-free {} branch", free.join("/"))
                }
            }
        }
        "Mul" => "multiplies the model value by the trigger signal".into(),
        op if TRANSPARENT.contains(&op) => "passes the trigger signal".into(),
        _ => "shifts the model value by a trigger-gated amount".into(),
    }
}
