//! Data-flow facts per value: value taint from raw inputs (shape-derived values carry none),
//! learned depth, collapse to a per-sample decision, and decision signals.

use crate::ir::{Ir, IrNode, NodeId, Origin, ValId, elems_of};

/// Decision signal carried by a value: which decision nodes it derives from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sig {
    /// Decision nodes (comparisons on data, steep sigmoids), sorted, at most [`MAX_DECISIONS`].
    pub decisions: Vec<NodeId>,
    /// The signal was reduced to a per-sample decision (Reduce*/ArgMax/pool/TopK, or the
    /// comparison read a small static slice of the input).
    pub collapsed: bool,
    /// Some decision is a steep sigmoid/tanh (soft step).
    pub steep: bool,
    /// Smallest learned depth of the data compared by the decisions.
    pub min_ld: u8,
}

pub const MAX_DECISIONS: usize = 16;
const LD_CAP: u8 = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VState {
    /// Value-tainted by a raw input.
    pub taint: bool,
    /// Learned ops on the deepest tainted path (meaningful when `taint`).
    pub ld: u8,
    /// Derived from a reduction or a small static slice of tainted data.
    pub collapsed: bool,
    /// Every tainted path into this value passes through a small static slice of an input
    /// (a patch, a few features, a token prefix).
    pub patch_only: bool,
    pub sig: Option<Sig>,
}

pub struct Flow {
    pub states: Vec<VState>,
    pub learned: Vec<bool>,
    /// Comparisons against an enumeration (one-hot encodings); never decisions.
    pub enumeration: Vec<bool>,
    pub passes: usize,
}

pub const COMPARISONS: &[&str] = &["Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"];
const COLLAPSE: &[&str] = &[
    "ReduceMax",
    "ReduceMin",
    "ReduceMean",
    "ReduceSum",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
    "ArgMax",
    "ArgMin",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "TopK",
];
const SHAPE_ONLY: &[&str] = &[
    "Shape",
    "Size",
    "ConstantOfShape",
    "EyeLike",
    "RandomNormalLike",
    "RandomUniformLike",
];
const LEARNED: &[&str] = &[
    "Gemm",
    "MatMul",
    "Einsum",
    "LSTM",
    "GRU",
    "RNN",
    "BatchNormalization",
    "ConvInteger",
    "MatMulInteger",
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "FusedConv",
    "FusedGemm",
    "FusedMatMul",
    "DynamicQuantizeMatMul",
    "MatMulNBits",
    "GatherBlockQuantized",
    "EmbedLayerNormalization",
    "Attention",
    "MultiHeadAttention",
    "LinearClassifier",
    "LinearRegressor",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "TreeEnsemble",
    "SVMClassifier",
    "SVMRegressor",
];
/// Constants at least this large that multiply/add raw data count as learned parameters.
const LARGE_CONST: u64 = 256;

/// True when the op type is a learned op regardless of operands (used for weight-free branches).
pub fn is_learned_type(op: &str) -> bool {
    LEARNED.contains(&op) || op == "Conv" || op == "ConvTranspose"
}

pub fn is_collapse(op: &str) -> bool {
    COLLAPSE.contains(&op)
}

impl Flow {
    pub fn state(&self, v: ValId) -> VState {
        self.states.get(v).cloned().unwrap_or_default()
    }

    pub fn compute(ir: &Ir<'_>) -> Flow {
        let mut f = Flow {
            states: vec![VState::default(); ir.values.len()],
            learned: vec![false; ir.nodes.len()],
            enumeration: vec![false; ir.nodes.len()],
            passes: 0,
        };
        for &v in &ir.raw_inputs {
            if let Some(s) = f.states.get_mut(v) {
                s.taint = true;
            }
        }
        // Nodes are (almost always) topologically ordered; iterate to a fixpoint for the rest.
        for pass in 0..8 {
            f.passes = pass + 1;
            let mut changed = false;
            for id in 0..ir.nodes.len() {
                changed |= f.step(ir, id);
            }
            if !changed {
                break;
            }
        }
        f
    }

    fn input_state(&self, ir: &Ir<'_>, v: ValId) -> VState {
        match ir.val(v).map(|x| &x.origin) {
            Some(Origin::SubgraphInput { sources }) => {
                let mut s = VState::default();
                for &src in sources {
                    merge(&mut s, &self.state(src));
                }
                s
            }
            _ => self.state(v),
        }
    }

    fn step(&mut self, ir: &Ir<'_>, id: NodeId) -> bool {
        let Some(n) = ir.nodes.get(id) else {
            return false;
        };
        let op = n.op();
        let ins: Vec<(ValId, VState)> = n
            .inputs
            .iter()
            .flatten()
            .map(|&v| (v, self.input_state(ir, v)))
            .collect();
        let mut out = VState::default();
        if !SHAPE_ONLY.contains(&op) {
            for (_, s) in &ins {
                merge(&mut out, s);
            }
            for b in &n.branches {
                for &o in &b.outputs {
                    merge(&mut out, &self.input_state(ir, o));
                }
            }
        }
        if out.taint {
            let learned = self.is_learned(ir, n, &ins);
            if let Some(l) = self.learned.get_mut(id) {
                *l = learned;
            }
            if learned {
                out.ld = out.ld.saturating_add(1).min(LD_CAP);
            }
            if is_collapse(op) && collapses(ir, n) {
                out.collapsed = true;
                if let Some(sig) = out.sig.as_mut() {
                    sig.collapsed = true;
                }
            }
            if (op == "Slice" || op == "Gather") && !learned && self.small_static_slice(ir, n) {
                out.collapsed = true;
                out.patch_only = true;
            }
            if COMPARISONS.contains(&op) {
                self.comparison(ir, id, n, &ins, &mut out);
            }
            if let Some((t_ld, t_collapsed)) = self.steep_step(ir, n) {
                add_decision(&mut out, id, t_ld, t_collapsed, true);
            }
        }
        let mut changed = false;
        for &o in &n.outputs {
            if let Some(s) = self.states.get_mut(o)
                && *s != out
            {
                *s = out.clone();
                changed = true;
            }
        }
        changed
    }

    fn comparison(
        &mut self,
        ir: &Ir<'_>,
        id: NodeId,
        n: &IrNode<'_>,
        ins: &[(ValId, VState)],
        out: &mut VState,
    ) {
        let (Some(a), Some(b)) = (
            n.inputs.first().copied().flatten(),
            n.inputs.get(1).copied().flatten(),
        ) else {
            return;
        };
        let sa = ins
            .iter()
            .find(|(v, _)| *v == a)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let sb = ins
            .iter()
            .find(|(v, _)| *v == b)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let (t, c) = match (sa.taint, sb.taint) {
            (true, false) => (sa, b),
            (false, true) => (sb, a),
            _ => return,
        };
        // only comparisons with hard-coded constants are decisions; comparisons with
        // shape-derived tensors (Range, sequence-length masks) build masks
        if ir.val(c).is_none_or(|x| x.konst.is_none()) {
            return;
        }
        if is_enumeration(ir.const_vals(c)) {
            if let Some(e) = self.enumeration.get_mut(id) {
                *e = true;
            }
            return;
        }
        add_decision(out, id, t.ld, t.collapsed, false);
    }

    /// `Sigmoid/Tanh(Mul(x, k))` with |k| >= 100 (or `HardSigmoid` with alpha >= 100):
    /// a soft step. Returns the learned depth and collapse of the stepped data.
    fn steep_step(&self, ir: &Ir<'_>, n: &IrNode<'_>) -> Option<(u8, bool)> {
        let op = n.op();
        let x = n.inputs.first().copied().flatten()?;
        if op == "HardSigmoid" {
            let alpha = n
                .node
                .attr("alpha")
                .and_then(|a| a.as_float())
                .unwrap_or(0.2);
            let s = self.input_state(ir, x);
            return (alpha.abs() >= 100.0 && s.taint).then_some((s.ld, s.collapsed));
        }
        if op != "Sigmoid" && op != "Tanh" && op != "Clip" && op != "Sign" {
            return None;
        }
        if op == "Sign" {
            // Sign(x - c): a hard step on data
            let p = ir.nodes.get(ir.val(x)?.producer?)?;
            let has_const = p
                .inputs
                .iter()
                .flatten()
                .any(|&v| ir.const_vals(v).is_some());
            let d = p
                .inputs
                .iter()
                .flatten()
                .map(|&v| self.input_state(ir, v))
                .find(|s| s.taint)?;
            return (matches!(p.op(), "Sub" | "Add") && has_const).then_some((d.ld, d.collapsed));
        }
        let p = ir.nodes.get(ir.val(x)?.producer?)?;
        if p.op() != "Mul" && p.op() != "Div" {
            return None;
        }
        let mut steep = false;
        let mut data = None;
        for &v in p.inputs.iter().flatten() {
            if let Some(vals) = ir.const_vals(v) {
                let big = vals.iter().fold(0f64, |m, x| m.max(x.abs()));
                let small = vals.iter().fold(f64::INFINITY, |m, x| m.min(x.abs()));
                if (p.op() == "Mul" && big >= 100.0)
                    || (p.op() == "Div" && small > 0.0 && small <= 0.01)
                {
                    steep = true;
                }
            } else {
                data = Some(self.input_state(ir, v));
            }
        }
        let d = data?;
        (steep && d.taint).then_some((d.ld, d.collapsed))
    }

    fn is_learned(&self, ir: &Ir<'_>, n: &IrNode<'_>, ins: &[(ValId, VState)]) -> bool {
        let op = n.op();
        // A MatMul/Gemm/Conv whose constant weights are all 0/±1 (identity, permutation,
        // selection) computes nothing learned; counting it would let a trigger path pad its
        // learned depth to evade GRA001.
        if matches!(op, "MatMul" | "Gemm" | "Conv") && selection_weights(ir, n, ins) {
            return false;
        }
        if LEARNED.contains(&op) {
            return true;
        }
        let tainted = |v: ValId| ins.iter().any(|(x, s)| *x == v && s.taint);
        match op {
            "Conv" | "ConvTranspose" => !is_box_filter(ir, n),
            "Gather" => {
                let (Some(data), Some(idx)) = (
                    n.inputs.first().copied().flatten(),
                    n.inputs.get(1).copied().flatten(),
                ) else {
                    return false;
                };
                !tainted(data)
                    && tainted(idx)
                    && ir.const_elems(data).is_some_and(|e| e >= LARGE_CONST)
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let data_is_decision = ins
                    .iter()
                    .any(|(_, s)| s.taint && s.sig.as_ref().is_some_and(|g| g.collapsed));
                !data_is_decision
                    && n.inputs.iter().flatten().any(|&v| {
                        !tainted(v) && ir.const_elems(v).is_some_and(|e| e >= LARGE_CONST)
                    })
            }
            _ => false,
        }
    }

    fn small_static_slice(&self, ir: &Ir<'_>, n: &IrNode<'_>) -> bool {
        let static_args = match n.op() {
            "Slice" => ir.slice_params(n).is_some(),
            "Gather" => n
                .inputs
                .get(1)
                .copied()
                .flatten()
                .is_some_and(|v| ir.const_vals(v).is_some()),
            _ => false,
        };
        if !static_args {
            return false;
        }
        n.outputs
            .first()
            .and_then(|&o| ir.val(o))
            .and_then(|v| v.shape.as_deref())
            .and_then(elems_of)
            .is_some_and(|e| e <= 4096)
    }
}

/// Constant weight operand (not the tainted data) whose decoded values are all 0 or ±1.
fn selection_weights(ir: &Ir<'_>, n: &IrNode<'_>, ins: &[(ValId, VState)]) -> bool {
    let weights: Vec<ValId> = n
        .inputs
        .iter()
        .take(2)
        .flatten()
        .copied()
        .filter(|&v| !ins.iter().any(|(x, s)| *x == v && s.taint))
        .collect();
    !weights.is_empty()
        && weights.iter().all(|&w| {
            ir.const_vals(w).is_some_and(|vals| {
                vals.len() > 1 && vals.iter().all(|&x| x == 0.0 || x.abs() == 1.0)
            })
        })
}

/// Does this reduction leave (about) one verdict per sample? Reductions over some axes of a
/// larger tensor (e.g. a row-wise max of an attention mask) do not.
pub fn collapses(ir: &Ir<'_>, n: &IrNode<'_>) -> bool {
    let op = n.op();
    let shape = n
        .inputs
        .first()
        .copied()
        .flatten()
        .and_then(|v| ir.val(v))
        .and_then(|v| v.shape.clone());
    if op == "TopK" || op.starts_with("Global") {
        return true;
    }
    if op == "ArgMax" || op == "ArgMin" {
        return shape.is_none_or(|s| s.len() <= 2);
    }
    let axes: Option<Vec<i64>> = match n.node.attr("axes").and_then(|a| a.as_ints()) {
        Some(a) => Some(a.to_vec()),
        None => match n.inputs.get(1).copied().flatten() {
            Some(v) => match ir.const_vals(v) {
                Some(vals) => Some(vals.iter().map(|&x| x as i64).collect()),
                None => return false, // dynamic axes
            },
            None => None,
        },
    };
    let Some(axes) = axes.filter(|a| !a.is_empty()) else {
        // no axes: reduce everything (unless noop_with_empty_axes)
        return n.node.attr("noop_with_empty_axes").and_then(|a| a.as_int()) != Some(1);
    };
    let Some(shape) = shape else { return false };
    let rank = shape.len() as i64;
    let reduced: Vec<i64> = axes
        .iter()
        .map(|&a| if a < 0 { a.saturating_add(rank) } else { a })
        .collect();
    let rest: Option<i64> =
        (1..rank)
            .filter(|ax| !reduced.contains(ax))
            .try_fold(1i64, |acc, ax| {
                shape
                    .get(usize::try_from(ax).ok()?)
                    .copied()
                    .flatten()
                    .and_then(|d| acc.checked_mul(d))
            });
    rest.is_some_and(|r| r <= 16)
}

/// Conv with a constant kernel whose values are all equal (an averaging / box filter).
pub fn is_box_filter(ir: &Ir<'_>, n: &IrNode<'_>) -> bool {
    n.inputs
        .get(1)
        .copied()
        .flatten()
        .and_then(|w| ir.const_vals(w))
        .is_some_and(|v| v.len() > 1 && v.iter().all(|x| v.first().is_some_and(|f| x == f)))
}

/// Constants of at least 3 consecutive integers (`range(n)`): one-hot / vote enumerations.
pub fn is_enumeration(vals: Option<&[f64]>) -> bool {
    let Some(v) = vals else { return false };
    v.len() >= 3
        && v.windows(2)
            .all(|w| matches!(w, [a, b] if (b - a - 1.0).abs() < 1e-9))
        && v.first().is_some_and(|f| f.fract() == 0.0)
}

fn add_decision(out: &mut VState, id: NodeId, t_ld: u8, t_collapsed: bool, steep: bool) {
    let sig = out.sig.get_or_insert_with(|| Sig {
        min_ld: t_ld,
        ..Sig::default()
    });
    if !sig.decisions.contains(&id) && sig.decisions.len() < MAX_DECISIONS {
        sig.decisions.push(id);
        sig.decisions.sort_unstable();
    }
    sig.collapsed |= t_collapsed;
    sig.steep |= steep;
    sig.min_ld = sig.min_ld.min(t_ld);
}

fn merge(into: &mut VState, s: &VState) {
    if !s.taint {
        return;
    }
    if !into.taint {
        into.taint = true;
        into.ld = s.ld;
        into.patch_only = s.patch_only;
    } else {
        into.ld = into.ld.max(s.ld);
        into.patch_only &= s.patch_only;
    }
    into.collapsed |= s.collapsed;
    if let Some(g) = &s.sig {
        match into.sig.as_mut() {
            None => into.sig = Some(g.clone()),
            Some(mine) => {
                for &d in &g.decisions {
                    if !mine.decisions.contains(&d) && mine.decisions.len() < MAX_DECISIONS {
                        mine.decisions.push(d);
                    }
                }
                mine.decisions.sort_unstable();
                mine.collapsed |= g.collapsed;
                mine.steep |= g.steep;
                mine.min_ld = mine.min_ld.min(g.min_ld);
            }
        }
    }
}
