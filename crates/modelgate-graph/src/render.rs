//! Rendering: text explanation, Graphviz DOT, self-made SVG (layered layout, no graphviz
//! needed) and a self-contained HTML page. Trigger-path nodes are drawn red, gates orange.

use crate::Analysis;
use crate::ir::{NodeId, Origin, ValId};
use crate::rules::Cx;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

/// What to draw.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Draw the whole graph instead of the neighbourhood of the findings.
    pub full: bool,
    /// Node cap (larger selections are truncated, in graph order).
    pub max_nodes: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            full: false,
            max_nodes: 400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Trigger,
    Gate,
}

/// A drawable selection of the graph.
struct View {
    nodes: Vec<NodeId>,
    roles: HashMap<NodeId, Role>,
    inputs: Vec<ValId>,
    outputs: Vec<ValId>,
    truncated: bool,
}

fn roles(cx: &Cx<'_>, a: &Analysis) -> HashMap<NodeId, Role> {
    let by_name: HashMap<String, NodeId> = (0..cx.ir.nodes.len())
        .map(|i| (cx.ir.node_name(i), i))
        .collect();
    let mut r = HashMap::new();
    for f in a
        .findings
        .iter()
        .filter(|f| crate::rules::GATE_CODES.contains(&f.code))
    {
        for t in &f.trigger_nodes {
            if let Some(&id) = by_name.get(t) {
                r.insert(id, Role::Trigger);
            }
        }
        if let Some(&id) = by_name.get(&f.node) {
            r.insert(id, Role::Gate);
        }
    }
    r
}

fn view(cx: &Cx<'_>, a: &Analysis, opts: &RenderOptions) -> View {
    let roles = roles(cx, a);
    let mut set: HashSet<NodeId> = HashSet::new();
    if opts.full || roles.is_empty() {
        set.extend(0..cx.ir.nodes.len());
    } else {
        set.extend(roles.keys().copied());
        // context: one producer hop before each highlighted node, and the way to the outputs
        let highlighted: Vec<NodeId> = roles.keys().copied().collect();
        for id in highlighted {
            let Some(n) = cx.ir.nodes.get(id) else {
                continue;
            };
            for &v in n.inputs.iter().flatten().chain(n.captures.iter()) {
                if let Some(p) = cx.ir.val(v).and_then(|x| x.producer) {
                    set.insert(p);
                }
            }
            for b in &n.branches {
                set.extend(b.nodes.iter().copied());
            }
            let mut frontier: Vec<ValId> = n.outputs.clone();
            let mut steps = 0;
            while let Some(v) = frontier.pop() {
                steps += 1;
                if steps > 200 {
                    break;
                }
                let Some(val) = cx.ir.val(v) else { continue };
                let mut next = val.consumers.clone();
                next.extend(val.branch_of);
                for c in next {
                    if set.insert(c)
                        && let Some(cn) = cx.ir.nodes.get(c)
                    {
                        frontier.extend(cn.outputs.iter().copied());
                    }
                }
            }
        }
    }
    let mut nodes: Vec<NodeId> = set.into_iter().collect();
    nodes.sort_unstable();
    let truncated = nodes.len() > opts.max_nodes;
    nodes.truncate(opts.max_nodes);
    let chosen: HashSet<NodeId> = nodes.iter().copied().collect();
    let mut inputs: Vec<ValId> = Vec::new();
    for &id in &nodes {
        if let Some(n) = cx.ir.nodes.get(id) {
            for &v in n.inputs.iter().flatten() {
                if cx
                    .ir
                    .val(v)
                    .is_some_and(|x| matches!(x.origin, Origin::RawInput | Origin::ConfigInput))
                    && !inputs.contains(&v)
                {
                    inputs.push(v);
                }
            }
        }
    }
    inputs.sort_unstable();
    let outputs: Vec<ValId> = cx
        .ir
        .outputs
        .iter()
        .copied()
        .filter(|&o| {
            cx.ir
                .val(o)
                .and_then(|v| v.producer)
                .is_some_and(|p| chosen.contains(&p))
        })
        .collect();
    View {
        nodes,
        roles,
        inputs,
        outputs,
        truncated,
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
}

/// Plain-text explanation: summary, findings with evidence, and the trigger subgraph.
pub fn explain_text(cx: &Cx<'_>, a: &Analysis, title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{title}");
    let _ = writeln!(
        s,
        "  nodes: {} ({} in subgraphs), raw inputs: {}, external tensors: {}",
        a.stats.nodes,
        a.stats.subgraph_nodes,
        if a.stats.raw_inputs.is_empty() {
            "-".to_string()
        } else {
            a.stats.raw_inputs.join(", ")
        },
        a.stats.external_tensors
    );
    let _ = writeln!(s, "  score: {:.3} ({})", a.score, a.severity.as_str());
    if a.findings.is_empty() {
        let _ = writeln!(s, "  no shadow-logic findings");
    }
    for f in &a.findings {
        let _ = writeln!(
            s,
            "\n[{} {} {} {:.3}] {}",
            f.code,
            f.name,
            f.severity.as_str(),
            f.confidence,
            f.message
        );
        if !f.node.is_empty() {
            let _ = writeln!(s, "    at: {} ({}) in {}", f.node, f.op_type, f.location);
        }
        for (k, v) in &f.evidence {
            if !v.is_empty() {
                let _ = writeln!(s, "    {k}: {v}");
            }
        }
        if !f.trigger_nodes.is_empty() && crate::rules::GATE_CODES.contains(&f.code) {
            let _ = writeln!(s, "    subgraph:");
            let names: HashSet<&str> = f.trigger_nodes.iter().map(|x| x.as_str()).collect();
            for (id, n) in cx.ir.nodes.iter().enumerate() {
                if !names.contains(cx.ir.node_name(id).as_str()) {
                    continue;
                }
                let ins: Vec<String> = n
                    .inputs
                    .iter()
                    .map(|i| {
                        i.and_then(|v| cx.ir.val(v))
                            .map(|v| value_label(cx, v.name.as_str(), i.unwrap_or(0)))
                            .unwrap_or_else(|| "-".into())
                    })
                    .collect();
                let outs: Vec<String> = n
                    .outputs
                    .iter()
                    .filter_map(|&o| cx.ir.val(o))
                    .map(|v| v.name.clone())
                    .collect();
                let _ = writeln!(
                    s,
                    "      {:<28} {}({}) -> {}",
                    short(&cx.ir.node_name(id), 28),
                    n.op(),
                    ins.join(", "),
                    outs.join(", ")
                );
            }
        }
    }
    s
}

fn value_label(cx: &Cx<'_>, name: &str, v: ValId) -> String {
    match cx.ir.const_vals(v) {
        Some(vals) if vals.len() <= 6 => format!("{name}={}", crate::trigger::fmt_vals(vals)),
        _ => name.to_string(),
    }
}

/// Graphviz DOT.
pub fn to_dot(cx: &Cx<'_>, a: &Analysis, opts: &RenderOptions) -> String {
    let v = view(cx, a, opts);
    let chosen: HashSet<NodeId> = v.nodes.iter().copied().collect();
    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut s = String::from(
        "digraph model {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef2f7\", fontname=\"Helvetica\"];\n",
    );
    for &i in &v.inputs {
        let name = cx.ir.val(i).map(|x| x.name.clone()).unwrap_or_default();
        let _ = writeln!(
            s,
            "  \"v{i}\" [label=\"{}\", shape=ellipse, fillcolor=\"#d9ead3\"];",
            q(&name)
        );
    }
    for &o in &v.outputs {
        let name = cx.ir.val(o).map(|x| x.name.clone()).unwrap_or_default();
        let _ = writeln!(
            s,
            "  \"v{o}\" [label=\"{}\", shape=ellipse, fillcolor=\"#cfe2f3\"];",
            q(&name)
        );
    }
    for &id in &v.nodes {
        let Some(n) = cx.ir.nodes.get(id) else {
            continue;
        };
        let fill = match v.roles.get(&id) {
            Some(Role::Gate) => "#f6b26b",
            Some(Role::Trigger) => "#ea9999",
            _ => "#eef2f7",
        };
        let _ = writeln!(
            s,
            "  \"n{id}\" [label=\"{}\\n{}\", fillcolor=\"{fill}\"];",
            q(n.op()),
            q(&short(&cx.ir.node_name(id), 40))
        );
    }
    for (from, to, dashed) in edges(cx, &v, &chosen) {
        let _ = writeln!(
            s,
            "  \"{from}\" -> \"{to}\"{};",
            if dashed { " [style=dashed]" } else { "" }
        );
    }
    s.push_str("}\n");
    s
}

/// Edges between drawable items: ("n<id>"|"v<val>", "n<id>"|"v<val>", dashed).
fn edges(cx: &Cx<'_>, v: &View, chosen: &HashSet<NodeId>) -> Vec<(String, String, bool)> {
    let mut e = Vec::new();
    let mut seen = HashSet::new();
    for &id in &v.nodes {
        let Some(n) = cx.ir.nodes.get(id) else {
            continue;
        };
        let mut push = |from: String, dashed: bool| {
            if seen.insert((from.clone(), id)) {
                e.push((from, format!("n{id}"), dashed));
            }
        };
        for &inp in n.inputs.iter().flatten() {
            let Some(val) = cx.ir.val(inp) else { continue };
            match val.producer {
                Some(p) if chosen.contains(&p) => push(format!("n{p}"), false),
                _ if v.inputs.contains(&inp) => push(format!("v{inp}"), false),
                _ => {}
            }
        }
        for b in &n.branches {
            for &o in &b.outputs {
                if let Some(p) = cx.ir.val(o).and_then(|x| x.producer)
                    && chosen.contains(&p)
                {
                    push(format!("n{p}"), true);
                }
            }
        }
    }
    for &o in &v.outputs {
        if let Some(p) = cx.ir.val(o).and_then(|x| x.producer) {
            e.push((format!("n{p}"), format!("v{o}"), false));
        }
    }
    e
}

struct Placed {
    key: String,
    label1: String,
    label2: String,
    fill: &'static str,
    stroke: &'static str,
    ellipse: bool,
    x: f64,
    y: f64,
    w: f64,
}

const ROW_H: f64 = 74.0;
const BOX_H: f64 = 40.0;
const GAP: f64 = 18.0;
const MARGIN: f64 = 20.0;

/// Standalone SVG (well-formed XML) with a layered top-to-bottom layout.
pub fn to_svg(cx: &Cx<'_>, a: &Analysis, opts: &RenderOptions, title: &str) -> String {
    let v = view(cx, a, opts);
    let chosen: HashSet<NodeId> = v.nodes.iter().copied().collect();
    let es = edges(cx, &v, &chosen);
    // items
    let mut items: BTreeMap<String, (String, String, &'static str, &'static str, bool)> =
        BTreeMap::new();
    for &i in &v.inputs {
        let name = cx.ir.val(i).map(|x| x.name.clone()).unwrap_or_default();
        items.insert(
            format!("v{i}"),
            ("input".into(), short(&name, 28), "#d9ead3", "#6aa84f", true),
        );
    }
    for &o in &v.outputs {
        let name = cx.ir.val(o).map(|x| x.name.clone()).unwrap_or_default();
        items.insert(
            format!("v{o}"),
            (
                "output".into(),
                short(&name, 28),
                "#cfe2f3",
                "#3d85c6",
                true,
            ),
        );
    }
    for &id in &v.nodes {
        let Some(n) = cx.ir.nodes.get(id) else {
            continue;
        };
        let (fill, stroke) = match v.roles.get(&id) {
            Some(Role::Gate) => ("#f6b26b", "#b45f06"),
            Some(Role::Trigger) => ("#ea9999", "#990000"),
            _ => ("#eef2f7", "#7f8c9a"),
        };
        items.insert(
            format!("n{id}"),
            (
                n.op().to_string(),
                short(&cx.ir.node_name(id), 28),
                fill,
                stroke,
                false,
            ),
        );
    }
    // layers: longest path from sources, in item order (node ids are topological)
    let mut preds: HashMap<&str, Vec<&str>> = HashMap::new();
    for (f, t, _) in &es {
        preds.entry(t.as_str()).or_default().push(f.as_str());
    }
    let order: Vec<String> = v
        .inputs
        .iter()
        .map(|i| format!("v{i}"))
        .chain(v.nodes.iter().map(|i| format!("n{i}")))
        .chain(v.outputs.iter().map(|o| format!("v{o}")))
        .collect();
    let mut layer: HashMap<String, usize> = HashMap::new();
    for k in &order {
        let l = preds
            .get(k.as_str())
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| layer.get(*p))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        layer.insert(k.clone(), l);
    }
    let max_layer = layer.values().copied().max().unwrap_or(0);
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); max_layer + 1];
    for k in &order {
        if let Some(&l) = layer.get(k)
            && let Some(r) = rows.get_mut(l)
        {
            r.push(k.clone());
        }
    }
    let width_of = |k: &str| -> f64 {
        items
            .get(k)
            .map(|(a, b, ..)| {
                (a.chars().count().max(b.chars().count()) as f64 * 7.0 + 20.0).max(70.0)
            })
            .unwrap_or(70.0)
    };
    let mut xs: HashMap<String, f64> = HashMap::new();
    let mut placed: Vec<Placed> = Vec::new();
    let mut canvas_w: f64 = 300.0;
    for (li, row) in rows.iter_mut().enumerate() {
        // barycentre ordering against already placed predecessors
        row.sort_by(|a, b| {
            let bc = |k: &String| {
                let ps: Vec<f64> = preds
                    .get(k.as_str())
                    .map(|ps| ps.iter().filter_map(|p| xs.get(*p).copied()).collect())
                    .unwrap_or_default();
                if ps.is_empty() {
                    f64::MAX
                } else {
                    ps.iter().sum::<f64>() / ps.len() as f64
                }
            };
            bc(a).total_cmp(&bc(b))
        });
        let mut x = MARGIN;
        for k in row.iter() {
            let w = width_of(k);
            xs.insert(k.clone(), x + w / 2.0);
            if let Some((l1, l2, fill, stroke, ellipse)) = items.get(k) {
                placed.push(Placed {
                    key: k.clone(),
                    label1: l1.clone(),
                    label2: l2.clone(),
                    fill,
                    stroke,
                    ellipse: *ellipse,
                    x,
                    y: MARGIN + 30.0 + li as f64 * ROW_H,
                    w,
                });
            }
            x += w + GAP;
        }
        canvas_w = canvas_w.max(x + MARGIN);
    }
    let subtitle = format!(
        "score {:.3} ({}){}",
        a.score,
        a.severity.as_str(),
        if v.truncated { ", truncated" } else { "" }
    );
    let heading = format!("{} — {}", short(title, 80), subtitle);
    canvas_w = canvas_w.max(MARGIN * 2.0 + heading.chars().count() as f64 * 8.5);
    let canvas_h = MARGIN * 2.0 + 30.0 + (max_layer as f64 + 1.0) * ROW_H + 30.0;
    let pos: HashMap<&str, (f64, f64, f64)> = placed
        .iter()
        .map(|p| (p.key.as_str(), (p.x, p.y, p.w)))
        .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{canvas_w:.0}\" height=\"{canvas_h:.0}\" viewBox=\"0 0 {canvas_w:.0} {canvas_h:.0}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n");
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{canvas_w:.0}\" height=\"{canvas_h:.0}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{MARGIN}\" y=\"{:.0}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        MARGIN + 8.0,
        esc(&heading)
    );
    s.push_str("<g id=\"edges\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.2\">\n");
    for (f, t, dashed) in &es {
        let (Some(&(fx, fy, fw)), Some(&(tx, ty, tw))) = (pos.get(f.as_str()), pos.get(t.as_str()))
        else {
            continue;
        };
        let (x1, y1, x2, y2) = (fx + fw / 2.0, fy + BOX_H, tx + tw / 2.0, ty);
        let my = (y1 + y2) / 2.0;
        let _ = writeln!(
            s,
            "<path d=\"M {x1:.1} {y1:.1} C {x1:.1} {my:.1}, {x2:.1} {my:.1}, {x2:.1} {y2:.1}\" marker-end=\"url(#arrow)\"{}/>",
            if *dashed {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            }
        );
    }
    s.push_str("</g>\n<g id=\"nodes\">\n");
    for p in &placed {
        let cls = match p.fill {
            "#ea9999" => "trigger",
            "#f6b26b" => "gate",
            _ => "node",
        };
        let _ = writeln!(
            s,
            "<g class=\"{cls}\"><title>{}</title>",
            esc(&format!("{} {}", p.label1, p.label2))
        );
        if p.ellipse {
            let _ = writeln!(
                s,
                "<ellipse cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\" fill=\"{}\" stroke=\"{}\"/>",
                p.x + p.w / 2.0,
                p.y + BOX_H / 2.0,
                p.w / 2.0,
                BOX_H / 2.0,
                p.fill,
                p.stroke
            );
        } else {
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{BOX_H}\" rx=\"6\" fill=\"{}\" stroke=\"{}\"/>",
                p.x, p.y, p.w, p.fill, p.stroke
            );
        }
        let cx_ = p.x + p.w / 2.0;
        let _ = writeln!(
            s,
            "<text x=\"{cx_:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            p.y + 16.0,
            esc(&p.label1)
        );
        let _ = writeln!(
            s,
            "<text x=\"{cx_:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{}</text></g>",
            p.y + 31.0,
            esc(&p.label2)
        );
    }
    s.push_str("</g>\n");
    // legend
    let ly = canvas_h - 22.0;
    let _ = writeln!(
        s,
        "<g id=\"legend\"><rect x=\"{MARGIN}\" y=\"{ly:.0}\" width=\"12\" height=\"12\" fill=\"#ea9999\"/><text x=\"{:.0}\" y=\"{:.0}\">trigger path</text><rect x=\"{:.0}\" y=\"{ly:.0}\" width=\"12\" height=\"12\" fill=\"#f6b26b\"/><text x=\"{:.0}\" y=\"{:.0}\">gate</text></g>",
        MARGIN + 16.0,
        ly + 10.0,
        MARGIN + 110.0,
        MARGIN + 126.0,
        ly + 10.0
    );
    s.push_str("</svg>\n");
    s
}

/// Self-contained HTML page: findings table plus the inline SVG.
pub fn to_html(cx: &Cx<'_>, a: &Analysis, opts: &RenderOptions, title: &str) -> String {
    let svg = to_svg(cx, a, opts, title);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>modelgate graph: {}</title>\n<style>\nbody{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}}\ntable{{border-collapse:collapse;margin:12px 0}}\ntd,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}}\n.critical,.high{{color:#990000;font-weight:bold}}.medium{{color:#b45f06}}\n.graph{{overflow:auto;border:1px solid #ddd}}\n</style>\n</head>\n<body>\n",
        esc(title)
    );
    let _ = writeln!(s, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        s,
        "<p>score <b>{:.3}</b> (<span class=\"{}\">{}</span>), {} nodes, raw inputs: {}</p>",
        a.score,
        a.severity.as_str(),
        a.severity.as_str(),
        a.stats.nodes,
        esc(&a.stats.raw_inputs.join(", "))
    );
    if a.findings.is_empty() {
        s.push_str("<p>No shadow-logic findings.</p>\n");
    } else {
        s.push_str("<table>\n<tr><th>code</th><th>severity</th><th>score</th><th>node</th><th>message</th><th>evidence</th></tr>\n");
        for f in &a.findings {
            let ev: Vec<String> = f
                .evidence
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("<b>{}</b>: {}", esc(k), esc(v)))
                .collect();
            let _ = writeln!(
                s,
                "<tr><td>{} {}</td><td class=\"{}\">{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f.code,
                esc(f.name),
                f.severity.as_str(),
                f.severity.as_str(),
                f.confidence,
                esc(&f.node),
                esc(&f.message),
                ev.join("<br>")
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("<div class=\"graph\">\n");
    s.push_str(&svg);
    s.push_str("</div>\n</body>\n</html>\n");
    s
}
