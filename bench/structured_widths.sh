#!/usr/bin/env bash
# Shears' channel selection against Torch-Pruning's (DepGraph) on the same weights (BENCHMARKS.md "Structured
# pruning", issue #14): `shears bench structured --save` writes the seeded original and its compaction (L1 filter
# norm, layerwise); bench/torch_structured.py widths prunes that original with Torch-Pruning under the same
# criterion (L1 of every producing filter of a group, summed) and compares every compacted tensor. One JSON line per
# (model, ratio, round-to). Needs a shears binary (BIN) and the test venv of scripts/setup_pyenv.sh (PY).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/shears}
PY=${PY:-.venv-test/bin/python}
OUT=${OUT:-$(mktemp -d)}
for model in resnet20 resnet56 vgg16; do
  for setting in "0.3 8" "0.5 8" "0.7 8" "0.25 1" "0.75 1"; do
    set -- $setting
    dir="$OUT/$model-$1-$2"
    "$BIN" bench structured --model "$model" --channel-ratio "$1" --allocation layerwise --round-to "$2" \
      --iterations 1 --threads 2 --save "$dir" > /dev/null
    "$PY" bench/torch_structured.py widths --model "$model" --ratio "$1" --round-to "$2" --shears-dir "$dir"
  done
done
