#!/usr/bin/env bash
# Issue #15's check that the engines users deploy with run Shears' ONNX export with Shears' predictions: a pruned
# LeNet-300-100 (MNIST) and a pruned ResNet-20 (CIFAR-shaped images from an .npz this script writes), each
#   trained briefly → pruned to 90 % (layerwise magnitude) and fine-tuned → `shears export --format onnx`
#   → `shears eval --io-out` (Shears' logits on 1,000 test examples) → bench/engines_check.py: ONNX Runtime and
#   DeepSparse 1.8.0 on the same inputs, logits within 1e-4 × max(1, max |logit|), no top-1 flip beyond near-ties.
# Speed is not measured here (see bench/infer.sh).
#
#   bash bench/engines_check.sh [SHEARS_BINARY] [OUT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
B="${1:-$ROOT/.build/release/shears}"
OUT="${2:-$ROOT/runs/engines-check}"
THREADS=${THREADS:-2}
[ -x "$B" ] || { echo "engines_check: no shears binary at $B (swift build -c release)" >&2; exit 1; }
bash "$ROOT/bench/setup_deepsparse.sh"
PY="$ROOT/.venv-deepsparse/bin/python"
mkdir -p "$OUT"
RUN=(--threads "$THREADS")

check() {   # name model data-flags…: train, prune, export, eval, compare
    local name=$1 model=$2; shift 2
    local d="$OUT/$name"
    mkdir -p "$d"
    echo "== $name: train, prune 90 % (layerwise magnitude), fine-tune"
    "$B" train --model "$model" "$@" --epochs 1 "${RUN[@]}" --out "$d/dense" | tail -n 1
    "$B" prune oneshot --from "$d/dense" --sparsity 0.9 --allocation layerwise --criterion magnitude --finetune-epochs 1 \
        "${RUN[@]}" --out "$d/pruned" | tail -n 1
    echo "== $name: export to ONNX, Shears' logits on the first 1,000 test examples"
    "$B" export "$d/pruned/model.safetensors" --model "$model" --format onnx --out "$d/model.onnx" | tail -n 1
    "$B" eval "$d/pruned" --io-out "$d/io.safetensors" --io-examples 1000 "${RUN[@]}" | tail -n 2
    echo "== $name: ONNX Runtime and DeepSparse on the same inputs"
    "$PY" "$ROOT/bench/engines_check.py" "$d/model.onnx" "$d/io.safetensors"
}

check lenet300-100 lenet300-100 --dataset mnist

# CIFAR-shaped data: 10 classes, each a fixed random colour pattern plus noise, 32×32×3 uint8 (NHWC, as CIFAR's
# Python pickles and most .npz files hold it).
"$PY" - "$OUT/cifar-like.npz" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
patterns = rng.uniform(40, 215, size=(10, 32, 32, 3))
def split(n):
    y = rng.integers(0, 10, size=n)
    x = np.clip(patterns[y] + rng.normal(0, 40, size=(n, 32, 32, 3)), 0, 255).astype(np.uint8)
    return x, y.astype(np.int64)
x_train, y_train = split(6000)
x_test, y_test = split(1000)
np.savez(sys.argv[1], x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
PY
check resnet20 resnet20 --dataset npz --data-path "$OUT/cifar-like.npz" --validation 1000
echo "engines_check: PASS (ONNX Runtime and DeepSparse agree with Shears on both models)"
