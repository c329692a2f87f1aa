#!/usr/bin/env python3
"""Batch screening against a trusted baseline, modelgate vs cleanlab, on the generated
`stream_batch_*` files (a clean batch, 10 % flips, a 5 % dirty-label trigger, a 5 % clean-label
trigger; ground truth in `stream_batch_NAME.truth.txt`).

  modelgate:  data baseline stream_baseline.csv.gz --label label -o STATE
              data screen STATE stream_batch_NAME.csv.gz --source source --format json
  cleanlab:   the natural use of cleanlab with trusted data: TF-IDF 1-2-grams + LogisticRegression
              fitted on the baseline, `predict_proba` on the batch, `find_label_issues(batch
              labels, those probabilities)`.

  python bench/data_screen_eval.py MODELGATE SETSDIR [--json OUT]

Prints a markdown table: per batch the rows, poisoned rows, modelgate's verdict and P / R / F1
of its flagged rows, cleanlab's P / R / F1, and each tool's seconds (modelgate: the screen
process, the baseline fitted once beforehand; cleanlab: predicting and CL on the batch, its
baseline fit reported once).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import pandas as pd
from cleanlab.filter import find_label_issues
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_cleanlab import score  # noqa: E402  (precision, recall, F1 of flagged ids)
from data_e2e import timed  # noqa: E402  (wall, child CPU, result of one command)

BATCHES = ["clean", "flip10", "trigger05", "cleanlabel05"]


def main():
    binary, d = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp()
    state = os.path.join(tmp, "state.gz")
    base_path = os.path.join(d, "stream_baseline.csv.gz")
    mg_base_wall, _, res = timed([binary, "data", "baseline", base_path, "--label", "label", "-o", state])
    if res.returncode != 0:
        sys.exit(f"baseline failed: {res.stderr[:300]}")
    w0 = time.perf_counter()
    base = pd.read_csv(base_path, dtype={"id": str})
    classes = sorted(set(base["label"].astype(str)))
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    xb = vec.fit_transform(base["text"].fillna(""))
    yb = [classes.index(v) for v in base["label"].astype(str)]
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(xb, yb)
    cl_base_wall = time.perf_counter() - w0
    rows = []
    for name in BATCHES:
        path = os.path.join(d, f"stream_batch_{name}.csv.gz")
        truth = set(open(os.path.join(d, f"stream_batch_{name}.truth.txt")).read().split())
        out = os.path.join(tmp, f"{name}.json")
        mg_wall, mg_cpu, res = timed([binary, "data", "screen", state, path, "--source", "source",
                                    "--format", "json", "-o", out])
        if res.returncode not in (0, 1):
            sys.exit(f"screen failed on {name}: {res.stderr[:300]}")
        rep = json.load(open(out))
        mg_flag = {str(f["id"]) for f in rep["flagged"]}
        w0 = time.perf_counter()
        batch = pd.read_csv(path, dtype={"id": str})
        y = [classes.index(v) for v in batch["label"].astype(str)]
        p = clf.predict_proba(vec.transform(batch["text"].fillna("")))
        issues = find_label_issues(y, p)
        cl_wall = time.perf_counter() - w0
        cl_flag = set(batch["id"].values[issues])
        m, c = score(mg_flag, truth), score(cl_flag, truth)
        rows.append({"batch": name, "rows": len(batch), "poison": len(truth), "verdict": rep.get("verdict"),
                     "modelgate": {"flagged": len(mg_flag), "p": m[0], "r": m[1], "f1": m[2], "wall_s": mg_wall, "cpu_s": mg_cpu},
                     "cleanlab": {"flagged": len(cl_flag), "p": c[0], "r": c[1], "f1": c[2], "wall_s": cl_wall}})
    if "--json" in sys.argv:
        json.dump({"baseline_rows": len(base), "modelgate_baseline_wall_s": mg_base_wall,
                   "cleanlab_baseline_wall_s": cl_base_wall, "batches": rows},
                  open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)
    print(f"Screening against a trusted baseline of {len(base)} rows (fit once: modelgate "
          f"{mg_base_wall:.2f} s, cleanlab-LR {cl_base_wall:.2f} s):\n")
    print("| batch | rows | poisoned | modelgate verdict | modelgate P / R / F1 | cleanlab-LR P / R / F1 | modelgate s | cleanlab s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        m, c = r["modelgate"], r["cleanlab"]
        fmt = (lambda s: f"{s['flagged']} flagged") if r["poison"] == 0 else \
              (lambda s: f"{s['p']:.2f} / {s['r']:.2f} / **{s['f1']:.2f}**")
        print(f"| {r['batch']} | {r['rows']} | {r['poison']} | {r['verdict']} | {fmt(m)} | {fmt(c)} | "
              f"{m['wall_s']:.2f} | {c['wall_s']:.2f} |")


if __name__ == "__main__":
    main()
