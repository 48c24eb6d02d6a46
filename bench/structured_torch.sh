#!/usr/bin/env bash
# PyTorch side of the structured-pruning benchmark (BENCHMARKS.md "Structured pruning"), in the same run as
# Shears': for each model and ratio, `shears bench structured --save` (Shears' original vs compacted, timed
# interleaved) then bench/torch_structured.py speed (PyTorch's original, the model of Shears' widths with its
# weights, and Torch-Pruning's own compaction, timed interleaved) at batch 1 and 64, 2 threads. JSON lines on
# stdout for bench/structured_table.py. Needs `swift build -c release` and the test venv (scripts/setup_pyenv.sh: torch, torch-pruning).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/shears}
PY=${PY:-.venv-test/bin/python}
OUT=${OUT:-$(mktemp -d)}
for model in ${MODELS:-resnet20 resnet56 vgg16}; do
  for ratio in ${RATIOS:-0.3 0.5 0.7}; do
    for batch in 1 64; do
      iters=30; [ "$batch" = 64 ] && iters=10
      dir="$OUT/$model-$ratio"
      "$BIN" bench structured --model "$model" --channel-ratio "$ratio" --allocation layerwise --round-to 8 \
        --batch-size "$batch" --iterations "$iters" --threads 2 --save "$dir"
      "$PY" bench/torch_structured.py speed --model "$model" --ratio "$ratio" --round-to 8 --shears-dir "$dir" \
        --batch-size "$batch" --iterations "$iters" --threads 2
    done
  done
done
