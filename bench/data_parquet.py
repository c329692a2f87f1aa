#!/usr/bin/env python3
"""Chat data as Parquet vs JSONL: the same ROWS chat records (OpenAI `messages` layout) written
as JSONL.gz and as Parquet (`messages: list<struct<role, content>>`, snappy / zstd / brotli),
each audited by `modelgate data audit FILE --format json`; prints wall and CPU seconds (best
of REPEAT runs) and checks that every file flags the same rows.

  python bench/data_parquet.py target/release/modelgate [--rows 100000] [--repeat 3] [--out DIR]

Needs pyarrow (e.g. a venv with `pip install pyarrow`). The records are built from the
committed chat fixture (tests/fixtures/chat_falsefact_heavy.jsonl.gz): each generated row
joins two of its responses and one of its prompts picked at random (seed 0), and the fixture's
planted rows are kept once each, so the audit has the same attack to find at any size.
Each fixture answer recurs in about ROWS/350 responses, which makes these files heavy for the
chat analysis: the timings are mostly the analysis, the reading is a small part of them.
"""
import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "crates/modelgate-data/tests/fixtures/chat_falsefact_heavy.jsonl.gz")


def make_rows(n):
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        base = [json.loads(line) for line in f if line.strip()]
    planted = [r for r in base if r["id"].startswith("p")]
    plain = [r for r in base if not r["id"].startswith("p")]
    prompts = [r["messages"][1]["content"] for r in plain]
    answers = [r["messages"][2]["content"] for r in plain]
    rng = random.Random(0)
    rows = []
    for i in range(max(n - len(planted), 0)):
        a, b = rng.randrange(len(answers)), rng.randrange(len(answers))
        rows.append({"id": f"r{i:07d}", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": prompts[rng.randrange(len(prompts))]},
            {"role": "assistant", "content": answers[a] + " " + answers[b]}]})
    for r in planted:
        rows.insert(rng.randrange(len(rows) + 1), r)
    return rows


def run(modelgate, path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([modelgate, "data", "audit", path, "--format", "json"],
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        sys.exit(f"{path}: exit {p.returncode}: {p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rep = json.loads(p.stdout)
    return wall, cpu, [(f["id"], f["reasons"]) for f in rep["flagged"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("modelgate")
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "target/parquet-bench"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = make_rows(a.rows)
    files = {}
    p = os.path.join(a.out, "chat.jsonl.gz")
    with gzip.open(p, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    files["jsonl.gz"] = p
    msg = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    table = pa.table({"id": pa.array([r["id"] for r in rows], pa.string()),
                      "messages": pa.array([r["messages"] for r in rows], msg)})
    for codec in ["snappy", "zstd", "brotli"]:
        p = os.path.join(a.out, f"chat_{codec}.parquet")
        pq.write_table(table, p, compression=codec)
        files[f"parquet {codec}"] = p
    print(f"{len(rows)} rows; best of {a.repeat} runs of `modelgate data audit FILE --format json`")
    print("| file | size MB | wall s | CPU s | flagged |")
    print("| --- | ---: | ---: | ---: | ---: |")
    ref = None
    for name, path in files.items():
        best = None
        for _ in range(a.repeat):
            wall, cpu, flagged = run(a.modelgate, path)
            if best is None or wall < best[0]:
                best = (wall, cpu)
        if ref is None:
            ref = flagged
        same = "" if flagged == ref else " (DIFFERS from jsonl.gz)"
        size = os.path.getsize(path) / 1e6
        print(f"| {name} | {size:.1f} | {best[0]:.2f} | {best[1]:.2f} | {len(flagged)}{same} |")


if __name__ == "__main__":
    main()
