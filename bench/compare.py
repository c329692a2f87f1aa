#!/usr/bin/env python3
"""Time each scanner on the same corpus in one run; print a Markdown table with ratios.

Wall time (incl. process start-up) and peak RSS come from /usr/bin/time; each tool's stdout
goes to a file. On the small corpus modelgate is the median of 11 runs, picklescan and
ModelScan the median of 3, each after a warm-up; fickling and ModelAudit (minutes per run)
get one timed run. Detection counts are read from each tool's
own output so the comparison is not only about speed.
"""
import os, re, statistics, subprocess, sys, json, tempfile, time

work, mg = sys.argv[1], sys.argv[2]
venv = os.path.dirname(sys.executable)
small = os.path.join(work, "small")
realworld = os.path.join(work, "realworld")
tiny = os.path.join(work, "tiny")
has_tiny = os.path.isdir(tiny)
skl = os.path.join(work, "sklearn")
has_skl = os.path.isdir(skl)
has_real = os.path.isdir(realworld)
bigs = sorted(os.path.join(work, "big", f) for f in os.listdir(os.path.join(work, "big")))
n_small = len(os.listdir(small))
n_mal = len([f for f in os.listdir(small) if int(f[1:6]) % 10 == 0])

def run(cmd, reps=3):
    times, rss, out = [], [], ""
    for _ in range(reps):
        # stdout goes to a file, not a pipe: reading a tool's report through Python would
        # be timed too and penalise tools that print more (modelgate's JSON is ~1 MB here).
        with tempfile.TemporaryFile() as so:
            t0 = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, stdout=so, stderr=subprocess.PIPE)
            t = time.perf_counter() - t0
            so.seek(0)
            stdout = so.read().decode("utf-8", "replace")
        stderr = p.stderr.decode("utf-8", "replace")
        last = stderr.strip().splitlines()[-1]
        m = last.split()[-1]
        times.append(t); rss.append(int(m)); out = stdout + stderr
    return statistics.median(times), max(rss), out

fickling_loop = os.path.join(work, "fickling_dir.sh")
with open(fickling_loop, "w") as f:
    f.write(f'for x in "$1"/*; do {venv}/fickling --check-safety "$x" >/dev/null 2>&1; done\n')

tools = {
    "modelgate": lambda p: [mg, "scan", "--quiet", "--format", "json", p],
    # every tool prints its own report; output goes to a pipe for all of them
    "picklescan": lambda p: [f"{venv}/picklescan", "-p", p],
    "modelscan": lambda p: [f"{venv}/modelscan", "-p", p],
    "fickling": lambda p: ["bash", fickling_loop, p] if os.path.isdir(p) else [f"{venv}/fickling", "--check-safety", p],
    "modelaudit": lambda p: [f"{venv}/modelaudit", "scan", p],
}

def detected(tool, out):
    if tool == "modelgate":
        try:
            d = json.loads(out[: out.rfind("}") + 1])
            return sum(1 for f in d["files"] if f["verdict"] == "malicious")
        except Exception:
            return None
    if tool == "picklescan":
        m = re.search(r"Infected files: (\d+)", out)
        return int(m.group(1)) if m else None
    return None

# MODELGATE_BENCH_TOOLS=modelgate,picklescan limits the run to some tools (modelgate always runs).
only = [t for t in os.environ.get("MODELGATE_BENCH_TOOLS", "").split(",") if t]
if only:
    tools = {k: v for k, v in tools.items() if k == "modelgate" or k in only}

def scanned(tool, out):
    """How many files a tool says it analysed (and failed on), from its own output."""
    if tool == "modelgate":
        try:
            d = json.loads(out[: out.rfind("}") + 1])
            return len(d["files"]), sum(1 for f in d["files"] if f["verdict"] == "malformed")
        except Exception:
            return None
    if tool == "picklescan":
        m = re.search(r"Scanned files: (\d+)", out)
        return (int(m.group(1)), None) if m else None
    if tool == "modelscan":
        return (len(re.findall(r"^Scanning ", out, re.M)), len(re.findall(r"^Error encountered", out, re.M)))
    return None

coverage = {}
rows = []
for name, cmd in tools.items():
    exe = cmd(small)[0]
    if not (os.path.exists(exe) or exe in ("bash",)):
        rows.append((name, None)); continue
    if name in ("modelgate", "picklescan", "modelscan"):
        run(cmd(small), reps=1)  # warm-up (page cache, .pyc)
    t_small, rss_small, out = run(cmd(small), reps={"modelgate": 11, "picklescan": 3, "modelscan": 3}.get(name, 1))
    res = {"small": (t_small, rss_small, detected(name, out))}
    if has_tiny and name in ("modelgate", "picklescan", "modelscan"):
        run(cmd(tiny), reps=1)
        res["tiny"] = run(cmd(tiny), reps={"modelgate": 11}.get(name, 3))[:2] + (None,)
    if has_skl and name in ("modelgate", "picklescan", "modelscan"):
        run(cmd(skl), reps=1)
        t_s, rss_s, out_s = run(cmd(skl), reps={"modelgate": 11}.get(name, 3))
        res["sklearn"] = (t_s, rss_s, detected(name, out_s))
    if has_real and name in ("modelgate", "picklescan", "modelscan"):
        run(cmd(realworld), reps=1)
        t_r, rss_r, out_r = run(cmd(realworld), reps={"modelgate": 11}.get(name, 3))
        res["realworld"] = (t_r, rss_r, detected(name, out_r))
        coverage[name] = scanned(name, out_r)
    for b in bigs:
        reps = 1 if name != "modelgate" else 3
        t, r, _ = run(cmd(b), reps=reps)
        res[os.path.basename(b)] = (t, r, None)
    rows.append((name, res))

base = dict(rows)["modelgate"]
cols = ["small"] + (["tiny"] if has_tiny else []) + (["sklearn"] if has_skl else []) + (["realworld"] if has_real else []) + [os.path.basename(b) for b in bigs]
print(f"\nCorpus: {n_small} small pickles ({n_mal} malicious), "
      + (f"{len(os.listdir(tiny))} two-byte pickles (tiny), " if has_tiny else "")
      + (f"{len(os.listdir(skl))} pickled scikit-learn models (sklearn, {sum(os.path.getsize(os.path.join(skl, f)) for f in os.listdir(skl)) / 2**20:.0f} MiB), " if has_skl else "")
      + (f"{len(os.listdir(realworld))} real-world files from tests/fixtures/pypi, " if has_real else "")
      + ", ".join(f"{os.path.basename(b)} ({os.path.getsize(b) / 2**30:.1f} GiB)" for b in bigs))
print("\n| tool | " + " | ".join(f"{c}: time (× modelgate), peak RSS" for c in cols) + " |")
print("|---|" + "---|" * len(cols))
for name, res in rows:
    if res is None:
        print(f"| {name} | " + " | ".join("not installed" for _ in cols) + " |"); continue
    cells = []
    for c in cols:
        if c not in res:
            cells.append("not run"); continue
        t, r, _ = res[c]
        ratio = t / max(base[c][0], 1e-3)
        cells.append(f"{t:.2f} s ({ratio:.0f}×), {r / 1024:.0f} MiB" if name != "modelgate" else f"{t * 1000:.0f} ms, {r / 1024:.0f} MiB")
    print(f"| {name} | " + " | ".join(cells) + " |")
print(f"\nmodelgate flagged {base['small'][2]} of {n_mal} planted malicious pickles as malicious.")
if has_skl:
    n_skl_mal = len([f for f in os.listdir(skl) if int(f[1:6]) % 10 == 0])
    print(f"modelgate flagged {base['sklearn'][2]} of {n_skl_mal} trojanized scikit-learn pickles as malicious ({len(os.listdir(skl)) - n_skl_mal} benign).")
    for name, res in rows:
        if name != "modelgate" and res and "sklearn" in res and res["sklearn"][2] is not None:
            print(f"{name} reported {res['sklearn'][2]} infected scikit-learn pickles.")
if has_real:
    print(f"modelgate flagged {base['realworld'][2]} of {len(os.listdir(realworld))} real-world files as malicious (all are benign).")
    for tool, cov in coverage.items():
        if cov:
            print(f"real-world files analysed by {tool}: {cov[0]}" + (f" ({cov[1]} errors/malformed)" if cov[1] is not None else ""))
