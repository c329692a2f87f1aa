//! GRA006 graph-analysis-incomplete: the graph references values that nothing defines, or its
//! data flow did not settle (cycles). The analysis still ran, but its facts may be partial; the
//! finding makes that visible instead of passing silently.

use super::Cx;
use crate::ir::Origin;
use crate::{GraphFinding, RuleMeta, Severity};
use std::collections::BTreeMap;

pub const META: RuleMeta = RuleMeta {
    code: "GRA006",
    name: "graph-analysis-incomplete",
    kind: "malformed",
    summary: "undefined values or unsettled data flow; graph facts may be partial",
    doc: include_str!("../../../../docs/rules/GRA006.md"),
};

pub fn check(cx: &Cx<'_>) -> Vec<GraphFinding> {
    let undefined: Vec<&str> = cx
        .ir
        .values
        .iter()
        .filter(|v| v.origin == Origin::Undefined)
        .map(|v| v.name.as_str())
        .collect();
    let unsettled = cx.flow.passes >= 8;
    if undefined.is_empty() && !unsettled {
        return Vec::new();
    }
    let mut ev = BTreeMap::new();
    ev.insert(
        "undefined_values".into(),
        undefined
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
    );
    ev.insert("undefined_count".into(), undefined.len().to_string());
    ev.insert("flow_passes".into(), cx.flow.passes.to_string());
    let message = if unsettled {
        "graph data flow did not settle (cyclic or unordered graph); results may be partial"
            .to_string()
    } else {
        format!(
            "graph reads {} value(s) that nothing defines",
            undefined.len()
        )
    };
    let mut f = cx.finding(&META, 0, 0.0, message, ev, &[]);
    f.node = String::new();
    f.op_type = String::new();
    f.location = "graph".into();
    f.severity = Severity::Info;
    vec![f]
}
