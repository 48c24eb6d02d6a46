#!/usr/bin/env bash
# Issue #17's end-to-end figure: `shears prune iterative` on LeNet-300-100 (MNIST, official split), CYCLES cycles at
# p = 0.2 with rewinding, once with --sparse-kernels off and once with auto, ROUNDS interleaved rounds (off, auto,
# off, auto, …; each round in fresh directories). Prints each run's wall time and the per-cycle test accuracy at best
# validation of both, and the auto ÷ off time ratio per round.
#   bash bench/sparse_imp.sh [CYCLES=20] [ROUNDS=2] [EPOCHS=1] [THREADS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-20}; ROUNDS=${2:-2}; EPOCHS=${3:-1}; THREADS=${4:-2}
B=${SHEARS:-.build/release/shears}
[ -x "$B" ] || { echo "sparse_imp.sh: build first (swift build -c release)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ARGS=(prune iterative --model lenet300-100 --cycles "$CYCLES" --rate 0.2 --retrain rewind:50 --epochs "$EPOCHS" --threads "$THREADS")
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; blas: $("$B" bench infer --model lenet300-100 --sparsity 0 --iterations 1 --repetitions 1 --threads 1 2>/dev/null | sed -n 's/.*"blas":"\([^"]*\)".*/\1/p')"
for r in $(seq 1 "$ROUNDS"); do
    declare -A secs
    for mode in off auto; do
        t0=$(date +%s.%N)
        "$B" "${ARGS[@]}" --sparse-kernels "$mode" --out "$work/r$r-$mode" > "$work/r$r-$mode.log"
        secs[$mode]=$(python3 -c "import sys; print(f'{$(date +%s.%N) - $t0:.1f}')")
        echo "round $r $mode: ${secs[$mode]} s"
    done
    python3 -c "print(f'round $r: auto / off = {${secs[auto]} / ${secs[off]}:.3f}')"
done
python3 - "$work" "$ROUNDS" <<'PY'
import json, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def cycles(d):
    return [json.loads(l) for l in open(f"{d}/run_0/cycles.jsonl") if l.strip()]
print("| cycle | % remaining | " + " | ".join(f"off r{r} | auto r{r}" for r in range(1, rounds + 1)) + " |")
print("|---:|---:|" + "---:|---:|" * rounds)
runs = [(cycles(f"{work}/r{r}-off"), cycles(f"{work}/r{r}-auto")) for r in range(1, rounds + 1)]
for i, c in enumerate(runs[0][0]):
    cells = []
    for off, auto in runs:
        cells += [f"{100 * off[i]['test_accuracy_at_best_validation']:.2f}", f"{100 * auto[i]['test_accuracy_at_best_validation']:.2f}"]
    print(f"| {c['cycle']} | {c['percent_remaining']:.2f} | " + " | ".join(cells) + " |")
PY
