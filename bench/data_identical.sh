#!/usr/bin/env bash
# Check that `modelgate data audit` reports stay byte-identical across a performance change.
#
#   bash bench/data_identical.sh save BINARY SETSDIR OUTDIR    # write OUTDIR/NAME.json per file
#   bash bench/data_identical.sh check BINARY SETSDIR OUTDIR   # re-run and diff against OUTDIR
#
# The flags per file match bench/data_eval.py (digits/bc: --features all; chat: none).
set -uo pipefail
mode=$1 bin=$2 sets=$3 base=$4
mkdir -p "$base"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for f in "$sets"/*.csv.gz "$sets"/*.jsonl.gz; do
  [ -e "$f" ] || continue
  name=$(basename "$f"); name=${name%%.*}
  case $name in
    digits*|bc*) args=(--label label --features all) ;;
    chat*) args=() ;;
    *) args=(--label label) ;;
  esac
  out="$tmp/$name.json"
  "$bin" data audit "$f" --format json -o "$out" "${args[@]}" >/dev/null 2>"$tmp/$name.err"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "$name: exit $rc: $(head -c 300 "$tmp/$name.err")"; fail=1; continue; fi
  if [ "$mode" = save ]; then
    cp "$out" "$base/$name.json"
  elif cmp -s "$out" "$base/$name.json"; then
    echo "$name: identical"
  else
    echo "$name: DIFFERS"; diff <(tr ',' '\n' <"$base/$name.json") <(tr ',' '\n' <"$out") | head -10
    fail=1
  fi
done
[ "$mode" = check ] && { [ $fail -eq 0 ] && echo "all identical" || echo "DIFFERENCES FOUND"; }
exit $fail
