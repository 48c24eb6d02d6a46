#!/usr/bin/env bash
# Dense vs sparse inference (issue #7): Shears' dense and sparse kernels on the same pruned weights, with
# PyTorch's dense inference measured in the same run, in interleaved rounds; prints the tables of
# bench/INFER_RESULTS.md. Usage: bash bench/infer.sh [THREADS] [ROUNDS]
# (build first: swift build -c release; PyTorch: bash bench/setup_torch.sh, or TORCH_PYTHON=/path/to/python).
# Set INFER_OUT=FILE to keep the JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
ROUNDS="${2:-3}"
OUT="${INFER_OUT:-$(mktemp)}"
: > "$OUT"
SHEARS=.build/release/shears
[ -x "$SHEARS" ] || { echo "infer: build first: swift build -c release" >&2; exit 1; }
PY="${TORCH_PYTHON:-}"
if [ -z "$PY" ]; then
    for py in bench/.venv/bin/python /usr/bin/python3; do
        if [ -x "$py" ] && "$py" -c "import torch" 2>/dev/null; then PY="$py"; break; fi
    done
fi
[ -n "$PY" ] || echo "infer: no PyTorch found (bash bench/setup_torch.sh); measuring Shears alone" >&2

# Runs a command, keeps its JSON lines (tagged with $TAG when set), shows the command on stderr.
run() {
    echo "+ $*" >&2
    "$@" 2>/dev/null | grep '^{' | { if [ -n "${TAG:-}" ]; then sed "s/^{/{\"tag\":\"$TAG\",/"; else cat; fi; } | tee -a "$OUT" >/dev/null
}
torch() { [ -z "$PY" ] || run "$PY" bench/torch_infer.py "$@"; }

for round in $(seq "$ROUNDS"); do
    echo "== round $round" >&2
    for b in 1 64; do
        iters=$([ "$b" = 1 ] && echo 400 || echo 100)
        for s in 0.9 0.98; do
            run "$SHEARS" bench infer --model lenet300-100 --sparsity "$s" --batch-size "$b" --threads "$THREADS" --iterations "$iters"
        done
        torch --model lenet300-100 --sparsity 0.9 --batch-size "$b" --threads "$THREADS" --iterations "$iters"
        for m in resnet20 vgg16; do
            iters=$([ "$b" = 1 ] && echo 40 || echo 10)
            for s in 0.9 0.98; do   # the whole model: prepare picks sparse or dense per layer
                run "$SHEARS" bench infer --model "$m" --sparsity "$s" --batch-size "$b" --threads "$THREADS" \
                    --iterations "$iters" --repetitions 3
            done
            torch --model "$m" --sparsity 0.9 --batch-size "$b" --threads "$THREADS" --iterations "$iters"
            for s in 0.9 0.98; do
                run "$SHEARS" bench infer --model "$m" --sparsity "$s" --batch-size "$b" --threads "$THREADS" \
                    --conv-layers --iterations "$iters" --repetitions 3
            done
            torch --model "$m" --sparsity 0.9 --batch-size "$b" --threads "$THREADS" --conv-layers --iterations "$iters"
        done
    done
done

# Crossover sweep: where sparse starts to beat dense, for a few layer shapes (one round).
TAG=sweep
for spec in "lenet300-100 fc1.weight" "resnet20 layer1.0.conv1.weight" "resnet20 layer3.0.conv2.weight" "vgg16 features.10.weight"; do
    set -- $spec
    for b in 1 64; do
        for s in 0.5 0.7 0.8 0.9 0.95 0.98 0.99; do
            run "$SHEARS" bench infer --model "$1" --sparsity "$s" --batch-size "$b" --threads "$THREADS" \
                --layer "$2" --iterations 10 --repetitions 3
        done
    done
done
python3 bench/infer_table.py "$OUT"
