#!/usr/bin/env bash
# Interop with the reference implementation, both ways:
#   1. model-signing (PyPI) verifies bundles that modelgate made: key method on P-256,
#      P-384, P-521, the certificate method, a signature stored inside the model, and a
#      model with ignore paths;
#   2. modelgate gives the expected verdict on all 72 fixture cases (check_fixtures.py).
# Needs python3 and PyPI access for the venv (cached in $INTEROP_VENV). Exits 0 with
# "SKIP" when python3 or the package is not available, so CI may run it unconditionally.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../../.." && pwd)"
FX="$HERE/../fixtures/signing"
VENV="${INTEROP_VENV:-${CARGO_TARGET_DIR:-$REPO/target}/interop-venv}"
BIN="${MODELGATE_BIN:-}"

if ! command -v python3 >/dev/null; then echo "SKIP: python3 not found"; exit 0; fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import model_signing, OpenSSL' 2>/dev/null; then
  python3 -m venv "$VENV" >/dev/null 2>&1 || { echo "SKIP: cannot create a venv (python3-venv missing?)"; exit 0; }
  # pyopenssl: model-signing 1.1.1 imports it without declaring it
  "$VENV/bin/pip" install -q model-signing==1.1.1 pyopenssl >/dev/null 2>&1 \
    || { echo "SKIP: cannot install model-signing from PyPI"; exit 0; }
fi
PY="$VENV/bin/python"
if [ -z "$BIN" ]; then
  (cd "$REPO" && cargo build -q -p modelgate-cli)
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/modelgate"
fi

WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0
check() { # name, command...
  local name="$1"; shift
  if out="$("$@" 2>&1)"; then echo "ok   $name"; pass=$((pass+1))
  else echo "FAIL $name: $(echo "$out" | tail -3)"; fail=$((fail+1)); fi
}
ms_verify_key() { "$PY" -m model_signing verify key "$1" --signature "$2" --public_key "$3"; }

cp -r "$FX/model" "$WORK/model"
for c in p256 p384 p521; do
  "$BIN" keygen --curve "$c" --private-key "$WORK/$c.key" --public-key "$WORK/$c.pub" >/dev/null
  "$BIN" sign "$WORK/model" --private-key "$WORK/$c.key" --signature "$WORK/$c.sig" >/dev/null
  check "model-signing verifies modelgate key/$c" ms_verify_key "$WORK/model" "$WORK/$c.sig" "$WORK/$c.pub"
done
"$BIN" sign "$WORK/model" --private-key "$FX/keys/p256.key.pem" --signature "$WORK/fx.sig" >/dev/null
check "modelgate P-256 output is byte-identical to indep-key-p256.sig" cmp "$WORK/fx.sig" "$FX/signatures/indep-key-p256.sig"

"$BIN" sign "$WORK/model" --private-key "$FX/pki/leaf.key.pem" --signing-certificate "$FX/pki/leaf.cert.pem" \
  --certificate-chain "$FX/pki/intermediate-ca.cert.pem" --signature "$WORK/cert.sig" >/dev/null
check "model-signing verifies modelgate certificate method" \
  "$PY" -m model_signing verify certificate "$WORK/model" --signature "$WORK/cert.sig" --certificate_chain "$FX/pki/root-ca.cert.pem"

cp -r "$FX/model" "$WORK/inside"
"$BIN" sign "$WORK/inside" --private-key "$WORK/p384.key" --signature "$WORK/inside/model.sig" >/dev/null
check "model-signing verifies a modelgate signature stored inside the model" ms_verify_key "$WORK/inside" "$WORK/inside/model.sig" "$WORK/p384.pub"

"$BIN" sign "$WORK/model" --private-key "$WORK/p256.key" --signature "$WORK/ign.sig" --ignore-paths "$WORK/model/README.md" >/dev/null
echo "changed" >> "$WORK/model/README.md"
check "model-signing honours modelgate's signed ignore_paths" ms_verify_key "$WORK/model" "$WORK/ign.sig" "$WORK/p256.pub"
if ms_verify_key "$WORK/model" "$WORK/p256.sig" "$WORK/p256.pub" >/dev/null 2>&1; then
  echo "FAIL model-signing accepted a tampered model"; fail=$((fail+1))
else echo "ok   model-signing rejects the tampered model under modelgate's signature"; pass=$((pass+1)); fi

echo "--- modelgate on the fixture cases (check_fixtures.py)"
if (cd "$FX" && python3 check_fixtures.py \
      --key-cmd "$BIN verify --public-key {public_key} --signature {signature} {extra} {model}" \
      --cert-cmd "$BIN verify --certificate-chain {cert_chain} --signature {signature} {extra} {model}" | tail -1); then
  pass=$((pass+1)); else fail=$((fail+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
