#!/usr/bin/env python3
"""Side-by-side check of modelgate convert against the reference loaders (run by hand).

    python check.py ORIGINAL CONVERTED [ORIGINAL CONVERTED ...]

ORIGINAL is loaded with torch.load(weights_only=True) (.pt/.bin), numpy.load (.npy/.npz,
allow_pickle=False) or, for a sharded checkpoint, its pytorch_model.bin.index.json;
CONVERTED with Python safetensors (safe_open, or model.safetensors.index.json). Every tensor
must match bit for bit (dtype, shape, bytes). Names dropped as identical views must be
recorded in __metadata__ as aliases of a tensor with the same bytes. Exit 1 on any mismatch.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors import safe_open

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from flatten import flat  # noqa: E402


def load_original(path):
    if os.path.basename(path).endswith(".index.json"):
        d = os.path.dirname(path)
        files = sorted(set(json.load(open(path))["weight_map"].values()))
        res = {}
        for f in files:
            res.update(flat(torch.load(os.path.join(d, f), weights_only=True)))
        return res
    if path.endswith(".npy"):
        stem = os.path.splitext(os.path.basename(path))[0]
        return flat({stem: np.load(path, allow_pickle=False)})
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return flat({k: z[k] for k in z.files})
    return flat(torch.load(path, weights_only=True))


def load_converted(path):
    """-> (tensors, aliases)"""
    if path.endswith(".index.json"):
        d = os.path.dirname(path)
        tensors, aliases = {}, {}
        for f in sorted(set(json.load(open(path))["weight_map"].values())):
            t, a = load_converted(os.path.join(d, f))
            tensors.update(t)
            aliases.update(a)
        return tensors, aliases
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    aliases = {k: v for k, v in meta.items() if v in tensors}
    return tensors, aliases


def raw(t):
    t = t.contiguous()
    if t.numel() == 0:
        return b""
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def check(original, converted):
    want = load_original(original)
    got, aliases = load_converted(converted)
    problems = []
    for name, t in want.items():
        kept = name if name in got else aliases.get(name)
        if kept is None:
            problems.append(f"{name}: missing")
            continue
        g = got[kept]
        if g.dtype != t.dtype or tuple(g.shape) != tuple(t.shape) or raw(g) != raw(t):
            problems.append(f"{name}: differs ({t.dtype} {tuple(t.shape)} vs {g.dtype} {tuple(g.shape)})")
    extra = set(got) - set(want)
    if extra:
        problems.append(f"unexpected tensors {sorted(extra)}")
    status = "ok" if not problems else "FAIL"
    label = f"{os.path.basename(original)} -> {os.path.basename(converted)}"
    print(f"{status:4} {label}: {len(want)} tensors ({len(aliases)} as aliases) bit-for-bit"
          if not problems else f"{status:4} {label}: " + "; ".join(problems))
    return not problems


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    ok = all([check(args[i], args[i + 1]) for i in range(0, len(args), 2)])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
