#!/usr/bin/env bash
# Sparse training against dense-masked training and against SparseProp, in interleaved rounds on this machine:
# `shears bench train --sparsity s` and bench/sparseprop_train.py on the same models, batch sizes and sparsities
# (layerwise magnitude on the seeded init, fixed mask). Prints every JSON line, then the table for BENCHMARKS.md.
# Usage: bash bench/sparse_train.sh [THREADS] [ROUNDS]
#   (build first: swift build -c release; SparseProp: bash bench/setup_sparseprop.sh — without it, Shears alone)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
ROUNDS="${2:-3}"
OUT="$(mktemp)"
SHEARS=.build/release/shears
[ -x "$SHEARS" ] || { echo "bench: build first: swift build -c release" >&2; exit 1; }
PY="${SPARSEPROP_PYTHON:-bench/.venv/bin/python}"
if ! [ -x "$PY" ] || ! "$PY" -c "import torch; from sparseprop import backend" 2>/dev/null; then
    echo "bench: no SparseProp (bash bench/setup_sparseprop.sh); measuring Shears alone" >&2
    PY=""
fi

run() { echo "+ $*" >&2; "$@" | tail -n 1 | tee -a "$OUT"; }
# model batch steps-per-round (each run is a handful of seconds per side)
ROWS=("mlp 60 300" "resnet20 128 3" "vgg16 64 2")
for round in $(seq "$ROUNDS"); do
    for row in "${ROWS[@]}"; do
        set -- $row
        for s in 0.9 0.98; do
            run "$SHEARS" bench train --model "$1" --batch-size "$2" --steps "$3" --warmup 2 --rounds 1 \
                --sparsity "$s" --threads "$THREADS"
            [ -z "$PY" ] || run "$PY" bench/sparseprop_train.py --model "$1" --batch-size "$2" --steps "$3" --warmup 2 \
                --rounds 1 --sparsity "$s" --threads "$THREADS"
        done
    done
done
run "$SHEARS" bench train --model resnet20 --batch-size 128 --steps 3 --warmup 1 --threads "$THREADS" --conv-stats
python3 bench/sparse_train_table.py "$OUT"
