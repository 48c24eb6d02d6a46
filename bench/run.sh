#!/usr/bin/env bash
# Measures Shears and the PyTorch peer in one run on this machine and prints the BENCHMARKS.md table.
# Usage: bash bench/run.sh [THREADS]   (build first: swift build -c release; torch: bash bench/setup_torch.sh)
# Environment: TORCH_PYTHONS="python-a python-b" picks the PyTorch interpreters to compare (default: every
# one of bench/.venv/bin/python and /usr/bin/python3 that can import torch).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
OUT="$(mktemp)"
SHEARS=.build/release/shears
[ -x "$SHEARS" ] || { echo "bench: build first: swift build -c release" >&2; exit 1; }

if [ -z "${TORCH_PYTHONS:-}" ]; then
    TORCH_PYTHONS=""
    for py in bench/.venv/bin/python /usr/bin/python3; do
        [ -x "$py" ] && "$py" -c "import torch" 2>/dev/null && TORCH_PYTHONS="$TORCH_PYTHONS $py"
    done
fi
[ -n "$TORCH_PYTHONS" ] || echo "bench: no PyTorch found (bash bench/setup_torch.sh); measuring Shears alone" >&2

run() { echo "+ $*" >&2; "$@" | tail -n 1 | tee -a "$OUT"; }
for round in 1 2 3; do   # interleaved rounds so that a noisy neighbour hits both sides alike
    run "$SHEARS" bench train --model mlp --batch-size 60 --steps 1000 --warmup 50 --threads "$THREADS"
    run "$SHEARS" bench train --model resnet20 --batch-size 128 --steps 15 --warmup 3 --threads "$THREADS"
    for py in $TORCH_PYTHONS; do
        run "$py" bench/torch_train.py --model mlp --batch-size 60 --steps 1000 --warmup 50 --threads "$THREADS"
        run "$py" bench/torch_train.py --model resnet20 --batch-size 128 --steps 15 --warmup 3 --threads "$THREADS"
    done
done
run "$SHEARS" bench train --model resnet20 --batch-size 128 --steps 10 --warmup 2 --threads "$THREADS" --conv-stats
python3 bench/table.py "$OUT"
