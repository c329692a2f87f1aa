#!/usr/bin/env python3
"""Build the benchmark corpus (never loads anything it writes).

  small/   N small pickles: benign dicts/lists/OrderedDicts of floats (protocols 0-5) and,
           one in ten, a harmless malicious pickle (os.system("echo ...")), all named .pkl
  tiny/    N two-byte pickles (`N.`, None): the per-file floor of walking, opening, reading
           and reporting, with almost nothing to analyse
  realworld/  N copies drawn round-robin from the real pickle-family files PyPI packages ship
           (tests/fixtures/pypi: facenet-pytorch checkpoints, joblib's test pickles in every
           compression, NumPy's pickled generators and object arrays), names kept
  big/     large PyTorch-zip checkpoints: an `archive/data.pkl` state_dict pickle made by
           CPython's pickler in torch.save's layout plus stored tensor storages of SIZE bytes
"""
import collections, os, pickle, random, struct, sys, zipfile

out = sys.argv[1]
n_small = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
big_gb = [float(x) for x in (sys.argv[3] if len(sys.argv) > 3 else "0.5,5").split(",") if x]
rng = random.Random(0)
os.makedirs(f"{out}/small", exist_ok=True)
os.makedirs(f"{out}/big", exist_ok=True)

class Evil:
    def __reduce__(self):
        return (os.system, ("echo modelgate-bench",))

for i in range(n_small):
    path = f"{out}/small/p{i:05d}.pkl"
    if os.path.exists(path):
        continue
    if i % 10 == 0:
        obj = {"weights": [rng.random() for _ in range(20)], "x": Evil()}
    elif i % 3 == 0:
        obj = collections.OrderedDict((f"layer{j}.weight", [rng.random() for _ in range(16)]) for j in range(8))
    else:
        obj = {"lr": rng.random(), "steps": list(range(rng.randrange(5, 200))), "name": f"model-{i}"}
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=i % 6)

os.makedirs(f"{out}/tiny", exist_ok=True)
for i in range(n_small):
    path = f"{out}/tiny/t{i:05d}.pkl"
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(b"N.")

# Real-world files: what packages on PyPI actually ship, copied under their own names.
pypi = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "pypi")
real = sorted(
    os.path.join(d, f)
    for d, _, fs in os.walk(pypi)
    for f in fs
    if os.path.basename(d) in ("joblib", "numpy", "facenet_pytorch")
)
if real:
    import shutil
    os.makedirs(f"{out}/realworld", exist_ok=True)
    for i in range(n_small):
        src = real[i % len(real)]
        dst = f"{out}/realworld/r{i:05d}_{os.path.basename(src)}"
        if not os.path.exists(dst):
            shutil.copyfile(src, dst)

# torch.save layout without torch: persistent ids point at storages in archive/data/N.
class Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel

class FloatStorage:  # pickled by reference as torch.FloatStorage
    pass
FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"

def _rebuild_tensor_v2(*a):
    pass
_rebuild_tensor_v2.__module__ = "torch._utils"

class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape
    def __reduce__(self):
        stride = tuple(int(x) for x in reversed([1] + list(reversed(self.shape[1:]))))
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, (self.shape[1], 1) if len(self.shape) == 2 else (1,), False, collections.OrderedDict()))

class P(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None

import sys as _s
_s.modules.setdefault("torch", type(_s)("torch")); _s.modules["torch"].FloatStorage = FloatStorage
_s.modules.setdefault("torch._utils", type(_s)("torch._utils")); _s.modules["torch._utils"]._rebuild_tensor_v2 = _rebuild_tensor_v2

for gb in big_gb:
    path = f"{out}/big/checkpoint_{gb:g}GB.pt"
    if os.path.exists(path):
        continue
    total = int(gb * (1 << 30))
    n_layers = 64
    per = total // n_layers // 4 * 4
    sd = collections.OrderedDict()
    for j in range(n_layers):
        numel = per // 4
        sd[f"layers.{j}.weight"] = Tensor(Storage(str(j), numel), (numel // 1024, 1024))
    import io
    buf = io.BytesIO(); P(buf, protocol=2).dump(sd)
    chunk = bytes(range(256)) * 4096  # 1 MiB of non-zero bytes
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/version", "3\n")
        for j in range(n_layers):
            with z.open(f"archive/data/{j}", "w", force_zip64=True) as w:
                left = per
                while left > 0:
                    k = min(left, len(chunk)); w.write(chunk[:k]); left -= k
    print("wrote", path, os.path.getsize(path))
