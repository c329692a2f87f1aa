//! `cargo run -p modelgate-graph --example explain -- MODEL.onnx [--flow]`: prints the analysis
//! (and with `--flow` the per-node data-flow facts) for debugging rules.

use modelgate_graph::rules::Cx;
use modelgate_graph::{GraphLimits, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: explain MODEL.onnx [--flow]")?;
    let bytes = std::fs::read(path)?;
    let limits = GraphLimits::default();
    let model = modelgate_onnx::parse(&bytes, &limits.onnx)?;
    let cx = Cx::new(&model, &limits)?;
    let a = cx.analyze();
    print!("{}", render::explain_text(&cx, &a, path));
    if args.iter().any(|a| a == "--flow") {
        for (id, n) in cx.ir.nodes.iter().enumerate() {
            let outs: Vec<String> = n
                .outputs
                .iter()
                .map(|&o| {
                    let s = cx.flow.state(o);
                    format!(
                        "{}[t={} ld={} col={} sig={:?}]",
                        cx.ir.val(o).map(|v| v.name.as_str()).unwrap_or(""),
                        s.taint,
                        s.ld,
                        s.collapsed,
                        s.sig
                    )
                })
                .collect();
            println!(
                "{id:4} {:<18} {:<30} {}",
                n.op(),
                cx.ir.node_name(id),
                outs.join(" ")
            );
        }
    }
    Ok(())
}
