//! Renderers: a readable text summary, JSON (the contract), and a self-contained HTML page
//! with inline SVG plots (score distributions, trigger label association, per-source rates).

use crate::report::Report;
use std::fmt::Write as _;

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn text(r: &Report, max_rows: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "modelgate {} — {} ({} {}, {} rows)",
        r.command, r.file, r.format, r.mode, r.stats.rows
    );
    if !r.labels.is_empty() {
        let lc: Vec<String> = r
            .labels
            .iter()
            .zip(&r.label_counts)
            .map(|(l, c)| format!("{l}: {c}"))
            .collect();
        let _ = writeln!(s, "labels: {}", lc.join(", "));
    }
    if let Some(v) = &r.verdict {
        let _ = writeln!(s, "verdict: {v}");
    }
    let _ = writeln!(
        s,
        "flagged: {} rows ({:.2}%) in {:.2}s",
        r.stats.flagged_rows,
        100.0 * r.stats.flagged_rate,
        r.stats.seconds
    );
    if r.attacks.is_empty() {
        let _ = writeln!(s, "\nno attack detected");
    } else {
        let _ = writeln!(s, "\nattacks:");
        for a in &r.attacks {
            let _ = writeln!(s, "  [{}] {}", a.kind, a.summary);
        }
    }
    if let Some(c) = r.stats.extra.get("clean_label_trigger_candidates") {
        let _ = writeln!(
            s,
            "\nclean-label trigger candidates (not flagged without a trusted baseline): {c}"
        );
    }
    if !r.flagged.is_empty() {
        let _ = writeln!(
            s,
            "\nflagged rows (highest score first, {} shown):",
            max_rows.min(r.flagged.len())
        );
        let mut v: Vec<&crate::report::Flagged> = r.flagged.iter().collect();
        v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        for f in v.into_iter().take(max_rows) {
            let ev = serde_json::to_string(&f.evidence).unwrap_or_default();
            let ev: String = ev.chars().take(220).collect();
            let _ = writeln!(
                s,
                "  {} score {:.3} [{}] {}",
                f.id,
                f.score,
                f.reasons.join(", "),
                ev
            );
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn histogram(title: &str, values: &[f64], flagged: &[bool]) -> String {
    const W: f64 = 560.0;
    const H: f64 = 160.0;
    const BINS: usize = 40;
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return String::new();
    }
    let span = (hi - lo).max(1e-9);
    let mut all = [0usize; BINS];
    let mut fl = [0usize; BINS];
    for (i, v) in values.iter().enumerate() {
        let b = (((v - lo) / span) * (BINS as f64 - 1.0)).round() as usize;
        let b = b.min(BINS - 1);
        all[b] += 1;
        if flagged.get(i).copied().unwrap_or(false) {
            fl[b] += 1;
        }
    }
    let maxc = all.iter().copied().max().unwrap_or(1).max(1) as f64;
    let scale = |c: usize| ((c as f64 + 1.0).ln() / (maxc + 1.0).ln()) * (H - 30.0);
    let bw = W / BINS as f64;
    let mut s = format!(
        "<figure><figcaption>{} (log count; red = flagged rows)</figcaption><svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">",
        esc(title)
    );
    for b in 0..BINS {
        let x = b as f64 * bw;
        let h = if all[b] > 0 { scale(all[b]) } else { 0.0 };
        let hf = if fl[b] > 0 { scale(fl[b]) } else { 0.0 };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#9ab\"><title>{}</title></rect>",
            H - 20.0 - h,
            bw - 1.0,
            all[b]
        );
        if hf > 0.0 {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hf:.1}\" fill=\"#d33\" opacity=\"0.8\"><title>{} flagged</title></rect>",
                H - 20.0 - hf,
                bw - 1.0,
                fl[b]
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"0\" y=\"{}\" font-size=\"11\">{lo:.3}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{hi:.3}</text></svg></figure>",
        H - 4.0,
        W,
        H - 4.0
    );
    s
}

fn bars(title: &str, items: &[(String, f64)]) -> String {
    let maxv = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-9);
    let h = 24.0 * items.len() as f64 + 10.0;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg width=\"560\" height=\"{h}\">",
        esc(title)
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = 5.0 + 24.0 * i as f64;
        let w = 380.0 * v / maxv;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\">{}</text><rect x=\"130\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"18\" fill=\"#68a\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            y + 14.0,
            esc(&name.chars().take(18).collect::<String>()),
            135.0 + w,
            y + 14.0,
            (v * 1000.0).round() / 1000.0
        );
    }
    s.push_str("</svg></figure>");
    s
}

pub fn html(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>modelgate {} — {}</title><style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}figure{{margin:1em 0}}figcaption{{font-weight:bold;font-size:13px}}.k{{color:#a33}}</style></head><body>",
        esc(r.command),
        esc(&r.file)
    );
    let _ = write!(
        s,
        "<h1>modelgate {}</h1><p><b>{}</b> — {} / {}, {} rows; flagged {} ({:.2}%)",
        esc(r.command),
        esc(&r.file),
        esc(&r.format),
        esc(&r.mode),
        r.stats.rows,
        r.stats.flagged_rows,
        100.0 * r.stats.flagged_rate
    );
    if let Some(v) = &r.verdict {
        let _ = write!(s, "; verdict <b class=\"k\">{}</b>", esc(v));
    }
    s.push_str("</p><h2>Attacks</h2>");
    if r.attacks.is_empty() {
        s.push_str("<p>No attack detected.</p>");
    } else {
        s.push_str("<ul>");
        for a in &r.attacks {
            let _ = write!(
                s,
                "<li><b>{}</b> ({} rows): {}</li>",
                esc(&a.kind),
                a.rows,
                esc(&a.summary)
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("<h2>Plots</h2>");
    let mut flagged = vec![false; r.stats.rows];
    for f in &r.flagged {
        if let Some(x) = flagged.get_mut(f.row) {
            *x = true;
        }
    }
    for (title, v) in &r.plots.series {
        s.push_str(&histogram(title, v, &flagged));
    }
    for (title, items) in &r.plots.bars {
        s.push_str(&bars(title, items));
    }
    let _ = write!(
        s,
        "<h2>Flagged rows ({})</h2><table><tr><th>id</th><th>label</th><th>score</th><th>reasons</th><th>evidence</th></tr>",
        r.flagged.len()
    );
    for f in r.flagged.iter().take(2000) {
        let ev = serde_json::to_string(&f.evidence).unwrap_or_default();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&f.id.to_string()),
            esc(f.label.as_deref().unwrap_or("")),
            f.score,
            esc(&f.reasons.join(", ")),
            esc(&ev)
        );
    }
    s.push_str("</table>");
    if r.flagged.len() > 2000 {
        let _ = write!(
            s,
            "<p>{} more rows in the JSON report.</p>",
            r.flagged.len() - 2000
        );
    }
    s.push_str("</body></html>\n");
    s
}
