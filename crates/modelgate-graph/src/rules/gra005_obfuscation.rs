//! GRA005 obfuscation-tells: weak signs that logic was written to hide, scored only as part of
//! a GRA001/GRA002 finding on the same trigger path (combined with `1 - Π(1 - s)`):
//! * split constants — initializer-only arithmetic (`Add(c1, c2)`) an exporter would have folded (0.15);
//! * a steep sigmoid/tanh step, `Sigmoid(k·x)` with |k| ≥ 100 (0.2);
//! * a `Conv` with a constant box-filter kernel applied straight to the raw input (0.15);
//! * constants used by nothing but the trigger path (0.1).
//!
//! Each tell alone has legitimate sources (exports with constant folding disabled, smoothing
//! in preprocessing blocks), so none is reported on its own.

use super::Cx;
use crate::RuleMeta;
use crate::flow::is_box_filter;
use crate::ir::{NodeId, Origin};

pub const META: RuleMeta = RuleMeta {
    code: "GRA005",
    name: "obfuscation-tells",
    kind: "backdoor",
    summary: "split constants, box-filter convs, steep sigmoids on a trigger path",
    doc: include_str!("../../../../docs/rules/GRA005.md"),
};

pub fn tells(cx: &Cx<'_>, path: &[NodeId], decisions: &[NodeId]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let split = path.iter().any(|&p| {
        cx.ir.nodes.get(p).is_some_and(|n| {
            matches!(n.op(), "Add" | "Sub" | "Mul" | "Div")
                && n.inputs.iter().flatten().count() == 2
                && n.inputs.iter().flatten().all(|&v| {
                    cx.ir.val(v).is_some_and(|x| {
                        x.origin == Origin::Initializer
                            && x.konst
                                .as_ref()
                                .is_some_and(|k| k.elems.is_some_and(|e| e > 1))
                    })
                })
        })
    });
    if split {
        out.push(("split constant".to_string(), 0.15));
    }
    let steep = decisions.iter().any(|&d| {
        cx.ir
            .nodes
            .get(d)
            .is_some_and(|n| matches!(n.op(), "Sigmoid" | "Tanh" | "HardSigmoid" | "Clip" | "Sign"))
    });
    if steep {
        out.push(("steep sigmoid step".to_string(), 0.2));
    }
    let boxf = path.iter().any(|&p| {
        cx.ir.nodes.get(p).is_some_and(|n| {
            (n.op() == "Conv")
                && is_box_filter(&cx.ir, n)
                && n.inputs
                    .first()
                    .copied()
                    .flatten()
                    .is_some_and(|x| cx.ir.raw_inputs.contains(&x))
        })
    });
    if boxf {
        out.push(("box-filter conv on the input".to_string(), 0.15));
    }
    let dedicated = path
        .iter()
        .flat_map(|&p| {
            cx.ir
                .nodes
                .get(p)
                .map(|n| n.inputs.clone())
                .unwrap_or_default()
        })
        .flatten()
        .any(|v| {
            cx.ir.val(v).is_some_and(|x| {
                x.origin == Origin::Initializer
                    && x.consumers.iter().all(|c| path.contains(c))
                    && x.konst
                        .as_ref()
                        .is_some_and(|k| k.elems.is_some_and(|e| e > 1))
            })
        });
    if dedicated {
        out.push(("constants used only by the trigger path".to_string(), 0.1));
    }
    out
}
