#!/usr/bin/env bash
# Renders `modelgate graph explain --svg/--html` output in a real headless browser (Debian
# chromium) and checks each screenshot: not blank, and the trigger-path red (#ea9999) and gate
# orange (#f6b26b) are actually painted. Optional in CI: exits 0 with "SKIP" when chromium is
# missing and cannot be installed (not root / no apt-get), or when SKIP_RENDER_CHECK=1.
#
#   crates/modelgate-graph/tests/render_check.sh [MODELGATE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../../.."
[ "${SKIP_RENDER_CHECK:-0}" = 1 ] && { echo "SKIP: SKIP_RENDER_CHECK=1"; exit 0; }
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "SKIP: chromium not installed"; exit 0
  fi
fi
BIN="${1:-}"
if [ -z "$BIN" ]; then
  cargo build -q -p modelgate-cli
  BIN="${CARGO_TARGET_DIR:-target}/debug/modelgate"
fi
C=crates/modelgate-graph/tests/corpus
OUT=$(mktemp -d)
# KEEP_DIR=dir keeps the screenshots for a look
trap '[ -n "${KEEP_DIR:-}" ] && mkdir -p "$KEEP_DIR" && cp "$OUT"/*.png "$KEEP_DIR"/ ; rm -rf "$OUT"' EXIT
fail=0
for m in backdoor/squeezenet_colour_patch_where backdoor/digits_pixel_pattern_where backdoor/squeezenet_obfuscated_softstep; do
  base="$OUT/$(basename "$m")"
  "$BIN" graph explain "$C/$m.onnx" --svg "$base.svg" --html "$base.html" >/dev/null || [ $? -eq 1 ]
  for f in "$base.svg" "$base.html"; do
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
      --hide-scrollbars --window-size=1400,2400 --screenshot="$f.png" "file://$f" >/dev/null 2>&1 || true
    if ! python3 - "$f.png" <<'PY'
import struct, sys, zlib
path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp):
        colours.add(tuple(line[x:x + 3]))
red, orange = (0xea, 0x99, 0x99) in colours, (0xf6, 0xb2, 0x6b) in colours
print(f"{path}: {w}x{h}, {len(colours)} colours, trigger red {red}, gate orange {orange}")
sys.exit(0 if len(colours) > 20 and red and orange else 1)
PY
    then fail=1; echo "FAIL: $f did not render as expected"; fi
  done
done
[ $fail = 0 ] && echo "render check passed"
exit $fail
