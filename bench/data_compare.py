#!/usr/bin/env python3
"""Merge modelgate.json / cleanlab_lr.json / cleanlab_nb.json from bench/data_audit.sh into a
markdown table (F1 per file, flagged rows on clean files, CPU seconds)."""
import json
import os
import sys

out = sys.argv[1]
mg = {r["file"]: r for r in json.load(open(os.path.join(out, "modelgate.json")))}
lr = {r["file"]: r for r in json.load(open(os.path.join(out, "cleanlab_lr.json")))}
nb = {r["file"]: r for r in json.load(open(os.path.join(out, "cleanlab_nb.json")))}
print("| file | rows | poison | modelgate P / R / F1 | cleanlab-LR P / R / F1 | cleanlab-NB F1 | modelgate CPU s | cleanlab-LR CPU s |")
print("|---|---|---|---|---|---|---|---|")
tot_mg = tot_lr = 0.0
for f in sorted(mg):
    m = mg[f]
    l = lr.get(f)
    n = nb.get(f)
    clean = m["poison"] == 0
    fmt = (lambda r: f"{r['flagged']} flagged" if clean else f"{r['precision']:.2f} / {r['recall']:.2f} / **{r['f1']:.2f}**")
    fmt_nb = (lambda r: f"{r['flagged']} flagged" if clean else f"{r['f1']:.2f}")
    print(f"| {f} | {m['rows']} | {m['poison']} | {fmt(m)} | {fmt(l) if l else 'n/a'} | {fmt_nb(n) if n else 'n/a'} | {m['cpu_s']:.2f} | {l['cpu_s'] if l else 'n/a'} |")
    tot_mg += m["cpu_s"]
    if l:
        tot_lr += l["cpu_s"]
print(f"\nTotal CPU: modelgate {tot_mg:.1f} s (whole CLI process, all detectors), cleanlab-LR {tot_lr:.1f} s (read + featurise + 5-fold fit + CL, imports excluded).")

# Ratios over the files both tools ran on, with and without cleanlab's import cost (one
# CLI-style `import sklearn, cleanlab` per file, measured by bench/data_audit.sh).
both = [f for f in mg if f in lr]
imp_cpu = next((r.get("import_cpu_s") for r in lr.values() if r.get("import_cpu_s") is not None), 0.0)
imp_path = os.path.join(out, "import.txt")
imp_wall = None
if os.path.exists(imp_path):
    txt = open(imp_path).read().split()
    try:
        imp_wall = float(txt[0])
    except (ValueError, IndexError):
        pass
def ratio(files, label):
    if not files:
        return
    m_cpu = sum(mg[f]["cpu_s"] for f in files)
    m_wall = sum(mg[f]["wall_s"] for f in files)
    l_cpu = sum(lr[f]["cpu_s"] for f in files)
    l_wall = sum(lr[f]["wall_s"] for f in files)
    k = len(files)
    print(f"\n{label} ({k} files): modelgate {m_cpu:.1f} CPU-s / {m_wall:.1f} s wall; "
          f"cleanlab-LR read+fit+CL {l_cpu:.1f} CPU-s / {l_wall:.1f} s wall -> {l_cpu / max(m_cpu, 1e-9):.1f}x CPU, "
          f"{l_wall / max(m_wall, 1e-9):.1f}x wall; with one import per file (+{imp_cpu:.2f} CPU-s"
          + (f", +{imp_wall:.2f} s wall" if imp_wall is not None else "") + ") "
          f"{(l_cpu + k * imp_cpu) / max(m_cpu, 1e-9):.1f}x CPU"
          + (f", {(l_wall + k * imp_wall) / max(m_wall, 1e-9):.1f}x wall" if imp_wall is not None else "")
          + f"; per file {m_cpu / k:.2f} vs {l_cpu / k:.2f} CPU-s")
ratio(both, "All labelled files")
ratio([f for f in both if f.startswith("spam")], "SpamAssassin files")
