//! Recovers a readable trigger description from the decision nodes: which input, which
//! slice, compared with which constants, e.g. `X[:, 0:3] == [16, 0, 16]`.

use crate::flow::COMPARISONS;
use crate::ir::{NodeId, Origin, ValId};
use crate::rules::Cx;

const MAX_SHOWN: usize = 12;
/// Most values expanded when describing one expression.
const DESCRIBE_BUDGET: usize = 64;

/// Formats constant values compactly: `16`, `[16, 0, 16]`, `[0.01, … 1000 values]`.
pub fn fmt_vals(v: &[f64]) -> String {
    let one = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{}", x as i64)
        } else if x.abs() >= 1e5 || (x != 0.0 && x.abs() < 1e-3) {
            format!("{x:e}")
        } else {
            let s = format!("{x:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    };
    let nonzero: Vec<usize> = v
        .iter()
        .enumerate()
        .filter(|(_, x)| **x != 0.0)
        .map(|(i, _)| i)
        .collect();
    if v.len() > 3
        && let [k] = nonzero.as_slice()
        && v.get(*k).is_some_and(|x| *x == 1.0)
    {
        return format!("one-hot[{k}] of {}", v.len());
    }
    match v {
        [x] => one(*x),
        _ if v.len() <= MAX_SHOWN => format!(
            "[{}]",
            v.iter().map(|x| one(*x)).collect::<Vec<_>>().join(", ")
        ),
        _ => {
            let head: Vec<String> = v.iter().take(4).map(|x| one(*x)).collect();
            format!("[{}, … {} values]", head.join(", "), v.len())
        }
    }
}

fn symbol(op: &str) -> &str {
    match op {
        "Equal" => "==",
        "Greater" => ">",
        "Less" => "<",
        "GreaterOrEqual" => ">=",
        "LessOrEqual" => "<=",
        _ => op,
    }
}

impl Cx<'_> {
    /// Trigger text: the primary decisions (those comparing data that carries no earlier
    /// decision), joined with "and", plus the ops that collapse them to a per-sample verdict.
    pub fn describe_trigger(&self, decisions: &[NodeId], path: &[NodeId]) -> String {
        let primary: Vec<NodeId> = decisions
            .iter()
            .copied()
            .filter(|&d| {
                self.ir.nodes.get(d).is_some_and(|n| {
                    !n.inputs
                        .iter()
                        .flatten()
                        .any(|&i| self.flow.state(i).sig.is_some())
                })
            })
            .collect();
        let shown = if primary.is_empty() {
            decisions.to_vec()
        } else {
            primary
        };
        let mut text = shown
            .iter()
            .map(|&d| self.describe_decision(d))
            .collect::<Vec<_>>()
            .join(" and ");
        let collapse: Vec<&str> = path
            .iter()
            .filter_map(|&p| self.ir.nodes.get(p))
            .map(|n| n.op())
            .filter(|op| crate::flow::is_collapse(op))
            .collect();
        let secondary: Vec<String> = decisions
            .iter()
            .filter(|d| !shown.contains(d))
            .filter_map(|&d| {
                let n = self.ir.nodes.get(d)?;
                let c = n
                    .inputs
                    .iter()
                    .flatten()
                    .find(|&&i| !self.flow.state(i).taint)?;
                Some(format!("{} {}", symbol(n.op()), self.describe_const(*c)))
            })
            .collect();
        if !collapse.is_empty() {
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(", reduced by {}", collapse.join("/")),
            );
            if !secondary.is_empty() {
                let _ = std::fmt::Write::write_fmt(
                    &mut text,
                    format_args!(" {}", secondary.join(", ")),
                );
            }
        }
        text
    }

    /// Text for a decision node, e.g. `X[:, 0:3] == [16, 0, 16]`.
    pub fn describe_decision(&self, d: NodeId) -> String {
        let Some(n) = self.ir.nodes.get(d) else {
            return String::new();
        };
        let op = n.op();
        let ins: Vec<ValId> = n.inputs.iter().flatten().copied().collect();
        if COMPARISONS.contains(&op) {
            let (Some(&a), Some(&b)) = (ins.first(), ins.get(1)) else {
                return op.to_string();
            };
            let (t, c, flipped) = if self.flow.state(a).taint {
                (a, b, false)
            } else {
                (b, a, true)
            };
            let rhs = self.describe_const(c);
            let sym = match (flipped, symbol(op)) {
                (true, ">") => "<",
                (true, "<") => ">",
                (true, ">=") => "<=",
                (true, "<=") => ">=",
                (_, s) => s,
            };
            return format!("{} {sym} {rhs}", self.describe_value(t, 0));
        }
        // steep sigmoid / tanh / hard sigmoid: soft step of its input
        match ins.first() {
            Some(&x) => format!("{}({}) (soft step)", op, self.describe_value(x, 0)),
            None => op.to_string(),
        }
    }

    fn describe_const(&self, v: ValId) -> String {
        match self.ir.const_vals(v) {
            Some(vals) => fmt_vals(vals),
            None => self
                .ir
                .val(v)
                .map(|x| format!("`{}`", x.name))
                .unwrap_or_default(),
        }
    }

    /// Expression for a tainted value, walking back to the raw input through cheap ops.
    pub fn describe_value(&self, v: ValId, depth: usize) -> String {
        let budget = std::cell::Cell::new(DESCRIBE_BUDGET);
        self.describe_value_in(v, depth, &budget)
    }

    fn describe_value_in(&self, v: ValId, depth: usize, budget: &std::cell::Cell<usize>) -> String {
        // bounded work on hostile fan-in (a Concat of thousands of inputs, nested)
        if budget.get() == 0 {
            return "…".into();
        }
        budget.set(budget.get() - 1);
        let Some(val) = self.ir.val(v) else {
            return "?".into();
        };
        if matches!(
            val.origin,
            Origin::RawInput | Origin::ConfigInput | Origin::SubgraphInput { .. }
        ) || depth > 8
        {
            return val.name.clone();
        }
        // below the top level, stop at values computed by the learned model
        let st = self.flow.state(v);
        let learned_producer = val.producer.is_some_and(|p| {
            self.flow.learned.get(p).copied().unwrap_or(false)
                && crate::flow::is_learned_type(self.ir.nodes.get(p).map(|n| n.op()).unwrap_or(""))
        });
        if depth > 0 && (st.ld >= 2 || (st.ld >= 1 && learned_producer)) {
            return format!("`{}`", val.name);
        }
        let Some(n) = val.producer.and_then(|p| self.ir.nodes.get(p)) else {
            return val.name.clone();
        };
        let data: Vec<ValId> = n
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&i| self.flow.state(i).taint)
            .collect();
        let consts: Vec<String> = n
            .inputs
            .iter()
            .flatten()
            .copied()
            .filter(|&i| !self.flow.state(i).taint)
            .map(|c| self.describe_const(c))
            .collect();
        let inner = |k: usize| {
            data.get(k)
                .map(|&d| self.describe_value_in(d, depth + 1, budget))
                .unwrap_or_else(|| "?".into())
        };
        match n.op() {
            "Identity" | "Cast" | "Reshape" | "Squeeze" | "Unsqueeze" | "Flatten" | "Expand" => {
                inner(0)
            }
            "Slice" => {
                let base = inner(0);
                let rank = self
                    .ir
                    .val(data.first().copied().unwrap_or(v))
                    .and_then(|x| x.shape.as_ref())
                    .map(|s| s.len());
                match self.ir.slice_params(n) {
                    Some(params) => format!("{base}[{}]", slice_text(&params, rank)),
                    None => format!("{base}[dynamic slice]"),
                }
            }
            "Gather" => {
                let axis = n.node.attr("axis").and_then(|a| a.as_int()).unwrap_or(0);
                let idx = n
                    .inputs
                    .get(1)
                    .copied()
                    .flatten()
                    .and_then(|i| self.ir.const_vals(i))
                    .map(fmt_vals)
                    .unwrap_or_else(|| "?".into());
                if axis == 1 {
                    format!("{}[:, {idx}]", inner(0))
                } else {
                    format!("{}[axis {axis}: {idx}]", inner(0))
                }
            }
            op => {
                let mut args: Vec<String> = data
                    .iter()
                    .map(|&d| self.describe_value_in(d, depth + 1, budget))
                    .collect();
                args.extend(consts.into_iter().filter(|c| !c.is_empty()));
                format!("{op}({})", args.join(", "))
            }
        }
    }
}

/// Highest rank drawn as `[:, a:b, ...]`; beyond it (hostile axes) the slice is listed.
const MAX_SLICE_RANK: usize = 16;

fn slice_text(params: &[(i64, i64, i64)], rank: Option<usize>) -> String {
    let max_axis = params.iter().map(|p| p.0).max().unwrap_or(0).max(0);
    let max_axis = usize::try_from(max_axis).unwrap_or(usize::MAX);
    let rank = rank.unwrap_or(0).max(max_axis.saturating_add(1));
    if rank > MAX_SLICE_RANK {
        return params
            .iter()
            .map(|(a, s, e)| format!("axis {a}: {s}:{e}"))
            .collect::<Vec<_>>()
            .join(", ");
    }
    let mut parts = vec![":".to_string(); rank];
    for &(axis, start, end) in params {
        let ax = if axis < 0 {
            axis.saturating_add(rank as i64)
        } else {
            axis
        };
        let end_s = if end >= i64::from(i32::MAX) {
            String::new()
        } else {
            end.to_string()
        };
        if let Some(slot) = usize::try_from(ax).ok().and_then(|a| parts.get_mut(a)) {
            *slot = format!("{start}:{end_s}");
        }
    }
    while parts.len() > 1 && parts.last().is_some_and(|p| p == ":") {
        parts.pop();
    }
    parts.join(", ")
}

#[cfg(test)]
mod slice_tests {
    use super::*;

    #[test]
    fn hostile_slice_axes_do_not_allocate() {
        assert_eq!(slice_text(&[(1, 0, 3)], Some(2)), ":, 0:3");
        assert_eq!(
            slice_text(&[(i64::MAX, 0, 3)], None),
            format!("axis {}: 0:3", i64::MAX)
        );
        assert_eq!(slice_text(&[(-1, 5, 8)], Some(4)), ":, :, :, 5:8");
    }
}
