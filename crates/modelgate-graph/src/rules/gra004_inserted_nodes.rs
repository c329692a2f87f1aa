//! GRA004 inserted-nodes: compared with a known-good reference (`modelgate graph diff`), the
//! candidate has nodes the reference does not (weight-insensitive: names and initializer values
//! are ignored, so fine-tuned or re-quantised copies have no diff).
//!
//! Score 0.9 when an inserted node reads raw input data (value-tainted with learned depth 0):
//! new logic looking at the input is how shadow-logic triggers are added. 0.3 when the inserted
//! nodes only read model values (appended post-processing such as NMS, or an output-conditioned
//! rewrite — GRA002 still applies). The backdoor rules are re-run on the candidate and their
//! findings that touch inserted nodes are reported with this one. Re-exports with another
//! exporter or opset change the node multiset wholesale; then rely on GRA001–GRA003.

use super::Cx;
use crate::ir::{NodeId, Origin};
use crate::{GraphFinding, RuleMeta};
use std::collections::BTreeMap;

pub const META: RuleMeta = RuleMeta {
    code: "GRA004",
    name: "inserted-nodes",
    kind: "backdoor",
    summary: "nodes inserted relative to a known-good reference model",
    doc: include_str!("../../../../docs/rules/GRA004.md"),
};

pub fn check(cx: &Cx<'_>, inserted: &[NodeId], removed: usize) -> Vec<GraphFinding> {
    // an inserted node "reads raw input" when it consumes a raw input, or raw-input-derived
    // data (learned depth 0) computed by nodes that were already there
    let reads_raw: Vec<NodeId> = inserted
        .iter()
        .copied()
        .filter(|&id| {
            cx.ir.nodes.get(id).is_some_and(|n| {
                n.inputs
                    .iter()
                    .flatten()
                    .chain(n.captures.iter())
                    .any(|&v| {
                        let s = cx.flow.state(v);
                        cx.ir.val(v).is_some_and(|x| {
                            x.origin == Origin::RawInput
                                || (s.taint
                                    && s.ld == 0
                                    && x.producer.is_some_and(|p| !inserted.contains(&p)))
                        })
                    })
            })
        })
        .collect();
    let score = if !reads_raw.is_empty() {
        0.9
    } else if !inserted.is_empty() {
        0.3
    } else {
        0.1
    };
    let anchor = reads_raw.first().or(inserted.first()).copied().unwrap_or(0);
    let mut ev = BTreeMap::new();
    ev.insert("inserted".into(), inserted.len().to_string());
    ev.insert("removed".into(), removed.to_string());
    ev.insert(
        "inserted_reading_raw_input".into(),
        reads_raw
            .iter()
            .map(|&i| cx.ir.node_name(i))
            .collect::<Vec<_>>()
            .join(", "),
    );
    ev.insert(
        "inserted_nodes".into(),
        inserted
            .iter()
            .take(50)
            .map(|&i| {
                format!(
                    "{} {}",
                    cx.ir.nodes.get(i).map(|n| n.op()).unwrap_or(""),
                    cx.ir.node_name(i)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    let message = if reads_raw.is_empty() {
        format!(
            "{} node(s) inserted and {removed} removed relative to the reference; none reads raw input",
            inserted.len()
        )
    } else {
        format!(
            "{} node(s) inserted relative to the reference, {} of them reading raw input directly ({removed} removed)",
            inserted.len(),
            reads_raw.len()
        )
    };
    let mut f = cx.finding(&META, anchor, score, message, ev, inserted);
    if inserted.is_empty() {
        f.node = String::new();
        f.op_type = String::new();
    }
    vec![f]
}
