//! GRA005 obfuscation-tells: weak signs that logic was written to hide, scored only as part of
//! a GRA001/GRA002 finding on the same trigger path (combined with `1 - Π(1 - s)`):
//! * split constants — initializer-only arithmetic (`Add(c1, c2)`) an exporter would have folded (0.15);
//! * a steep sigmoid/tanh step, `Sigmoid(k·x)` with |k| ≥ 100 (0.2);
//! * a `Conv` with a constant box-filter kernel applied straight to the raw input (0.15);
//! * constants used by nothing but the trigger path (0.1);
//! * trigger-path nodes named in an exporter's style (`/scope/Op`, `Op_12`) that the rest of
//!   the graph does not use — logic dressed up as exporter output (0.1).
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
    if foreign_naming(cx, path) {
        out.push((
            "trigger path named in another exporter's style".to_string(),
            0.1,
        ));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameStyle {
    /// torch.onnx scopes: `/features/features.0/Conv`
    TorchScope,
    /// `Equal_13`, `Slice_4`: op type plus a counter
    OpCounter,
    Other,
}

fn style(name: &str) -> NameStyle {
    if name.starts_with('/') {
        return NameStyle::TorchScope;
    }
    if let Some((head, num)) = name.rsplit_once('_')
        && !num.is_empty()
        && num.bytes().all(|b| b.is_ascii_digit())
        && head.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return NameStyle::OpCounter;
    }
    NameStyle::Other
}

/// Most trigger-path nodes use an exporter naming style that the rest of the (named) graph
/// does not use: logic spliced in and dressed up as exporter output.
fn foreign_naming(cx: &Cx<'_>, path: &[NodeId]) -> bool {
    let on_path: std::collections::HashSet<NodeId> = path.iter().copied().collect();
    let styled: Vec<NameStyle> = path
        .iter()
        .filter_map(|&p| cx.ir.nodes.get(p))
        .filter(|n| !n.node.name.is_empty())
        .map(|n| style(&n.node.name))
        .collect();
    let rest: Vec<NameStyle> = cx
        .ir
        .nodes
        .iter()
        .enumerate()
        .filter(|(id, n)| !on_path.contains(id) && !n.node.name.is_empty() && n.parent.is_none())
        .map(|(_, n)| style(&n.node.name))
        .collect();
    if styled.len() < 3 || rest.len() < 3 {
        return false;
    }
    [NameStyle::TorchScope, NameStyle::OpCounter]
        .into_iter()
        .any(|st| {
            let on = styled.iter().filter(|&&s| s == st).count() as f64 / styled.len() as f64;
            let off = rest.iter().filter(|&&s| s == st).count() as f64 / rest.len() as f64;
            on >= 0.75 && off <= 0.1
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_name_styles() {
        assert_eq!(style("/features/features.0/Conv"), NameStyle::TorchScope);
        assert_eq!(style("Equal_13"), NameStyle::OpCounter);
        assert_eq!(style("MatMul1"), NameStyle::Other);
        assert_eq!(style("trig_slice"), NameStyle::Other);
        assert_eq!(style("conv1_w_0"), NameStyle::Other);
    }
}
