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
print(f"\nTotal CPU: modelgate {tot_mg:.1f} s (whole CLI process, all detectors), cleanlab-LR {tot_lr:.1f} s (fit + CL only, imports excluded).")
