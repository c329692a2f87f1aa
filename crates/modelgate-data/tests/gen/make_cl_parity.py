#!/usr/bin/env python3
"""Write cl_parity.json: random out-of-fold-like probabilities, labels with random noise, and
the label issues cleanlab's `find_label_issues` (defaults) reports on them. The Rust test
`confident_learning_matches_cleanlab` checks that modelgate flags exactly the same rows.

  python make_cl_parity.py OUT.json     (needs `pip install cleanlab`)
"""
import json
import sys

import numpy as np
from cleanlab.filter import find_label_issues

cases = []
rng = np.random.default_rng(7)
for k, n, noise in [(2, 400, 0.1), (3, 300, 0.15), (10, 500, 0.2), (2, 200, 0.02)]:
    truth = rng.integers(0, k, n)
    labels = truth.copy()
    flip = rng.random(n) < noise
    labels[flip] = (labels[flip] + rng.integers(1, k, flip.sum())) % k
    logits = rng.normal(0, 1.0, (n, k))
    logits[np.arange(n), truth] += 2.5
    p = np.exp(logits)
    p /= p.sum(1, keepdims=True)
    p = np.round(p, 6)
    p /= p.sum(1, keepdims=True)
    issues = find_label_issues(labels, p)
    cases.append({"k": k, "labels": labels.tolist(), "pred_probs": [list(map(float, r)) for r in p],
                  "issues": np.flatnonzero(issues).tolist()})
json.dump({"generator": "make_cl_parity.py", "cleanlab": __import__("cleanlab").__version__, "cases": cases},
          open(sys.argv[1], "w"))
