#!/usr/bin/env bash
# Side-by-side benchmark: modelgate vs picklescan, ModelScan, fickling and ModelAudit, in one run.
# Not part of CI. Needs PyPI access once (for the venv) and ~6 GB of disk.
#   bash bench/run.sh [N_SMALL] [BIG_GB_LIST]      e.g. bash bench/run.sh 5000 0.5,5
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
BIG=${2:-0.5,5}
W=bench/work
[ -x bench/.venv/bin/python ] || { python3 -m venv bench/.venv; bench/.venv/bin/pip install -q picklescan modelscan fickling modelaudit; }
python3 bench/make_corpus.py "$W" "$N" "$BIG"
bench/.venv/bin/python -c "import sklearn, joblib" 2>/dev/null || bench/.venv/bin/pip install -q scikit-learn joblib
bench/.venv/bin/python bench/make_sklearn_corpus.py "$W" "$N"
cargo build --release -q -p modelgate-cli
bench/.venv/bin/python bench/compare.py "$W" target/release/modelgate
bench/.venv/bin/python bench/formats.py "$W" target/release/modelgate 10
