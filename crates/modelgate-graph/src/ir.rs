//! Graph IR: one flat list of nodes (subgraph nodes included, placed before the control-flow
//! node that owns them) over uniquely numbered values, with implicit captures resolved, small
//! constants folded and simple static shapes propagated.

use modelgate_onnx::{AttributeValue, DataType, Model, Node, Tensor, ValueType};
use std::collections::HashMap;
use std::rc::Rc;

pub type ValId = usize;
pub type NodeId = usize;

/// Constants larger than this are described (element count) but not decoded.
pub const MAX_FOLD_ELEMS: usize = 4096;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A main-graph input without a same-named initializer that carries data.
    RawInput,
    /// A main-graph input that is configuration: rank 0 or a single element (e.g. `sr`).
    ConfigInput,
    /// An initializer (also when listed as a graph input, IR < 4 style).
    Initializer,
    /// Output of a node.
    NodeOutput,
    /// A formal input of a Loop/Scan body (or any subgraph); fed from these outer values.
    SubgraphInput { sources: Vec<ValId> },
    /// Referenced but never defined (malformed graph or optional input).
    Undefined,
}

/// What is known statically about a constant value.
#[derive(Debug, Clone, Default)]
pub struct ConstInfo {
    /// Element count, when known.
    pub elems: Option<u64>,
    /// Decoded values, for constants with at most [`MAX_FOLD_ELEMS`] elements.
    pub vals: Option<Rc<Vec<f64>>>,
    /// Produced by arithmetic between constants (split-constant obfuscation tell).
    pub folded_arith: bool,
}

#[derive(Debug, Clone)]
pub struct Value {
    pub name: String,
    pub origin: Origin,
    pub producer: Option<NodeId>,
    pub consumers: Vec<NodeId>,
    /// Declared or inferred shape (`None` entries = unknown dims).
    pub shape: Option<Vec<Option<i64>>>,
    pub konst: Option<ConstInfo>,
    /// True for the main graph's outputs.
    pub is_output: bool,
    /// Set for subgraph outputs: the control-flow node that consumes them.
    pub branch_of: Option<NodeId>,
}

#[derive(Debug)]
pub struct IrNode<'m> {
    pub node: &'m Node,
    /// `graph` or `graph/<node>.<attr>` for subgraph nodes.
    pub path: String,
    pub inputs: Vec<Option<ValId>>,
    pub outputs: Vec<ValId>,
    /// Outer values read inside this node's subgraphs (implicit captures, recursively).
    pub captures: Vec<ValId>,
    /// For each subgraph attribute: (attribute name, its output values, its node ids).
    pub branches: Vec<Branch>,
    /// The control-flow node whose subgraph holds this node.
    pub parent: Option<NodeId>,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub attr: String,
    pub outputs: Vec<ValId>,
    pub nodes: Vec<NodeId>,
}

impl IrNode<'_> {
    pub fn op(&self) -> &str {
        &self.node.op_type
    }
    pub fn display_name(&self, id: NodeId) -> String {
        if self.node.name.is_empty() {
            format!("{}#{id}", self.node.op_type)
        } else {
            self.node.name.clone()
        }
    }
}

/// The flattened graph.
#[derive(Debug)]
pub struct Ir<'m> {
    pub model: &'m Model,
    pub values: Vec<Value>,
    pub nodes: Vec<IrNode<'m>>,
    pub raw_inputs: Vec<ValId>,
    pub outputs: Vec<ValId>,
}

/// Budget hit while building the IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrLimit(pub &'static str);

struct Builder<'m> {
    values: Vec<Value>,
    nodes: Vec<IrNode<'m>>,
    scopes: Vec<HashMap<&'m str, ValId>>,
    /// Capture sets of the subgraphs being built: (scope level of the subgraph root, captures).
    capture_stack: Vec<(usize, Vec<ValId>)>,
    max_values: usize,
    /// Model-local functions by (domain, name): calls are expanded like subgraphs.
    functions: HashMap<(&'m str, &'m str), &'m modelgate_onnx::Function>,
    fn_depth: usize,
}

/// Deepest nesting of function calls that is expanded (recursive functions stop here).
const MAX_FN_DEPTH: usize = 8;

impl<'m> Ir<'m> {
    pub fn build(model: &'m Model, max_values: usize) -> Result<Ir<'m>, IrLimit> {
        let mut b = Builder {
            values: Vec::new(),
            nodes: Vec::new(),
            scopes: Vec::new(),
            capture_stack: Vec::new(),
            max_values,
            functions: model
                .functions
                .iter()
                .map(|f| ((f.domain.as_str(), f.name.as_str()), f))
                .collect(),
            fn_depth: 0,
        };
        let g = &model.graph;
        b.scopes.push(HashMap::new());
        for t in g.initializers.iter().chain(g.sparse_initializers.iter()) {
            let v = b.new_value(&t.name, Origin::Initializer)?;
            b.values[v].konst = Some(tensor_const(t));
            b.values[v].shape = Some(t.dims.iter().map(|&d| Some(d)).collect());
            b.bind(&t.name, v);
        }
        let mut raw_inputs = Vec::new();
        for i in &g.inputs {
            if b.lookup_local(&i.name).is_some() {
                continue; // initializer-backed input: not a raw input
            }
            let shape = declared_shape(&i.ty);
            let is_config = match &shape {
                Some(s) => s.is_empty() || s.iter().all(|d| *d == Some(1)),
                None => false,
            };
            let v = b.new_value(
                &i.name,
                if is_config {
                    Origin::ConfigInput
                } else {
                    Origin::RawInput
                },
            )?;
            b.values[v].shape = shape;
            b.bind(&i.name, v);
            if !is_config {
                raw_inputs.push(v);
            }
        }
        b.graph_nodes(&g.nodes, "graph", None)?;
        let mut outputs = Vec::new();
        for o in &g.outputs {
            if let Some(v) = b.resolve(&o.name)? {
                b.values[v].is_output = true;
                outputs.push(v);
            }
        }
        let mut ir = Ir {
            model,
            values: b.values,
            nodes: b.nodes,
            raw_inputs,
            outputs,
        };
        ir.fold_constants();
        ir.propagate_shapes();
        Ok(ir)
    }

    pub fn node_name(&self, id: NodeId) -> String {
        self.nodes
            .get(id)
            .map(|n| n.display_name(id))
            .unwrap_or_default()
    }

    pub fn val(&self, id: ValId) -> Option<&Value> {
        self.values.get(id)
    }

    /// Folded values of a constant operand.
    pub fn const_vals(&self, v: ValId) -> Option<&[f64]> {
        self.values
            .get(v)?
            .konst
            .as_ref()?
            .vals
            .as_deref()
            .map(|x| x.as_slice())
    }

    /// Element count of a constant operand.
    pub fn const_elems(&self, v: ValId) -> Option<u64> {
        self.values.get(v)?.konst.as_ref()?.elems
    }

    fn fold_constants(&mut self) {
        for id in 0..self.nodes.len() {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            let op = n.node.op_type.as_str();
            let ins: Vec<Option<ConstInfo>> = n
                .inputs
                .iter()
                .map(|i| i.and_then(|v| self.values.get(v).and_then(|x| x.konst.clone())))
                .collect();
            let out = match op {
                "Constant" => constant_node(n.node),
                "Identity" | "Cast" | "Reshape" | "Squeeze" | "Unsqueeze" | "Flatten"
                | "Expand"
                    if ins.first().is_some_and(|c| c.is_some()) =>
                {
                    let mut c = ins.first().cloned().flatten();
                    if op == "Expand" {
                        c = c.map(|c| ConstInfo { elems: None, ..c });
                    }
                    c
                }
                "Add" | "Sub" | "Mul" | "Div"
                    if ins.len() == 2 && ins.iter().all(|c| c.is_some()) =>
                {
                    let a = ins.first().cloned().flatten();
                    let b = ins.get(1).cloned().flatten();
                    match (a, b) {
                        (Some(a), Some(b)) => Some(binary(op, &a, &b)),
                        _ => None,
                    }
                }
                "Neg" => ins.first().cloned().flatten().map(|c| ConstInfo {
                    vals: c.vals.map(|v| Rc::new(v.iter().map(|x| -x).collect())),
                    folded_arith: true,
                    ..c
                }),
                "ConstantOfShape" => Some(ConstInfo::default()),
                _ => None,
            };
            if let Some(c) = out {
                for &o in &n.outputs {
                    if let Some(v) = self.values.get_mut(o) {
                        v.konst = Some(c.clone());
                    }
                }
            }
        }
    }

    fn propagate_shapes(&mut self) {
        for id in 0..self.nodes.len() {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            let in_shape = |k: usize| {
                n.inputs
                    .get(k)
                    .copied()
                    .flatten()
                    .and_then(|v| self.values.get(v))
                    .and_then(|v| v.shape.clone())
            };
            let op = n.node.op_type.as_str();
            let shape = match op {
                "Identity" | "Cast" | "Relu" | "Sigmoid" | "Abs" | "Neg" | "Not" | "IsNaN"
                | "Clip" => in_shape(0),
                "Slice" => in_shape(0).and_then(|s| self.slice_shape(n, s)),
                _ if op.starts_with("Reduce") => in_shape(0).and_then(|s| self.reduce_shape(n, s)),
                "Gather" => in_shape(0).and_then(|s| self.gather_shape(n, s)),
                "Equal" | "Greater" | "Less" | "GreaterOrEqual" | "LessOrEqual" | "And" | "Or"
                | "Xor" | "Mul" | "Sub" | "Add" | "Div" => match (in_shape(0), in_shape(1)) {
                    (Some(a), Some(b)) => Some(broadcast(&a, &b)),
                    _ => None,
                },
                _ => None,
            };
            if let Some(s) = shape {
                let outs = n.outputs.clone();
                for o in outs {
                    if let Some(v) = self.values.get_mut(o)
                        && v.shape.is_none()
                    {
                        v.shape = Some(s.clone());
                    }
                }
            }
        }
    }

    /// Static slice parameters: (axis, start, end) from inputs (opset >= 10) or attributes.
    pub fn slice_params(&self, n: &IrNode<'_>) -> Option<Vec<(i64, i64, i64)>> {
        let (starts, ends, axes): (Vec<i64>, Vec<i64>, Option<Vec<i64>>) = if n.inputs.len() >= 3 {
            let get = |k: usize| {
                n.inputs
                    .get(k)
                    .copied()
                    .flatten()
                    .and_then(|v| self.const_vals(v))
                    .map(|x| x.iter().map(|&f| f as i64).collect::<Vec<_>>())
            };
            (get(1)?, get(2)?, get(3))
        } else {
            let a = |name: &str| {
                n.node
                    .attr(name)
                    .and_then(|a| a.as_ints())
                    .map(|x| x.to_vec())
            };
            (a("starts")?, a("ends")?, a("axes"))
        };
        if let Some(steps) = n
            .inputs
            .get(4)
            .copied()
            .flatten()
            .and_then(|v| self.const_vals(v))
            && steps.iter().any(|&s| s != 1.0)
        {
            return None;
        }
        let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
        if axes.len() != starts.len() || ends.len() != starts.len() {
            return None;
        }
        Some(
            axes.into_iter()
                .zip(starts)
                .zip(ends)
                .map(|((a, s), e)| (a, s, e))
                .collect(),
        )
    }

    fn slice_shape(&self, n: &IrNode<'_>, mut shape: Vec<Option<i64>>) -> Option<Vec<Option<i64>>> {
        let rank = shape.len() as i64;
        for (axis, start, end) in self.slice_params(n)? {
            let ax = if axis < 0 {
                axis.saturating_add(rank)
            } else {
                axis
            };
            let slot = shape.get_mut(usize::try_from(ax).ok()?)?;
            let extent = match *slot {
                Some(d) => {
                    let norm = |x: i64| if x < 0 { (x + d).clamp(0, d) } else { x.min(d) };
                    (norm(end) - norm(start)).max(0)
                }
                None if start >= 0 && end >= start && end < (1 << 30) => end - start,
                None => {
                    *slot = None;
                    continue;
                }
            };
            *slot = Some(extent);
        }
        Some(shape)
    }

    fn reduce_shape(&self, n: &IrNode<'_>, shape: Vec<Option<i64>>) -> Option<Vec<Option<i64>>> {
        let keep = n
            .node
            .attr("keepdims")
            .and_then(|a| a.as_int())
            .unwrap_or(1)
            != 0;
        let axes: Vec<i64> = match n.node.attr("axes").and_then(|a| a.as_ints()) {
            Some(a) => a.to_vec(),
            None => match n.inputs.get(1).copied().flatten() {
                Some(v) => self.const_vals(v)?.iter().map(|&x| x as i64).collect(),
                None => Vec::new(),
            },
        };
        let rank = shape.len() as i64;
        let all = axes.is_empty();
        let reduced: Vec<i64> = axes
            .iter()
            .map(|&a| if a < 0 { a.saturating_add(rank) } else { a })
            .collect();
        let mut out = Vec::new();
        for (i, d) in shape.into_iter().enumerate() {
            if all || reduced.contains(&(i as i64)) {
                if keep {
                    out.push(Some(1));
                }
            } else {
                out.push(d);
            }
        }
        Some(out)
    }

    fn gather_shape(
        &self,
        n: &IrNode<'_>,
        mut shape: Vec<Option<i64>>,
    ) -> Option<Vec<Option<i64>>> {
        let idx = n.inputs.get(1).copied().flatten()?;
        let v = self.values.get(idx)?;
        let k = v.konst.as_ref()?;
        let axis = n.node.attr("axis").and_then(|a| a.as_int()).unwrap_or(0);
        let rank = shape.len() as i64;
        let ax = usize::try_from(if axis < 0 {
            axis.saturating_add(rank)
        } else {
            axis
        })
        .ok()?;
        let idx_shape = v.shape.clone()?;
        let _ = k;
        if ax >= shape.len() {
            return None;
        }
        let tail = shape.split_off(ax + 1);
        shape.pop();
        shape.extend(idx_shape);
        shape.extend(tail);
        Some(shape)
    }
}

/// Numpy-style broadcast of two shapes with unknown dims.
pub fn broadcast(a: &[Option<i64>], b: &[Option<i64>]) -> Vec<Option<i64>> {
    let rank = a.len().max(b.len());
    let pad = |s: &[Option<i64>], k: usize| -> Option<i64> {
        let off = rank - s.len();
        if k < off {
            Some(1)
        } else {
            s.get(k - off).copied().flatten()
        }
    };
    (0..rank)
        .map(|k| match (pad(a, k), pad(b, k)) {
            (Some(1), x) | (x, Some(1)) => x,
            (Some(x), Some(y)) if x == y => Some(x),
            _ => None,
        })
        .collect()
}

/// Elements per sample (all dims but the first), if known.
pub fn elems_of(shape: &[Option<i64>]) -> Option<i64> {
    shape
        .iter()
        .skip(1)
        .try_fold(1i64, |acc, d| d.and_then(|d| acc.checked_mul(d.max(0))))
}

fn declared_shape(ty: &ValueType) -> Option<Vec<Option<i64>>> {
    let s = ty.shape()?;
    Some(
        s.iter()
            .map(|d| match d {
                modelgate_onnx::Dim::Known(v) if *v > 0 => Some(*v),
                _ => None,
            })
            .collect(),
    )
}

fn tensor_const(t: &Tensor) -> ConstInfo {
    let elems = t.element_count();
    let vals = match elems {
        Some(n) if n <= MAX_FOLD_ELEMS as u64 && t.data_type != DataType::STRING => {
            t.values_f64(MAX_FOLD_ELEMS).map(Rc::new)
        }
        _ => None,
    };
    ConstInfo {
        elems,
        vals,
        folded_arith: false,
    }
}

fn constant_node(n: &Node) -> Option<ConstInfo> {
    let a = n.attributes.first()?;
    Some(match &a.value {
        AttributeValue::Tensor(t) | AttributeValue::SparseTensor(t) => tensor_const(t),
        AttributeValue::Float(f) => ConstInfo {
            elems: Some(1),
            vals: Some(Rc::new(vec![f64::from(*f)])),
            folded_arith: false,
        },
        AttributeValue::Int(i) => ConstInfo {
            elems: Some(1),
            vals: Some(Rc::new(vec![*i as f64])),
            folded_arith: false,
        },
        AttributeValue::Floats(v) => ConstInfo {
            elems: Some(v.len() as u64),
            vals: Some(Rc::new(v.iter().map(|&x| f64::from(x)).collect())),
            folded_arith: false,
        },
        AttributeValue::Ints(v) => ConstInfo {
            elems: Some(v.len() as u64),
            vals: Some(Rc::new(v.iter().map(|&x| x as f64).collect())),
            folded_arith: false,
        },
        _ => ConstInfo::default(),
    })
}

fn binary(op: &str, a: &ConstInfo, b: &ConstInfo) -> ConstInfo {
    let f = |x: f64, y: f64| match op {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        _ => x / y,
    };
    let vals = match (&a.vals, &b.vals) {
        (Some(x), Some(y)) if x.len() == y.len() => Some(Rc::new(
            x.iter()
                .zip(y.iter())
                .map(|(&p, &q)| f(p, q))
                .collect::<Vec<_>>(),
        )),
        (Some(x), Some(y)) if y.len() == 1 => y
            .first()
            .map(|&q| Rc::new(x.iter().map(|&p| f(p, q)).collect::<Vec<_>>())),
        (Some(x), Some(y)) if x.len() == 1 => x
            .first()
            .map(|&p| Rc::new(y.iter().map(|&q| f(p, q)).collect::<Vec<_>>())),
        _ => None,
    };
    let elems = match (a.elems, b.elems) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    };
    ConstInfo {
        elems,
        vals,
        folded_arith: true,
    }
}

impl<'m> Builder<'m> {
    fn new_value(&mut self, name: &str, origin: Origin) -> Result<ValId, IrLimit> {
        if self.values.len() >= self.max_values {
            return Err(IrLimit("value count"));
        }
        self.values.push(Value {
            name: name.to_string(),
            origin,
            producer: None,
            consumers: Vec::new(),
            shape: None,
            konst: None,
            is_output: false,
            branch_of: None,
        });
        Ok(self.values.len() - 1)
    }

    fn bind(&mut self, name: &'m str, v: ValId) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name, v);
        }
    }

    fn lookup_local(&self, name: &str) -> Option<ValId> {
        self.scopes.last().and_then(|s| s.get(name).copied())
    }

    /// Resolves a name through the scope chain, recording implicit captures.
    fn resolve(&mut self, name: &'m str) -> Result<Option<ValId>, IrLimit> {
        if name.is_empty() {
            return Ok(None);
        }
        let mut found = None;
        for (level, s) in self.scopes.iter().enumerate().rev() {
            if let Some(&v) = s.get(name) {
                found = Some((level, v));
                break;
            }
        }
        match found {
            Some((level, v)) => {
                for (root, caps) in self.capture_stack.iter_mut() {
                    if level < *root && !caps.contains(&v) {
                        caps.push(v);
                    }
                }
                Ok(Some(v))
            }
            None => {
                let v = self.new_value(name, Origin::Undefined)?;
                if let Some(s) = self.scopes.first_mut() {
                    s.insert(name, v);
                }
                Ok(Some(v))
            }
        }
    }

    fn graph_nodes(
        &mut self,
        g_nodes: &'m [Node],
        path: &str,
        parent: Option<NodeId>,
    ) -> Result<Vec<NodeId>, IrLimit> {
        let mut ids = Vec::new();
        // Bind every node output first, so graphs whose nodes are not topologically sorted
        // still resolve (the data-flow pass iterates to a fixpoint).
        let mut pre: Vec<Vec<ValId>> = Vec::with_capacity(g_nodes.len());
        for node in g_nodes {
            let mut outs = Vec::with_capacity(node.outputs.len());
            for o in node.outputs.iter().filter(|o| !o.is_empty()) {
                let v = self.new_value(o, Origin::NodeOutput)?;
                self.bind(o, v);
                outs.push(v);
            }
            pre.push(outs);
        }
        for (k, node) in g_nodes.iter().enumerate() {
            let mut inputs = Vec::with_capacity(node.inputs.len());
            for i in &node.inputs {
                inputs.push(self.resolve(i)?);
            }
            let explicit: Vec<ValId> = inputs.iter().flatten().copied().collect();
            let mut branches = Vec::new();
            let mut captures = Vec::new();
            let mut inner_ids = Vec::new();
            for (attr, sub) in node.subgraphs() {
                let level = self.scopes.len();
                self.scopes.push(HashMap::new());
                self.capture_stack.push((level, Vec::new()));
                for t in sub
                    .initializers
                    .iter()
                    .chain(sub.sparse_initializers.iter())
                {
                    let v = self.new_value(&t.name, Origin::Initializer)?;
                    self.values[v].konst = Some(tensor_const(t));
                    self.bind(&t.name, v);
                }
                for i in &sub.inputs {
                    if self.lookup_local(&i.name).is_none() {
                        let v = self.new_value(
                            &i.name,
                            Origin::SubgraphInput {
                                sources: explicit.clone(),
                            },
                        )?;
                        self.bind(&i.name, v);
                    }
                }
                let sub_path = format!(
                    "{path}/{}.{attr}",
                    if node.name.is_empty() {
                        node.op_type.as_str()
                    } else {
                        node.name.as_str()
                    }
                );
                // parent id is assigned after the children; patched below
                let nodes = self.graph_nodes(&sub.nodes, &sub_path, None)?;
                let mut outs = Vec::new();
                for o in &sub.outputs {
                    if let Some(v) = self.resolve(&o.name)? {
                        outs.push(v);
                    }
                }
                self.scopes.pop();
                if let Some((_, caps)) = self.capture_stack.pop() {
                    for c in caps {
                        if !captures.contains(&c) {
                            captures.push(c);
                        }
                    }
                }
                inner_ids.extend(nodes.iter().copied());
                branches.push(Branch {
                    attr: attr.to_string(),
                    outputs: outs,
                    nodes,
                });
            }
            let callee = self
                .functions
                .get(&(node.domain.as_str(), node.op_type.as_str()))
                .copied();
            if let Some(f) = callee.filter(|_| branches.is_empty() && self.fn_depth < MAX_FN_DEPTH)
            {
                // expand the model-local function: formals bound to the actual inputs
                self.fn_depth += 1;
                self.scopes.push(HashMap::new());
                for (k, formal) in f.inputs.iter().enumerate() {
                    if let Some(Some(actual)) = inputs.get(k) {
                        self.bind(formal, *actual);
                    }
                }
                let label = if node.name.is_empty() {
                    node.op_type.as_str()
                } else {
                    node.name.as_str()
                };
                let body = self.graph_nodes(&f.nodes, &format!("{path}/{label}.function"), None);
                let mut outs = Vec::new();
                if body.is_ok() {
                    for o in &f.outputs {
                        if let Some(v) = self.resolve(o)? {
                            outs.push(v);
                        }
                    }
                }
                self.scopes.pop();
                self.fn_depth -= 1;
                let body = body?;
                inner_ids.extend(body.iter().copied());
                branches.push(Branch {
                    attr: "function".to_string(),
                    outputs: outs,
                    nodes: body,
                });
            }
            let id = self.nodes.len();
            for &child in &inner_ids {
                if let Some(c) = self.nodes.get_mut(child)
                    && c.parent.is_none()
                {
                    c.parent = Some(id);
                }
            }
            for b in &branches {
                for &o in &b.outputs {
                    if let Some(v) = self.values.get_mut(o) {
                        v.branch_of = Some(id);
                    }
                }
            }
            let outputs = pre.get(k).cloned().unwrap_or_default();
            for &v in &outputs {
                if let Some(val) = self.values.get_mut(v) {
                    val.producer = Some(id);
                }
            }
            for v in inputs.iter().flatten().chain(captures.iter()) {
                if let Some(val) = self.values.get_mut(*v)
                    && !val.consumers.contains(&id)
                {
                    val.consumers.push(id);
                }
            }
            self.nodes.push(IrNode {
                node,
                path: path.to_string(),
                inputs,
                outputs,
                captures,
                branches,
                parent,
            });
            ids.push(id);
        }
        Ok(ids)
    }
}
