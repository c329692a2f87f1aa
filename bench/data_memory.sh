#!/usr/bin/env bash
# Peak RSS and wall time of `modelgate data audit` on large CSVs, for one or more builds of
# the CLI (e.g. before / after a change), and whether their JSON reports are identical
# (apart from the wall-clock seconds).
#
#   FILES="scale.csv scale1m.csv" bash bench/data_memory.sh BEFORE_BIN AFTER_BIN
#
# Make the files with bench/data_make_scale.py (see bench/data_audit.sh):
#   python bench/data_make_scale.py SETS 50000 scale.csv
#   python bench/data_make_scale.py SETS 1000000 scale1m.csv
# Runs are sequential (one heavy job at a time). Results: $OUT/memory.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/data-bench}
mkdir -p "$OUT"
[ $# -ge 1 ] || { echo "usage: FILES=\"a.csv ...\" $0 BIN [BIN ...]" >&2; exit 2; }
: "${FILES:?set FILES to the CSV files to audit}"
for f in $FILES; do
  size=$(du -h "$f" | cut -f1)
  rows=$(($(wc -l < "$f") - 1))
  reports=()
  for bin in "$@"; do
    tag=$(basename "$bin")
    json="$OUT/memory_$(basename "$f" .csv)_$tag.json"
    /usr/bin/time -f "$tag $(basename "$f") (~$rows lines, $size): %e s wall, %U s user, %S s sys, %M KB max RSS" \
      "$bin" data audit "$f" --label label --format json -o "$json" 2>&1 | tail -1 | tee -a "$OUT/memory.txt" || true
    reports+=("$json")
  done
  if [ ${#reports[@]} -gt 1 ]; then
    python3 - "${reports[@]}" <<'PY' | tee -a "$OUT/memory.txt"
import json, sys
docs = []
for p in sys.argv[1:]:
    d = json.load(open(p))
    d["stats"]["seconds"] = 0
    docs.append(json.dumps(d, sort_keys=True))
print("reports identical (seconds aside):", all(d == docs[0] for d in docs))
PY
  fi
done
