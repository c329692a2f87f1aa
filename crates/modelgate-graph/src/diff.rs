//! Weight-insensitive structural diff of two models.
//!
//! Each node gets a local signature: op type, domain, attributes (tensor attributes by type and
//! shape only, subgraphs by the multiset of their node signatures) and, per input, where it
//! comes from (the producing op and output slot, the n-th raw input, a configuration input, or
//! an initializer of some rank). Names and initializer values are ignored, so a fine-tuned or
//! re-quantised copy (same topology, new weights) has no diff. Signatures are matched as
//! multisets; what is left over in the candidate is "inserted", in the reference "removed".

use crate::ir::{Ir, NodeId, Origin, ValId};
use crate::rules::{Cx, gra004_inserted_nodes};
use crate::{GraphError, GraphFinding, GraphLimits, Severity, combine};
use modelgate_onnx::{AttributeValue, Graph, Model};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct NodeRef {
    pub name: String,
    pub op_type: String,
    pub location: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DiffReport {
    pub reference_nodes: usize,
    pub candidate_nodes: usize,
    pub inserted: Vec<NodeRef>,
    pub removed: Vec<NodeRef>,
    /// (reference node, candidate node) pairs with the same op and attributes whose inputs
    /// now come from elsewhere.
    pub rewired: Vec<(NodeRef, NodeRef)>,
    /// GRA004 plus every candidate finding whose gate or trigger path touches inserted nodes.
    pub findings: Vec<GraphFinding>,
    pub score: f64,
    pub severity: Severity,
}

impl DiffReport {
    pub fn is_identical(&self) -> bool {
        self.inserted.is_empty() && self.removed.is_empty() && self.rewired.is_empty()
    }
}

/// Diffs two parsed models and analyses what the candidate inserted.
pub fn diff_models(
    reference: &Model,
    candidate: &Model,
    limits: &GraphLimits,
) -> Result<DiffReport, GraphError> {
    let rcx = Cx::new(reference, limits)?;
    let ccx = Cx::new(candidate, limits)?;
    let rsig = signatures(&rcx.ir);
    let csig = signatures(&ccx.ir);
    let mut pool: HashMap<u64, usize> = HashMap::new();
    for s in &rsig {
        *pool.entry(*s).or_default() += 1;
    }
    let mut inserted_ids = Vec::new();
    for (id, s) in csig.iter().enumerate() {
        match pool.get_mut(s) {
            Some(c) if *c > 0 => *c -= 1,
            _ => inserted_ids.push(id),
        }
    }
    let mut cpool: HashMap<u64, usize> = HashMap::new();
    for s in &csig {
        *cpool.entry(*s).or_default() += 1;
    }
    let mut removed_ids = Vec::new();
    for (id, s) in rsig.iter().enumerate() {
        match cpool.get_mut(s) {
            Some(c) if *c > 0 => *c -= 1,
            _ => removed_ids.push(id),
        }
    }
    let nref = |cx: &Cx<'_>, id: NodeId| NodeRef {
        name: cx.ir.node_name(id),
        op_type: cx
            .ir
            .nodes
            .get(id)
            .map(|n| n.op().to_string())
            .unwrap_or_default(),
        location: cx
            .ir
            .nodes
            .get(id)
            .map(|n| n.path.clone())
            .unwrap_or_default(),
    };
    // an inserted and a removed node with the same op and attributes are one node whose inputs
    // were rewired (e.g. the layer after an inserted Add)
    let rshape = shape_signatures(&rcx.ir);
    let cshape = shape_signatures(&ccx.ir);
    let mut rewired = Vec::new();
    let mut still_removed = removed_ids.clone();
    inserted_ids.retain(|&c| {
        let want = cshape.get(c);
        match still_removed.iter().position(|&r| rshape.get(r) == want) {
            Some(pos) => {
                let r = still_removed.remove(pos);
                rewired.push((nref(&rcx, r), nref(&ccx, c)));
                false
            }
            None => true,
        }
    });
    let removed_ids = still_removed;
    let inserted: Vec<NodeRef> = inserted_ids.iter().map(|&i| nref(&ccx, i)).collect();
    let removed: Vec<NodeRef> = removed_ids.iter().map(|&i| nref(&rcx, i)).collect();

    let mut findings = Vec::new();
    if !inserted_ids.is_empty() || !removed_ids.is_empty() || !rewired.is_empty() {
        let mut g4 = gra004_inserted_nodes::check(&ccx, &inserted_ids, removed.len());
        for f in &mut g4 {
            f.evidence.insert(
                "rewired".into(),
                rewired
                    .iter()
                    .map(|(_, c)| format!("{} {}", c.op_type, c.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        findings.extend(g4);
        let names: HashSet<String> = inserted
            .iter()
            .chain(rewired.iter().map(|(_, c)| c))
            .map(|n| n.name.clone())
            .collect();
        let analysis = ccx.analyze();
        findings.extend(analysis.findings.into_iter().filter(|f| {
            crate::rules::GATE_CODES.contains(&f.code)
                && (names.contains(&f.node) || f.trigger_nodes.iter().any(|t| names.contains(t)))
        }));
    }
    let score = crate::rules::round3(combine(findings.iter().map(|f| f.confidence)));
    Ok(DiffReport {
        reference_nodes: rcx.ir.nodes.len(),
        candidate_nodes: ccx.ir.nodes.len(),
        inserted,
        removed,
        rewired,
        findings,
        score,
        severity: crate::severity_from_score(score),
    })
}

/// Parses two serialized models and diffs them.
pub fn diff_onnx_bytes(
    reference: &[u8],
    candidate: &[u8],
    limits: &GraphLimits,
) -> Result<DiffReport, GraphError> {
    let r = modelgate_onnx::parse(reference, &limits.onnx)?;
    let c = modelgate_onnx::parse(candidate, &limits.onnx)?;
    diff_models(&r, &c, limits)
}

fn h<T: Hash>(x: &T) -> u64 {
    let mut s = DefaultHasher::new();
    x.hash(&mut s);
    s.finish()
}

/// Local, name- and weight-insensitive signature of every IR node.
pub fn signatures(ir: &Ir<'_>) -> Vec<u64> {
    let raw_pos: HashMap<ValId, usize> = ir
        .raw_inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, i))
        .collect();
    ir.nodes
        .iter()
        .map(|n| {
            let mut parts: Vec<String> = vec![
                n.node.domain.clone(),
                n.op().to_string(),
                depth_of(&n.path).to_string(),
            ];
            for a in &n.node.attributes {
                parts.push(format!("{}={}", a.name, attr_sig(&a.value)));
            }
            for i in &n.inputs {
                parts.push(match i {
                    None => "-".into(),
                    Some(v) => source_sig(ir, *v, &raw_pos),
                });
            }
            h(&parts)
        })
        .collect()
}

/// Op, domain, nesting depth, attributes and input count: the node without its wiring.
fn shape_signatures(ir: &Ir<'_>) -> Vec<u64> {
    ir.nodes
        .iter()
        .map(|n| {
            let mut parts: Vec<String> = vec![
                n.node.domain.clone(),
                n.op().to_string(),
                depth_of(&n.path).to_string(),
                n.inputs.len().to_string(),
            ];
            for a in &n.node.attributes {
                parts.push(format!("{}={}", a.name, attr_sig(&a.value)));
            }
            h(&parts)
        })
        .collect()
}

fn depth_of(path: &str) -> usize {
    path.matches('/').count()
}

fn source_sig(ir: &Ir<'_>, v: ValId, raw_pos: &HashMap<ValId, usize>) -> String {
    let Some(val) = ir.val(v) else {
        return "?".into();
    };
    match &val.origin {
        Origin::RawInput => format!("in{}", raw_pos.get(&v).copied().unwrap_or(0)),
        Origin::ConfigInput => "cfg".into(),
        Origin::Initializer => {
            format!("init/r{}", val.shape.as_ref().map(|s| s.len()).unwrap_or(0))
        }
        Origin::SubgraphInput { .. } => "formal".into(),
        Origin::Undefined => "undef".into(),
        Origin::NodeOutput => {
            let p = val.producer.and_then(|p| ir.nodes.get(p));
            let slot = p
                .and_then(|p| p.outputs.iter().position(|&o| o == v))
                .unwrap_or(0);
            format!("{}:{slot}", p.map(|p| p.op()).unwrap_or("?"))
        }
    }
}

fn attr_sig(a: &AttributeValue) -> String {
    match a {
        AttributeValue::Tensor(t) | AttributeValue::SparseTensor(t) => {
            // small tensors are structure (shapes, axes, scalar fills); large ones are weights
            match t.values_f64(16) {
                Some(v)
                    if t.element_count().is_some_and(|n| n <= 16)
                        && t.data_type != modelgate_onnx::DataType::FLOAT =>
                {
                    format!("t{:?}{v:?}", t.dims)
                }
                _ => format!("t{}{:?}", t.data_type.0, t.dims),
            }
        }
        AttributeValue::Graph(g) => format!("g{}", graph_sig(g)),
        AttributeValue::Graphs(gs) => gs
            .iter()
            .map(|g| format!("g{}", graph_sig(g)))
            .collect::<Vec<_>>()
            .join(","),
        AttributeValue::Tensors(ts) => format!("ts{}", ts.len()),
        AttributeValue::Float(f) => format!("{f}"),
        AttributeValue::Floats(v) => format!("{v:?}"),
        AttributeValue::Int(i) => format!("{i}"),
        AttributeValue::Ints(v) => format!("{v:?}"),
        AttributeValue::String(s) => String::from_utf8_lossy(s).into_owned(),
        AttributeValue::Strings(v) => format!("{}", v.len()),
        other => format!("{other:?}").chars().take(32).collect(),
    }
}

fn graph_sig(g: &Graph) -> u64 {
    let mut ops: Vec<String> = g
        .nodes
        .iter()
        .map(|n| format!("{}:{}", n.domain, n.op_type))
        .collect();
    ops.sort();
    h(&ops)
}
