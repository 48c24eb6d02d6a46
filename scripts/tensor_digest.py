#!/usr/bin/env python3
"""Prints one sha256 per safetensors file over its tensors only (name, dtype, shape and bytes, sorted by name),
so that two files holding the same weights compare equal whatever their metadata says. Standard library only."""
import hashlib, json, struct, sys

def digest(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: truncated safetensors file ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        e = header[name]
        a, b = e["data_offsets"]
        h.update(f"{name}|{e['dtype']}|{e['shape']}|".encode())
        h.update(body[a:b])
    return h.hexdigest()

for p in sys.argv[1:]:
    print(digest(p), p)
