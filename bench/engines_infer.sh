#!/usr/bin/env bash
# Issue #16's table: Shears' inference (eager and planned, dense and sparse) against ONNX Runtime (dense) and
# DeepSparse 1.8.0 (sparse) on the same pruned weights, in interleaved rounds on the same machine.
# Per row (model, layerwise magnitude sparsity, batch): `shears bench infer --save-weights` times Shears and writes
# the weights, `shears export --format onnx` exports them, bench/engines_infer.py times both engines on that file.
#
#   bash bench/engines_infer.sh [THREADS] [ROUNDS] [MODELS]     (defaults: 2, 3, "lenet300-100 resnet20 vgg16")
#
# Build first (swift build -c release); the engines' venv comes from bench/setup_deepsparse.sh. Set ENGINES_OUT=FILE
# to keep the JSON lines; bench/engines_table.py prints the table.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS="${1:-2}"
ROUNDS="${2:-3}"
MODELS="${3:-lenet300-100 resnet20 vgg16}"
SHEARS="$ROOT/.build/release/shears"
[ -x "$SHEARS" ] || { echo "engines_infer: build first: swift build -c release" >&2; exit 1; }
bash "$ROOT/bench/setup_deepsparse.sh" >&2
PY="$ROOT/.venv-deepsparse/bin/python"
OUT="${ENGINES_OUT:-$(mktemp)}"
: > "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for round in $(seq "$ROUNDS"); do
    echo "== round $round" >&2
    for m in $MODELS; do
        for s in 0.9 0.98; do
            for b in 1 64; do
                case "$m:$b" in
                    lenet300-100:1) it=2000 ;; lenet300-100:*) it=400 ;; vgg16:64) it=10 ;; *:1) it=200 ;; *) it=20 ;;
                esac
                w="$WORK/$m-$s.safetensors"
                echo "+ $m sparsity $s batch $b" >&2
                "$SHEARS" bench infer --model "$m" --sparsity "$s" --batch-size "$b" --threads "$THREADS" \
                    --iterations "$it" --repetitions 3 --save-weights "$w" 2>/dev/null | grep '^{' \
                    | sed "s/^{/{\"round\":$round,/" >> "$OUT"
                [ -f "$WORK/$m-$s.onnx" ] || "$SHEARS" export "$w" --format onnx --model "$m" --out "$WORK/$m-$s.onnx" >/dev/null
                "$PY" "$ROOT/bench/engines_infer.py" "$WORK/$m-$s.onnx" --model "$m" --sparsity "$s" --batch-size "$b" \
                    --threads "$THREADS" --iterations "$it" 2>/dev/null | sed "s/^{/{\"round\":$round,/" >> "$OUT"
            done
        done
    done
done
python3 "$ROOT/bench/engines_table.py" "$OUT"
