#!/usr/bin/env python3
"""compare_tensors.py A.safetensors B.safetensors [--bound 1e-5]: the largest difference between the float32 tensors of
two safetensors files, relative to max(1, |a|) per element, and whether every tensor's zero pattern (its mask) is the
same. Exits 1 when the names or shapes differ, a zero pattern differs, or the difference exceeds the bound. Standard
library only (CI runs it before the test venv exists)."""
import argparse, array, json, struct, sys

def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        sys.exit(f"{path}: truncated safetensors file ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__" or e["dtype"] != "F32":
            continue
        a, b = e["data_offsets"]
        values = array.array("f")
        values.frombytes(body[a:b])
        out[name] = (e["shape"], values)
    return out

parser = argparse.ArgumentParser(description="Largest relative difference and zero-pattern check of two safetensors files.")
parser.add_argument("a")
parser.add_argument("b")
parser.add_argument("--bound", type=float, default=1e-5)
opts = parser.parse_args()
bound = opts.bound
A, B = load(opts.a), load(opts.b)
if sorted(A) != sorted(B):
    sys.exit(f"different tensors: {sorted(set(A) ^ set(B))[:5]}")
worst, where, masks = 0.0, "", []
for name in sorted(A):
    (sa, a), (sb, b) = A[name], B[name]
    if sa != sb:
        sys.exit(f"{name}: shape {sa} vs {sb}")
    for x, y in zip(a, b):
        d = abs(x - y) / max(1.0, abs(x))
        if d > worst:
            worst, where = d, name
    if sum((x == 0) != (y == 0) for x, y in zip(a, b)):
        masks.append(name)
print(f"max relative difference {worst:.3g} ({where or '-'}); zero patterns differ in {len(masks)} tensors {masks[:3]}")
sys.exit(1 if worst > bound or masks else 0)
