#!/usr/bin/env bash
# Prune + fine-tune wall time, Shears against Torch-Pruning + PyTorch (BENCHMARKS.md "Structured pruning"): the same
# random CIFAR-shaped data (an .npz of N_TRAIN + N_TEST images 3×32×32, 10 classes), L1, RATIO of every group's
# channels removed, widths rounded to 8, EPOCHS of SGD (0.01, momentum 0.9, batch 64), 2 threads. Each side's time
# runs from its data in memory to its last evaluation (process start-up and data loading excluded); Shears' also
# includes an evaluation of the masked model and the masked-vs-compacted check. One JSON line per tool.
# Needs `swift build -c release` and the test venv (scripts/setup_pyenv.sh: torch, torch-pruning).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/shears}
PY=${PY:-.venv-test/bin/python}
MODEL=${MODEL:-resnet20}; RATIO=${RATIO:-0.5}; EPOCHS=${EPOCHS:-1}; N_TRAIN=${N_TRAIN:-10000}; N_TEST=${N_TEST:-2000}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
"$PY" - "$OUT/data.npz" "$N_TRAIN" "$N_TEST" <<'PY'
import sys, numpy as np
path, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = np.random.default_rng(0)
np.savez(path, x_train=r.standard_normal((n, 3, 32, 32), dtype=np.float32), y_train=r.integers(0, 10, n).astype(np.int64),
         x_test=r.standard_normal((m, 3, 32, 32), dtype=np.float32), y_test=r.integers(0, 10, m).astype(np.int64))
PY
"$BIN" prune structured --model "$MODEL" --dataset npz --data-path "$OUT/data.npz" --validation 0 --criterion l1 \
  --channel-ratio "$RATIO" --allocation layerwise --round-to 8 --finetune-epochs "$EPOCHS" --batch-size 64 --lr 0.01 \
  --momentum 0.9 --threads 2 --out "$OUT/shears" >&2
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({"framework": "shears", "model": s["config"]["training"]["model"], "seconds": s["seconds"], "finetune_iterations": s["finetuneIterations"], "test_accuracy_before": s["before"]["testAccuracy"], "test_accuracy_after": s["after"]["testAccuracy"], "widths": s["after"]["widths"]}, sort_keys=True))' "$OUT/shears/summary.json"
"$PY" bench/torch_structured.py finetune --model "$MODEL" --ratio "$RATIO" --round-to 8 --epochs "$EPOCHS" \
  --batch-size 64 --threads 2 --npz "$OUT/data.npz"
