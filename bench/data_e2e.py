#!/usr/bin/env python3
"""End-to-end speed of `modelgate data audit` against cleanlab + scikit-learn, as a user runs
them: one fresh process per file for each tool (modelgate's CLI; `python data_cleanlab.py
--file NAME`, which starts the interpreter, imports pandas / scikit-learn / cleanlab, reads the
file, featurises, fits 5 folds and runs confident learning). The two tools alternate file by
file and the whole round is repeated, so that a machine whose speed drifts slows both alike;
per file the median wall and CPU (user + system of the child process and its threads) over the
rounds count.

  python bench/data_e2e.py MODELGATE SETSDIR [--rounds 3] [--json OUT]

Prints a markdown summary: totals over the labelled files, the ratio end to end, and the ratio
against cleanlab's in-process compute alone (its own timer around read + fit + CL, the
interpreter start and imports left out).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data_eval import args_for  # noqa: E402  (the audit flags per file)


def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, res


def main():
    binary, d = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    names = sorted(f.split(".")[0] for f in os.listdir(d)
                   if f.endswith(".csv.gz") and not f.startswith("stream_"))
    runs = {n: {"mg": [], "cl": [], "cl_compute": []} for n in names}
    tmp = os.path.join(d, ".e2e_cleanlab.json")
    for r in range(rounds):
        for n in names:
            path = os.path.join(d, n + ".csv.gz")
            wall, cpu, res = timed([binary, "data", "audit", path, "--format", "json", "-o", os.devnull]
                                   + args_for(n))
            if res.returncode not in (0, 1):
                sys.exit(f"modelgate failed on {n}: {res.stderr[:300]}")
            runs[n]["mg"].append((wall, cpu))
            wall, cpu, res = timed([sys.executable, os.path.join(HERE, "data_cleanlab.py"), d,
                                    "--model", "lr", "--file", n, "--json", tmp])
            if res.returncode != 0:
                sys.exit(f"cleanlab failed on {n}: {res.stderr[-300:]}")
            inner = json.load(open(tmp))[0]
            runs[n]["cl"].append((wall, cpu))
            runs[n]["cl_compute"].append((inner["wall_s"], inner["cpu_s"]))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    if os.path.exists(tmp):
        os.remove(tmp)
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    rows = []
    for n in names:
        rows.append({"file": n, **{f"{k}_{m}": round(med(v, i), 4)
                                   for k, v in runs[n].items() for i, m in ((0, "wall_s"), (1, "cpu_s"))}})
    if "--json" in sys.argv:
        json.dump({"rounds": rounds, "files": rows}, open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)

    def total(sel, key):
        return sum(r[key] for r in rows if sel(r["file"]))

    print(f"End to end, one process per file and tool, median of {rounds} interleaved rounds:\n")
    print("| files | modelgate wall / CPU s | cleanlab-LR end to end wall / CPU s | ratio wall / CPU | "
          "cleanlab-LR compute only wall / CPU s | ratio wall / CPU |")
    print("|---|---|---|---|---|---|")
    for label, sel in (("all labelled (%d)" % len(rows), lambda f: True),
                       ("SpamAssassin (%d)" % sum(f.startswith("spam") for f in names), lambda f: f.startswith("spam"))):
        if not any(sel(r["file"]) for r in rows):
            continue
        mw, mc = total(sel, "mg_wall_s"), total(sel, "mg_cpu_s")
        cw, cc = total(sel, "cl_wall_s"), total(sel, "cl_cpu_s")
        iw, ic = total(sel, "cl_compute_wall_s"), total(sel, "cl_compute_cpu_s")
        print(f"| {label} | {mw:.1f} / {mc:.1f} | {cw:.1f} / {cc:.1f} | **{cw / mw:.1f}× / {cc / mc:.1f}×** | "
              f"{iw:.1f} / {ic:.1f} | {iw / mw:.1f}× / {ic / mc:.1f}× |")


if __name__ == "__main__":
    main()
