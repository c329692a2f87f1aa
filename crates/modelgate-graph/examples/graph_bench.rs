//! Timing of parse + graph analysis.
//!
//! `graph_bench [--iters N] PATH...` where PATH is a `.onnx` file, a directory (its `*.onnx`),
//! or a `.bin.gz` model archive written by the corpus generator. Prints one line per model
//! (median of N runs: parse ms, analysis ms, nodes, score) and a summary. Never reads external
//! tensor data: only the `.onnx` file itself is read.

use modelgate_graph::GraphLimits;
use modelgate_graph::rules::Cx;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Models = Vec<(String, Vec<u8>)>;

fn packed(path: &Path) -> Result<Models, Box<dyn std::error::Error>> {
    let mut buf = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut buf)?;
    let mut out = Vec::new();
    let mut rest = buf.as_slice();
    fn take(rest: &mut &[u8]) -> Option<Vec<u8>> {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let data = tail.get(..len)?.to_vec();
        *rest = tail.get(len..)?;
        Some(data)
    }
    while !rest.is_empty() {
        let (Some(n), Some(d)) = (take(&mut rest), take(&mut rest)) else {
            return Err("truncated archive".into());
        };
        out.push((
            format!("{}!{}", path.display(), String::from_utf8_lossy(&n)),
            d,
        ));
    }
    Ok(out)
}

fn collect(p: &Path, out: &mut Models) -> Result<(), Box<dyn std::error::Error>> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.extension().is_some_and(|x| x == "onnx") {
                out.push((e.display().to_string(), std::fs::read(&e)?));
            }
        }
    } else if p.to_string_lossy().ends_with(".bin.gz") {
        out.extend(packed(p)?);
    } else {
        out.push((p.display().to_string(), std::fs::read(p)?));
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut iters = 5usize;
    if let Some(i) = args.iter().position(|a| a == "--iters") {
        iters = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .ok_or("--iters N")?;
        args.drain(i..=i + 1);
    }
    let quiet = args.iter().any(|a| a == "--quiet");
    args.retain(|a| a != "--quiet");
    let mut models = Vec::new();
    for a in &args {
        collect(Path::new(a), &mut models)?;
    }
    let limits = GraphLimits::default();
    let (mut total_ms, mut worst) = (0.0f64, (0.0f64, String::new()));
    let mut total_nodes = 0usize;
    for (name, bytes) in &models {
        let mut parse_t = Vec::new();
        let mut anal_t = Vec::new();
        let mut last = None;
        for _ in 0..iters.max(1) {
            let t0 = Instant::now();
            let model = modelgate_onnx::parse(bytes, &limits.onnx)?;
            let t1 = Instant::now();
            let cx = Cx::new(&model, &limits)?;
            let a = cx.analyze();
            let t2 = Instant::now();
            parse_t.push((t1 - t0).as_secs_f64() * 1e3);
            anal_t.push((t2 - t1).as_secs_f64() * 1e3);
            last = Some((a.score, a.stats.nodes, a.stats.external_tensors));
        }
        let (p, an) = (median(parse_t), median(anal_t));
        let (score, nodes, ext) = last.unwrap_or_default();
        total_ms += p + an;
        total_nodes += nodes;
        if p + an > worst.0 {
            worst = (p + an, name.clone());
        }
        if !quiet {
            println!(
                "{:>9.3} ms parse {:>9.3} ms analyse {:>7} nodes {:>4} ext  score {:.3}  {}",
                p, an, nodes, ext, score, name
            );
        }
    }
    println!(
        "SUMMARY models={} nodes={} total={:.1} ms mean={:.3} ms max={:.3} ms ({})",
        models.len(),
        total_nodes,
        total_ms,
        if models.is_empty() {
            0.0
        } else {
            total_ms / models.len() as f64
        },
        worst.0,
        worst.1
    );
    Ok(())
}
