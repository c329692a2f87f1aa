#!/usr/bin/env bash
# Convert every round-trip fixture with modelgate and check the outputs against torch.load /
# numpy.load with Python safetensors (check.py). Run by hand; not part of CI.
#
#   PYTHON=/path/to/python-with-torch-numpy-safetensors bash run.sh
#   MODELGATE=/path/to/modelgate PYTHON=... bash run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
FX=$HERE/../fixtures
PYTHON=${PYTHON:-python3}
if [ -z "${MODELGATE:-}" ]; then
  (cd "$ROOT" && cargo build -q -p modelgate-cli)
  MODELGATE=${CARGO_TARGET_DIR:-$ROOT/target}/debug/modelgate
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
pairs=()
for f in "$FX"/*.pt "$FX"/*.npy "$FX"/*.npz; do
  base=$(basename "$f")
  case "$base" in
    complex.pt|meta.pt|sparse.pt|quantized.pt|np_complex.npy|np_object.npy) continue ;;
  esac
  "$MODELGATE" convert "$f" -o "$OUT/$base.safetensors" 2>/dev/null
  # Big-endian fixtures are compared with the little-endian files they were made from:
  # torch reads back neither correctly here (legacy: it reads the counts little-endian and
  # fails; zip: untyped storages,
  # i.e. uint16/32/64 and fp8 tensors, are "swapped" as bytes, so uint16/32/64 come out
  # wrong). modelgate swaps by the tensor's dtype.
  src=$f
  [ "$base" = legacy_be.pt ] && src=$FX/legacy.pt
  [ "$base" = zip_be.pt ] && src=$FX/v3_dtypes.pt
  pairs+=("$src" "$OUT/$base.safetensors")
done
"$MODELGATE" convert "$FX/sharded" -o "$OUT/sharded" 2>/dev/null
pairs+=("$FX/sharded/pytorch_model.bin.index.json" "$OUT/sharded/model.safetensors.index.json")
"$PYTHON" "$HERE/check.py" "${pairs[@]}"
