#!/usr/bin/env python3
"""Non-pickle formats side by side: the committed HDF5/Keras, TensorFlow, TFLite, ONNX, GGUF,
safetensors and 7z fixtures (benign, malicious and malformed), copied COPIES times into one
directory, scanned by modelgate, ModelScan and ModelAudit in one run (wall time incl. start-up,
peak RSS from /usr/bin/time). Peers report in their own formats, so only modelgate's verdict
counts are parsed; the point is speed on real model formats, not a detection score.

  bench/.venv/bin/python bench/formats.py bench/work target/release/modelgate [COPIES]
"""
import json, os, shutil, statistics, subprocess, sys, time

work, mg = sys.argv[1], sys.argv[2]
copies = int(sys.argv[3]) if len(sys.argv) > 3 else 10
venv = os.path.dirname(sys.executable)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
out = os.path.join(work, "formats")
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
exts = (".h5", ".keras", ".pb", ".tflite", ".onnx", ".gguf", ".safetensors", ".7z")
sources = []
for d in ["tests/fixtures/scan", "tests/fixtures/keras", "tests/fixtures/gguf", "tests/fixtures/safetensors"]:
    for f in sorted(os.listdir(os.path.join(root, d))):
        if f.endswith(exts):
            sources.append(os.path.join(root, d, f))
for graph_dir in ["crates/modelgate-graph/tests/corpus", "crates/modelgate-graph/tests/fixtures"]:
    p = os.path.join(root, graph_dir)
    if os.path.isdir(p):
        for dp, _, fs in os.walk(p):
            sources += [os.path.join(dp, f) for f in sorted(fs) if f.endswith(".onnx")]
for i in range(copies):
    d = os.path.join(out, f"c{i:03d}")
    os.makedirs(d)
    for s in sources:
        shutil.copy(s, os.path.join(d, os.path.basename(s)))
    shutil.copytree(os.path.join(root, "tests/fixtures/tf/ok_savedmodel"), os.path.join(d, "ok_savedmodel"))
n_files = sum(len(fs) for _, _, fs in os.walk(out))

def run(cmd, reps):
    times, rss, text = [], [], ""
    for _ in range(reps):
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        rss.append(int(p.stderr.strip().splitlines()[-1]))
        text = p.stdout
    return statistics.median(times), max(rss), text

tools = {
    "modelgate": [mg, "scan", "--quiet", "--format", "json", out],
    "modelscan": [f"{venv}/modelscan", "-p", out],
    "modelaudit": [f"{venv}/modelaudit", "scan", out],
}
rows = []
for name, cmd in tools.items():
    if not os.path.exists(cmd[0]):
        rows.append((name, None)); continue
    run(cmd, 1)  # warm-up
    rows.append((name, run(cmd, 3 if name == "modelgate" else 1)))
base = rows[0][1][0]
verdicts = {}
for f in json.loads(rows[0][1][2])["files"]:
    verdicts[f["verdict"]] = verdicts.get(f["verdict"], 0) + 1
print(f"\nCorpus: {n_files} files ({len(sources)} fixtures + one SavedModel directory, x{copies})\n")
print("| tool | time (× modelgate) | peak RSS |\n|---|---|---|")
for name, r in rows:
    if r is None:
        print(f"| {name} | not installed | |"); continue
    t, m, _ = r
    print(f"| {name} | {t:.2f} s ({t / max(base, 1e-3):.0f}×) | {m / 1024:.0f} MiB |")
print("\nmodelgate verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
