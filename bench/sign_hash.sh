#!/usr/bin/env bash
# Signing/verifying speed: modelgate vs model-signing (PyPI) vs `openssl dgst -sha256`, on the
# same multi-GB model directory, page cache warm. Prints a markdown table with wall seconds
# (median of RUNS after one warm-up), user+sys CPU seconds, GB/s and ratios.
#
#   bench/sign_hash.sh                 # 2 GiB: 4 x 512 MiB + small files
#   BENCH_GIB=4 RUNS=5 bench/sign_hash.sh
#
# Needs: cargo (builds the modelgate-sign `oms` example in release mode, or set MODELGATE_BIN
# to a `modelgate` binary), openssl, GNU time; python3 + PyPI for model-signing (skipped if
# it cannot be installed). Work files go to bench/work (git-ignored).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
WORK="${BENCH_WORK:-$REPO/bench/work/sign}"
GIB="${BENCH_GIB:-2}"
RUNS="${RUNS:-3}"
FX="$REPO/crates/modelgate-sign/tests/fixtures/signing"
KEY="$FX/keys/p256.key.pem"; PUB="$FX/keys/p256.pub.pem"
VENV="${BENCH_VENV:-$REPO/bench/.venv}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"

MODEL="$WORK/model-${GIB}g"
OMS="$TARGET/release/examples/oms"
if [ -n "${MODELGATE_BIN:-}" ]; then
  mg_sign() { "$MODELGATE_BIN" sign "$MODEL" --private-key "$KEY" --signature "$WORK/mg.sig" >/dev/null; }
  mg_verify() { "$MODELGATE_BIN" verify "$MODEL" --public-key "$PUB" --signature "$WORK/mg.sig" >/dev/null; }
else
  mg_sign() { "$OMS" sign "$MODEL" "$KEY" "$WORK/mg.sig"; }
  mg_verify() { "$OMS" verify "$MODEL" "$PUB" "$WORK/mg.sig"; }
fi
ms_sign() { "$VENV/bin/python" -m model_signing sign key "$MODEL" --private_key "$KEY" --signature "$WORK/ms.sig" >/dev/null 2>&1; }
ms_verify() { "$VENV/bin/python" -m model_signing verify key "$MODEL" --public_key "$PUB" --signature "$WORK/ms.sig" >/dev/null 2>&1; }
ossl1() { find "$MODEL" -type f -print0 | xargs -0 openssl dgst -sha256 >/dev/null; }
ossl2() { find "$MODEL" -type f -print0 | xargs -0 -n 1 -P 2 openssl dgst -sha256 >/dev/null; }
if [ "${1:-}" = __run ]; then "$2"; exit; fi

mkdir -p "$WORK"
if [ ! -f "$MODEL.complete" ]; then
  rm -rf "$MODEL"; mkdir -p "$MODEL"
  n=$((GIB * 2))
  for i in $(seq 1 "$n"); do
    head -c $((512 * 1024 * 1024)) /dev/urandom > "$MODEL/model-0000$i-of-0000$n.safetensors"
  done
  cp "$FX/model/config.json" "$FX/model/tokenizer.json" "$FX/model/README.md" "$MODEL/"
  touch "$MODEL.complete"
fi
BYTES=$(find "$MODEL" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}')

# modelgate driver: the release `oms` example (same library code as `modelgate sign/verify`)
[ -n "${MODELGATE_BIN:-}" ] || (cd "$REPO" && cargo build -q --release -p modelgate-sign --example oms)

have_ms=0
if command -v python3 >/dev/null; then
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import model_signing, OpenSSL' 2>/dev/null; then
    python3 -m venv "$VENV" >/dev/null 2>&1 && "$VENV/bin/pip" install -q model-signing==1.1.1 pyopenssl >/dev/null 2>&1 || true
  fi
  "$VENV/bin/python" -c 'import model_signing, OpenSSL' 2>/dev/null && have_ms=1
fi
# measure NAME FUNC: one warm-up, RUNS timed runs; prints "median_wall median_cpu"
measure() {
  local f="$1" walls=() cpus=()
  "$f"
  for _ in $(seq 1 "$RUNS"); do
    local t; t=$( { /usr/bin/time -f "%e %U %S" "$0" __run "$f" >/dev/null; } 2>&1 | tail -1 )
    walls+=("$(echo "$t" | awk '{print $1}')")
    cpus+=("$(echo "$t" | awk '{printf "%.2f", $2+$3}')")
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  mc=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$mw $mc"
}

declare -A W C
rows=(mg_sign mg_verify ossl1 ossl2)
[ "$have_ms" = 1 ] && rows+=(ms_sign ms_verify)
for r in "${rows[@]}"; do
  read -r W[$r] C[$r] < <(measure "$r")
done
label() { case "$1" in
  mg_sign) echo "modelgate sign (key, files, sha256)";; mg_verify) echo "modelgate verify";;
  ms_sign) echo "model-signing 1.1.1 sign key (CLI)";; ms_verify) echo "model-signing 1.1.1 verify key (CLI)";;
  ossl1) echo "openssl dgst -sha256, 1 process";; ossl2) echo "openssl dgst -sha256, 2 processes";; esac; }
echo
echo "Data: $BYTES bytes ($(ls "$MODEL" | wc -l) files), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), page cache warm, median of $RUNS runs"
echo
echo "| command | wall s | user+sys s | GB/s (wall) | wall vs modelgate |"
echo "|---|---|---|---|---|"
for r in "${rows[@]}"; do
  base=${W[mg_sign]}; [ "${r#*_}" = verify ] && base=${W[mg_verify]}
  awk -v l="$(label "$r")" -v w="${W[$r]}" -v c="${C[$r]}" -v b="$BYTES" -v base="$base" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.2fx |\n", l, w, c, (w>0 ? b/w/1e9 : 0), (base>0 ? w/base : 0) }'
done
[ "$have_ms" = 1 ] || echo "(model-signing not installed: its rows are missing)"
