#!/usr/bin/env python3
"""Fixtures for `--vectors` in `data baseline` / `data screen`: scikit-learn's digits as row
vectors in .npy files written by numpy, with the labels (and ids) in a CSV beside each.

  python crates/modelgate-data/tests/gen/make_vectors.py crates/modelgate-data/tests/fixtures

vec_baseline: the first 1 000 digits (trusted). vec_batch_clean: the remaining 797.
vec_batch_flip10: the same 797 rows with 10 % of the labels flipped to another digit
(truth in vec_batch_flip10.truth.txt; its vectors are vec_batch_clean.npy).
vec_baseline.npz: the baseline vectors again, written by numpy.savez_compressed;
vec_two_arrays.npz: two unnamed arrays (an error case). The vectors are uint8 pixel intensities (0..16).
"""
import csv
import os
import sys

import numpy as np
from sklearn.datasets import load_digits


def write(out, name, X, ids, labels):
    if X is not None:
        np.save(os.path.join(out, f"{name}.npy"), X.astype(np.uint8))
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label"])
        for i, y in zip(ids, labels):
            w.writerow([i, f"d{y}"])


def main():
    out = sys.argv[1]
    d = load_digits()
    X, y = d.data, d.target
    ids = [f"r{i:04d}" for i in range(len(y))]
    write(out, "vec_baseline", X[:1000], ids[:1000], y[:1000])
    # The same vectors as a compressed .npz (one named array) and an ambiguous .npz.
    np.savez_compressed(os.path.join(out, "vec_baseline.npz"), x=X[:1000].astype(np.uint8))
    np.savez(os.path.join(out, "vec_two_arrays.npz"), a=np.zeros((2, 2)), b=np.ones((2, 2)))
    write(out, "vec_batch_clean", X[1000:], ids[1000:], y[1000:])
    rng = np.random.default_rng(11)
    yb = y[1000:].copy()
    flip = rng.choice(len(yb), size=len(yb) // 10, replace=False)
    for i in flip:
        yb[i] = (yb[i] + 1 + rng.integers(9)) % 10
    write(out, "vec_batch_flip10", None, ids[1000:], yb)  # vectors: vec_batch_clean.npy
    with open(os.path.join(out, "vec_batch_flip10.truth.txt"), "w") as f:
        f.write("".join(f"{ids[1000 + i]}\n" for i in sorted(flip)))


if __name__ == "__main__":
    main()
