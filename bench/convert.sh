#!/usr/bin/env bash
# Benchmark `modelgate convert` against the usual Python path (torch.load(weights_only=True) +
# safetensors.torch.save_file) on one multi-GB checkpoint made with real torch.
#
#   PYTHON=/path/to/python-with-torch-and-safetensors bash bench/convert.sh
#   GB=2.5 RUNS=3 MODELGATE=/path/to/modelgate bash bench/convert.sh
#
# Reports wall time and peak RSS (/usr/bin/time -v) of each tool, median of RUNS runs, as a
# markdown table ($OUT/results.md). The checkpoint and outputs are deleted at the end
# (KEEP=1 keeps them). Both outputs are compared tensor by tensor before the table is printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/convert-bench}
PYTHON=${PYTHON:-python3}
GB=${GB:-2.5}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
if [ -z "${MODELGATE:-}" ]; then
  (cd "$ROOT" && cargo build --release -p modelgate-cli)
  MODELGATE=${CARGO_TARGET_DIR:-$ROOT/target}/release/modelgate
fi
CKPT=$OUT/ckpt.pt
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -f "$CKPT" "$OUT"/mg.safetensors "$OUT"/py.safetensors; }
trap cleanup EXIT
echo "== making a ${GB} GiB checkpoint with torch.save"
"$PYTHON" "$ROOT/bench/convert_make.py" make "$CKPT" --gb "$GB"
ls -l "$CKPT"
cat "$CKPT" > /dev/null  # warm the page cache for both tools

# run NAME CMD... : RUNS timed runs -> "$OUT/NAME.tsv" lines of "wall_s<TAB>max_rss_kb<TAB>cpu_s".
run() {
  local name=$1; shift
  : > "$OUT/$name.tsv"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -v "$@" 2> "$OUT/$name.time" > /dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
                /Maximum resident set size/ {r=$2}
                /User time|System time/ {c+=$2}
                END {printf "%.2f\t%d\t%.2f\n", w, r, c}' "$OUT/$name.time" >> "$OUT/$name.tsv"
  done
}
echo "== modelgate convert ($RUNS runs)"
run modelgate "$MODELGATE" convert "$CKPT" -o "$OUT/mg.safetensors"
echo "== torch.load + safetensors.torch.save_file ($RUNS runs)"
run python "$PYTHON" "$ROOT/bench/convert_make.py" convert "$CKPT" "$OUT/py.safetensors"
echo "== comparing the two outputs"
"$PYTHON" - "$OUT/mg.safetensors" "$OUT/py.safetensors" <<'PY'
import sys
from safetensors import safe_open
a, b = (safe_open(p, "pt") for p in sys.argv[1:3])
assert sorted(a.keys()) == sorted(b.keys())
for k in a.keys():
    x, y = a.get_tensor(k), b.get_tensor(k)
    assert x.dtype == y.dtype and x.shape == y.shape and x.view(-1).view(__import__("torch").uint8).equal(y.view(-1).view(__import__("torch").uint8)), k
print(f"identical: {len(list(a.keys()))} tensors")
PY
size=$(stat -c %s "$CKPT")
largest=$("$MODELGATE" convert --dry-run "$CKPT" 2>/dev/null | awk -F'\t' 'NF==4 && $4+0>m {m=$4+0} END {print m}')
median() { sort -n -k"$1" "$2" | awk -v c="$1" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'; }
{
  echo "checkpoint: $(awk -v s="$size" 'BEGIN{printf "%.2f GiB", s/2^30}') ($(date -u +%F), $(nproc) vCPU, load $(cut -d' ' -f1-3 /proc/loadavg)); largest tensor $(awk -v s="$largest" 'BEGIN{printf "%.0f MiB", s/2^20}'); median of $RUNS runs, page cache warm"
  echo
  echo "| conversion | wall s | user+sys CPU s | peak RSS MiB | MB/s (wall) |"
  echo "|---|---|---|---|---|"
  for n in modelgate python; do
    w=$(median 1 "$OUT/$n.tsv"); r=$(median 2 "$OUT/$n.tsv"); c=$(median 3 "$OUT/$n.tsv")
    label=$([ "$n" = modelgate ] && echo "modelgate convert (scan gate, fsync)" || echo "torch.load + save_file")
    awk -v l="$label" -v w="$w" -v r="$r" -v c="$c" -v s="$size" 'BEGIN{printf "| %s | %.2f | %.2f | %.0f | %.0f |\n", l, w, c, r/1024, s/1e6/w}'
  done
} | tee "$OUT/results.md"
