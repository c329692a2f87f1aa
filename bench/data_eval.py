#!/usr/bin/env python3
"""Score `modelgate data audit` on generated poisoned sets: precision / recall / F1 of the
flagged ids against NAME.truth.txt, flagged count on clean files, wall and CPU time.

  python bench/data_eval.py BINARY DIR [--json OUT] [--only SUBSTR]
"""
import json
import os
import resource
import subprocess
import sys
import time


def args_for(name):
    if name.startswith(("digits", "bc")):
        return ["--label", "label", "--features", "all"]
    if name.startswith("chat"):
        return []
    return ["--label", "label"]


def score(flagged, truth):
    tp = len(flagged & truth)
    p = tp / len(flagged) if flagged else (1.0 if not truth else 0.0)
    r = tp / len(truth) if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main():
    binary, d = sys.argv[1], sys.argv[2]
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    out = []
    names = sorted(f for f in os.listdir(d) if f.endswith((".csv.gz", ".jsonl.gz")) and not f.startswith("stream_"))
    for f in names:
        name = f.split(".")[0]
        if only and only not in name:
            continue
        truth_path = os.path.join(d, name + ".truth.txt")
        if not os.path.exists(truth_path):
            continue
        truth = set(open(truth_path).read().split())
        cmd = [binary, "data", "audit", os.path.join(d, f), "--format", "json"] + args_for(name)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        res = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if res.returncode not in (0, 1):
            print(f"{name}: FAILED {res.stderr.strip()}", file=sys.stderr)
            continue
        rep = json.loads(res.stdout)
        flagged = {str(x["id"]) for x in rep["flagged"]}
        p, r, f1 = score(flagged, truth)
        by_reason = {}
        for x in rep["flagged"]:
            for rs in x["reasons"]:
                by_reason[rs] = by_reason.get(rs, 0) + 1
        row = {"file": name, "rows": rep["stats"]["rows"], "poison": len(truth), "flagged": len(flagged),
               "tp": len(flagged & truth), "precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3),
               "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "reasons": by_reason,
               "attacks": [a["kind"] for a in rep["attacks"]]}
        out.append(row)
        print(f"{name:28s} rows {row['rows']:6d} poison {row['poison']:5d} flagged {row['flagged']:5d} "
              f"P {p:.3f} R {r:.3f} F1 {f1:.3f}  wall {wall:.2f}s cpu {cpu:.2f}s  {by_reason}")
    if "--json" in sys.argv:
        json.dump(out, open(sys.argv[sys.argv.index("--json") + 1], "w"), indent=1)


if __name__ == "__main__":
    main()
