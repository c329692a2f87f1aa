#!/usr/bin/env bash
# A/B timing of two `modelgate` binaries on the data benchmark files, runs interleaved
# (A, B, A, B, ...) so that a noisy machine slows both alike. Prints per binary the median and
# minimum over the rounds of the summed wall and CPU seconds of one pass over all files.
#
#   bash bench/data_ab.sh BINARY_A BINARY_B SETSDIR [ROUNDS]
set -euo pipefail
a=$1 b=$2 sets=$3 rounds=${4:-5}
files=()
for f in "$sets"/*.csv.gz; do
  case $(basename "$f") in stream_*) continue ;; esac
  files+=("$f")
done
pass() {
  local bin=$1 f name args
  local start end
  start=$(date +%s.%N)
  local cpu=0
  for f in "${files[@]}"; do
    name=$(basename "$f")
    case $name in
      digits*|bc*) args=(--label label --features all) ;;
      *) args=(--label label) ;;
    esac
    /usr/bin/time -o /tmp/ab.$$.t -f "%U %S" "$bin" data audit "$f" --format json -o /dev/null "${args[@]}" >/dev/null 2>&1 || true
    t=$(tail -1 /tmp/ab.$$.t)
    cpu=$(echo "$cpu $t" | awk '{print $1 + $2 + $3}')
  done
  end=$(date +%s.%N)
  echo "$(echo "$start $end" | awk '{print $2 - $1}') $cpu"
}
: >/tmp/ab.$$.a; : >/tmp/ab.$$.b
for r in $(seq "$rounds"); do
  pass "$a" >>/tmp/ab.$$.a
  pass "$b" >>/tmp/ab.$$.b
done
python3 - /tmp/ab.$$.a /tmp/ab.$$.b <<'PY'
import statistics, sys
for name, path in zip("ab", sys.argv[1:]):
    rows = [tuple(map(float, l.split())) for l in open(path) if l.strip()]
    w = [r[0] for r in rows]
    c = [r[1] for r in rows]
    print(f"{name}: wall median {statistics.median(w):.2f} min {min(w):.2f} s; "
          f"CPU median {statistics.median(c):.2f} min {min(c):.2f} s ({len(rows)} rounds)")
PY
rm -f /tmp/ab.$$.a /tmp/ab.$$.b /tmp/ab.$$.t
