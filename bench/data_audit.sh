#!/usr/bin/env bash
# Benchmark `modelgate data` against cleanlab 2.x + scikit-learn on the same generated files.
#
#   bash bench/data_audit.sh            # builds the release CLI, makes a venv, runs everything
#   MODELGATE=/path/to/modelgate VENV=/path/to/venv SCALE=1000000 bash bench/data_audit.sh
#
# Steps: (1) generate the poisoned sets from public data (SpamAssassin via npm, scikit-learn's
# digits / breast-cancer, stdlib docstrings) with ground truth; (2) modelgate data audit on every
# file; (3) cleanlab-LR and cleanlab-NB on every labelled file; (4) batch screening speed; (5) a
# resampled SCALE-row CSV for throughput; (6) both tools end to end, one process per file,
# interleaved (bench/data_e2e.py); (7) screening quality against a trusted baseline
# (bench/data_screen_eval.py). Results land in $OUT (markdown tables: $OUT/results.md,
# $OUT/e2e.md, $OUT/screen_eval.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/data-bench}
VENV=${VENV:-$OUT/venv}
SCALE=${SCALE:-50000}
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q cleanlab scikit-learn pandas numpy
fi
if [ -z "${MODELGATE:-}" ]; then
  (cd "$ROOT" && cargo build --release -p modelgate-cli)
  MODELGATE=${CARGO_TARGET_DIR:-$ROOT/target}/release/modelgate
fi
cd "$ROOT"
echo "== generating sets"
"$VENV/bin/python" crates/modelgate-data/tests/gen/make_poison.py --out "$OUT/sets" --size full
echo "== modelgate"
"$VENV/bin/python" bench/data_eval.py "$MODELGATE" "$OUT/sets" --json "$OUT/modelgate.json"
echo "== cleanlab"
"$VENV/bin/python" bench/data_cleanlab.py "$OUT/sets" --model lr --json "$OUT/cleanlab_lr.json"
"$VENV/bin/python" bench/data_cleanlab.py "$OUT/sets" --model nb --json "$OUT/cleanlab_nb.json"
echo "== python + cleanlab import cost (one CLI-style call)"
/usr/bin/time -f "%e s wall, %U s user" "$VENV/bin/python" -c "import sklearn.linear_model, cleanlab.filter" 2>&1 | tail -1 | tee "$OUT/import.txt"
echo "== end to end: one process per file and tool, interleaved, ${ROUNDS:-3} rounds"
"$VENV/bin/python" bench/data_e2e.py "$MODELGATE" "$OUT/sets" --rounds "${ROUNDS:-3}" --json "$OUT/e2e.json" | tee "$OUT/e2e.md"
echo "== screening against a trusted baseline (modelgate screen vs cleanlab with the baseline model)"
"$VENV/bin/python" bench/data_screen_eval.py "$MODELGATE" "$OUT/sets" --json "$OUT/screen_eval.json" | tee "$OUT/screen_eval.md"
echo "== screening speed"
"$VENV/bin/python" bench/data_screen_make.py "$OUT" "$SCALE"
"$MODELGATE" data baseline "$OUT/screen_baseline.csv" --label label -o "$OUT/state.gz"
/usr/bin/time -f "screen 10000 rows: %e s wall, %U s user, %M KB max RSS" "$MODELGATE" data screen "$OUT/state.gz" "$OUT/screen_batch10k.csv" --source source --format json -o "$OUT/screen.json" 2>&1 | tee "$OUT/screen.txt" || true
"$VENV/bin/python" -c "import json; r=json.load(open('$OUT/screen.json')); print('screen verdict', r['verdict'], 'flagged', r['stats']['flagged_rows'])" | tee -a "$OUT/screen.txt" || true
echo "== scale: $SCALE rows ($(du -h "$OUT/scale.csv" | cut -f1))"
/usr/bin/time -f "audit $SCALE rows: %e s wall, %U s user, %M KB max RSS" "$MODELGATE" data audit "$OUT/scale.csv" --label label --format json -o "$OUT/scale.json" 2>&1 | tail -1 | tee "$OUT/scale.txt" || true
/usr/bin/time -f "cleanlab-LR $SCALE rows: %e s wall, %U s user, %M KB max RSS" "$VENV/bin/python" - "$OUT/scale.csv" <<'PY' 2>&1 | tail -1 | tee -a "$OUT/scale.txt"
import sys, pandas as pd, numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from cleanlab.filter import find_label_issues
df = pd.read_csv(sys.argv[1])
y = (df["label"] == "spam").astype(int).values
X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit_transform(df["text"].fillna(""))
p = cross_val_predict(LogisticRegression(C=1.0, max_iter=1000), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
print(int(find_label_issues(y, p).sum()), "issues")
PY
"$VENV/bin/python" bench/data_compare.py "$OUT" | tee "$OUT/results.md"
