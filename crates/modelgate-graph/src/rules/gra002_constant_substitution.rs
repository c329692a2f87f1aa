//! GRA002 constant-substitution: near an output, a `Where`/`If` substitutes a constant for the
//! model's value under a per-sample decision, whatever the decision is computed from — this
//! also covers output-conditioned logic (`ArgMax(output) == k → one-hot`), which GRA001 cannot
//! see because no raw input is involved.
//!
//! Fires when the condition derives from a decision that collapsed to a per-sample verdict, one
//! branch is a non-scalar constant (or a weight-free `If` branch producing constants), the other
//! carries the model (learned depth ≥ 1), and the select reaches an output through transparent
//! ops. Score 0.6 (suspicious, review) plus GRA005 tells. Gates already reported by GRA001 are
//! not repeated. Known false-positive sources: label-map post-processing that emits a constant
//! "unknown" vector; detector "no detection" fill values.

use super::{Cx, gra005_obfuscation};
use crate::ir::NodeId;
use crate::trigger::fmt_vals;
use crate::{GraphFinding, RuleMeta, combine};
use std::collections::{BTreeMap, HashSet};

pub const META: RuleMeta = RuleMeta {
    code: "GRA002",
    name: "constant-substitution",
    kind: "backdoor",
    summary: "a constant replaces a model output under a per-sample decision",
    doc: include_str!("../../../../docs/rules/GRA002.md"),
};

pub fn check(cx: &Cx<'_>, covered: &HashSet<NodeId>) -> Vec<GraphFinding> {
    let mut out = Vec::new();
    let mut walks = 0usize;
    for (id, n) in cx.ir.nodes.iter().enumerate() {
        if walks >= super::MAX_GATE_CANDIDATES {
            break;
        }
        if covered.contains(&id) {
            continue;
        }
        let Some(cond) = n.inputs.first().copied().flatten() else {
            continue;
        };
        let cs = cx.flow.state(cond);
        let Some(sig) = cs.sig.as_ref().filter(|s| s.collapsed) else {
            continue;
        };
        let (constant, model): (String, Option<u8>) = match n.op() {
            "Where" => {
                let (Some(a), Some(b)) = (
                    n.inputs.get(1).copied().flatten(),
                    n.inputs.get(2).copied().flatten(),
                ) else {
                    continue;
                };
                let pick = |c: usize, m: usize| {
                    let ms = cx.flow.state(m);
                    let big = cx.ir.const_elems(c).is_none_or(|e| e > 1);
                    (cx.is_constant(c) && big && ms.taint && ms.ld >= 1).then(|| {
                        (
                            cx.ir
                                .const_vals(c)
                                .map(fmt_vals)
                                .unwrap_or_else(|| "a constant tensor".into()),
                            Some(ms.ld),
                        )
                    })
                };
                match pick(a, b).or_else(|| pick(b, a)) {
                    Some(x) => x,
                    None => continue,
                }
            }
            "If" => {
                let const_branch = n
                    .branches
                    .iter()
                    .find(|b| cx.weight_free(b) && b.outputs.iter().all(|&o| cx.is_constant(o)));
                let model_branch = n
                    .branches
                    .iter()
                    .flat_map(|b| b.outputs.iter())
                    .map(|&o| cx.flow.state(o))
                    .find(|s| s.taint && s.ld >= 1);
                match (const_branch, model_branch) {
                    (Some(b), Some(ms)) => (format!("the constant {} branch", b.attr), Some(ms.ld)),
                    _ => continue,
                }
            }
            _ => continue,
        };
        let Some(&o) = n.outputs.first() else {
            continue;
        };
        walks += 1;
        let near = cx.near_outputs(o);
        if near.is_empty() || model.is_none() {
            continue;
        }
        let path = cx.trigger_path(cond);
        let tells = gra005_obfuscation::tells(cx, &path, &sig.decisions);
        let mut parts = vec![("base".to_string(), 0.6)];
        parts.extend(tells.iter().cloned());
        let score = combine(parts.iter().map(|p| p.1));
        let trigger = cx.describe_trigger(&sig.decisions, &path);
        let mut ev = BTreeMap::new();
        ev.insert("condition".into(), trigger.clone());
        ev.insert("substituted".into(), constant.clone());
        ev.insert("outputs".into(), near.join(", "));
        ev.insert("condition_learned_depth".into(), format!("{}", sig.min_ld));
        ev.insert(
            "score_parts".into(),
            parts
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let src = if sig.min_ld >= 1 {
            "a decision on model values"
        } else {
            "a decision on the input"
        };
        let message = format!(
            "{} '{}' substitutes {constant} for output {} when {trigger} ({src})",
            n.op(),
            cx.ir.node_name(id),
            near.join(", ")
        );
        let mut p = path.clone();
        p.push(id);
        out.push(cx.finding(&META, id, score, message, ev, &p));
    }
    out
}
