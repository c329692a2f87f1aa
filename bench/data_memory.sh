#!/usr/bin/env bash
# Peak RSS and wall time of `modelgate data audit` on large CSVs, for one or more builds of
# the CLI (e.g. before / after a change), and whether their JSON reports are identical
# (apart from the wall-clock seconds).
#
#   FILES="scale.csv scale1m.csv" bash bench/data_memory.sh BEFORE_BIN AFTER_BIN
#   STATE=state.gz AUDIT=0 FILES=scale1m.csv bash bench/data_memory.sh BEFORE_BIN AFTER_BIN
#
# With STATE (a `data baseline` state, e.g. the one bench/data_audit.sh writes), each file is
# also screened as a batch against it; AUDIT=0 skips the audits.
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
compare() {
  python3 - "$@" <<'PY' | tee -a "$OUT/memory.txt"
import json, sys
docs = []
for p in sys.argv[1:]:
    d = json.load(open(p))
    d["stats"]["seconds"] = 0
    docs.append(json.dumps(d, sort_keys=True))
print("reports identical (seconds aside):", all(d == docs[0] for d in docs))
PY
}
for f in $FILES; do
  size=$(du -h "$f" | cut -f1)
  rows=$(($(wc -l < "$f") - 1))
  for cmd in audit screen; do
    if [ "$cmd" = audit ] && [ "${AUDIT:-1}" = 0 ]; then continue; fi
    if [ "$cmd" = screen ] && [ -z "${STATE:-}" ]; then continue; fi
    reports=()
    for bin in "$@"; do
      tag=$(basename "$bin")
      json="$OUT/memory_${cmd}_$(basename "$f" .csv)_$tag.json"
      if [ "$cmd" = audit ]; then
        args=(data audit "$f" --label label --format json -o "$json")
      else
        args=(data screen "$STATE" "$f" --format json -o "$json")
      fi
      /usr/bin/time -f "$tag $cmd $(basename "$f") (~$rows lines, $size): %e s wall, %U s user, %S s sys, %M KB max RSS" \
        "$bin" "${args[@]}" 2>&1 | tail -1 | tee -a "$OUT/memory.txt" || true
      reports+=("$json")
    done
    if [ ${#reports[@]} -gt 1 ]; then compare "${reports[@]}"; fi
  done
done
