#!/usr/bin/env bash
# Structured pruning benchmark (BENCHMARKS.md "Structured pruning"): original vs compacted model in Shears,
# L1 filter norm, layerwise allocation, widths rounded to multiples of 8, at 30/50/70 % of channels removed,
# batch 1 and 64, 2 threads. One JSON line per (model, ratio, batch); the two models are timed interleaved
# inside each line (median of the rounds). Needs `swift build -c release` first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/shears}
for model in resnet20 resnet56 vgg16; do
  for ratio in 0.3 0.5 0.7; do
    for batch in 1 64; do
      iters=30; [ "$batch" = 64 ] && iters=10
      "$BIN" bench structured --model "$model" --channel-ratio "$ratio" --allocation layerwise --round-to 8 \
        --batch-size "$batch" --iterations "$iters" --threads 2
    done
  done
done
