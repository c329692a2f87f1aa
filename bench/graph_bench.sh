#!/usr/bin/env bash
# Graph-analysis benchmark: parse + shadow-logic analysis time per model on the corpus
# (backdoors, clean look-alikes, the onnx wheel's backend models and node tests) and on a large
# external-data model (~530 MB of weights) that must be analysed without reading its weights.
#
#   bench/graph_bench.sh [PYTHON]
# PYTHON must have numpy and onnx (for the large model); without it the large model is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-${PYTHON:-python3}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
C=crates/modelgate-graph/tests/corpus
cargo build --release -q -p modelgate-graph --example graph_bench
BIN="$CARGO_TARGET_DIR/release/examples/graph_bench"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== corpus: backdoors"
"$BIN" --iters 5 "$C/backdoor"
echo "== corpus: clean look-alikes"
"$BIN" --iters 5 "$C/clean"
echo "== onnx wheel backend models (149) and node tests (1884)"
"$BIN" --iters 3 --quiet "$C/onnx-backend-data.bin.gz"
"$BIN" --iters 3 --quiet "$C/onnx-node-tests.bin.gz"
LARGE="${LARGE_DIR:-/tmp/modelgate-bench}"
if "$PY" -c 'import onnx, numpy' 2>/dev/null; then
  [ -f "$LARGE/large.onnx.data" ] || "$PY" bench/graph_make_large.py "$LARGE"
  echo "== large model with external data ($(du -h "$LARGE/large.onnx.data" | cut -f1) of weights)"
  out=$("$BIN" --iters 5 "$LARGE/large.onnx" "$LARGE/large_backdoor.onnx")
  echo "$out"
  echo "$out" | awk '/large_backdoor.onnx$/ { if ($(NF-1) + 0 < 0.7) { print "FAIL: large backdoor not detected"; bad = 1 } } END { exit bad }'
  echo "== same, with the external data file moved away (proves it is never read)"
  mv "$LARGE/large.onnx.data" "$LARGE/large.onnx.data.away"
  trap 'mv "$LARGE/large.onnx.data.away" "$LARGE/large.onnx.data" 2>/dev/null || true' EXIT
  "$BIN" --iters 5 "$LARGE/large.onnx" "$LARGE/large_backdoor.onnx"
  DEEP="${LARGE}-deep"
  [ -f "$DEEP/large.onnx" ] || "$PY" bench/graph_make_large.py "$DEEP" 1000 16 >/dev/null
  echo "== deep graph: 1000 layers, ~12k nodes"
  "$BIN" --iters 5 "$DEEP/large.onnx" "$DEEP/large_backdoor.onnx"
else
  echo "== large model skipped: $PY lacks onnx/numpy"
fi
