#!/usr/bin/env bash
# docs/interop.md's measurement: a PyTorch-exported ResNet-18 (torchvision layout, random weights, 64×64 input)
# imported by Shears, run (dense and 90 % pruned, `shears bench infer`), exported back to ONNX and checked by
# onnx.checker + ONNX Runtime against PyTorch's own output, and written as compressed-tensors and decompressed
# by the compressed-tensors package bit for bit. Needs .venv-test (scripts/setup_pyenv.sh) and a built shears:
#
#   bash bench/interop_resnet18.sh [SHEARS_BINARY] [OUT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHEARS="${1:-$ROOT/.build/release/shears}"
OUT="${2:-$ROOT/runs/interop-resnet18}"
PY="${SHEARS_TEST_PYTHON:-$ROOT/.venv-test/bin/python}"
mkdir -p "$OUT"
t() { local s; s=$(date +%s.%N); "$@"; echo "  ($(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $*)" >&2; }

echo "== PyTorch export (scripts/make_onnx_fixtures.py resnet18_tv)"
t "$PY" "$ROOT/scripts/make_onnx_fixtures.py" "$OUT" resnet18_tv
echo "== import: the graph's initializers as a state dict"
t "$SHEARS" export "$OUT/resnet18_tv.onnx" --format dense --out "$OUT/r18.safetensors"
echo "== run: dense vs 90 % pruned (layerwise magnitude) on the imported graph"
t "$SHEARS" bench infer --model "onnx:$OUT/resnet18_tv.onnx" --sparsity 0.9 --batch-size 8 --iterations 5 --repetitions 2 --threads 2
echo "== export back to ONNX, checked by onnx.checker and ONNX Runtime against PyTorch's output"
t "$SHEARS" export "$OUT/r18.safetensors" --model "onnx:$OUT/resnet18_tv.onnx" --format onnx --out "$OUT/r18.back.onnx" \
    --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225
t "$PY" "$ROOT/scripts/interop_peer.py" onnx "$OUT/r18.back.onnx" "$OUT/resnet18_tv.io.safetensors" "$OUT/r18.ort.safetensors" \
    | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("opset", r["opset"], "input", r["input"], "metadata", r["metadata"])'
"$PY" - "$OUT" <<'PY'
import sys
from safetensors.numpy import load_file
out = sys.argv[1]
ref = load_file(f"{out}/resnet18_tv.io.safetensors")["output"]
ort = load_file(f"{out}/r18.ort.safetensors")["output"]
diff = abs(ref - ort).max()
print(f"max |ONNX Runtime(Shears' export) - PyTorch| = {diff:.3g} over {ref.size} logits")
sys.exit(0 if diff <= 1e-4 * max(1.0, abs(ref).max()) else 1)
PY
echo "== compressed-tensors, decompressed by the package"
t "$SHEARS" export "$OUT/r18.safetensors" --format compressed-tensors --out "$OUT/r18.ct.safetensors"
t "$PY" "$ROOT/scripts/interop_peer.py" decompress "$OUT/r18.ct.safetensors" "$OUT/r18.safetensors"

echo "== train one epoch on a folder dataset (synthetic PNGs, 10 classes × 12), prune, export, check"
"$PY" - "$OUT/folder" <<'PY'
import os, struct, sys, zlib
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(0)
def png(path, img):
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for c in range(10):
    os.makedirs(f"{root}/class{c}", exist_ok=True)
    base = rng.integers(0, 256, 3)
    for i in range(12):
        img = np.clip(base + rng.normal(0, 40, (64, 64, 3)), 0, 255).astype(np.uint8)
        png(f"{root}/class{c}/{i}.png", img)
print(f"{root}: 10 classes × 12 PNGs, 64×64")
PY
t "$SHEARS" train --model "onnx:$OUT/resnet18_tv.onnx" --dataset folder --data-dir "$OUT/folder" --image-size 64 \
    --epochs 1 --batch-size 16 --lr 0.01 --validation 20 --threads 2 --out "$OUT/train" | tail -3
t "$SHEARS" prune iterative --model "onnx:$OUT/resnet18_tv.onnx" --dataset folder --data-dir "$OUT/folder" --image-size 64 \
    --init "$OUT/train/model.safetensors" --epochs 1 --batch-size 16 --lr 0.01 --cycles 1 --rate 0.8 --threads 2 --out "$OUT/prune" | tail -3
PRUNED="$OUT/prune/run_0/model.safetensors"
t "$SHEARS" export "$PRUNED" --model "onnx:$OUT/resnet18_tv.onnx" --format onnx --out "$OUT/r18.pruned.onnx"
t "$PY" "$ROOT/scripts/interop_peer.py" onnx "$OUT/r18.pruned.onnx" "$OUT/resnet18_tv.io.safetensors" "$OUT/r18.pruned.ort.safetensors" \
    | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("ONNX Runtime ran the pruned export: opset", r["opset"], "metadata", r["metadata"])'
t "$SHEARS" export "$PRUNED" --format compressed-tensors --out "$OUT/r18.pruned.ct.safetensors"
t "$PY" "$ROOT/scripts/interop_peer.py" decompress "$OUT/r18.pruned.ct.safetensors" "$PRUNED"
