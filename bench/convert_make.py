#!/usr/bin/env python3
"""Make a multi-GB PyTorch checkpoint for bench/convert.sh, or run the usual Python conversion.

    python convert_make.py make OUT.pt --gb 2.5     # torch.save of f16/f32 tensors (zip format)
    python convert_make.py convert IN.pt OUT.safetensors
        # the usual path: torch.load(weights_only=True) + safetensors.torch.save_file
"""
import argparse
import sys

import torch


def make(out, gb):
    torch.manual_seed(0)
    target = int(gb * (1 << 30))
    sd, total, i = {}, 0, 0
    while total < target:
        # Alternating f32 and f16 layers of a few hundred MB at most (like a 1-3B model).
        dtype = torch.float32 if i % 2 == 0 else torch.float16
        rows = 8192 if i % 3 else 4096
        t = torch.randn(rows, 8192, dtype=torch.float32).to(dtype)
        sd[f"layers.{i}.weight"] = t
        total += t.numel() * t.element_size()
        i += 1
    torch.save(sd, out)
    print(f"{len(sd)} tensors, {total / (1 << 30):.2f} GiB", file=sys.stderr)


def convert(src, dst):
    from safetensors.torch import save_file

    sd = torch.load(src, weights_only=True, map_location="cpu")
    save_file(sd, dst, metadata={"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--gb", type=float, default=2.5)
    c = sub.add_parser("convert")
    c.add_argument("src")
    c.add_argument("dst")
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.out, a.gb)
    else:
        convert(a.src, a.dst)


if __name__ == "__main__":
    main()
