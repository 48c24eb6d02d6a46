#!/usr/bin/env bash
# The main job (`make demo`): the whole journey on the MNIST embedded in Data/mnist, no download —
#   train + iterative magnitude pruning with rewinding to ~5 % of the weights (S-Cyc's protocol, official split)
#   → export the sparse model (bitmask) → evaluate the exported file → time dense vs sparse inference
#   → write the report — and one table at the end. Re-running resumes (or reports) every step.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${SHEARS:-.build/release/shears}
OUT=${1:-runs/journey}
THREADS=${THREADS:-2}
start=$(date +%s)
mkdir -p "$OUT"

# 1. Train the dense network (cycle 0) and prune 45 % of the remaining weights five times, rewinding to iteration 500.
"$B" prune iterative --model lenet300-100 --dataset mnist --split official --epochs 4 --batch-size 60 --lr 0.05 \
    --momentum 0.9 --cycles 5 --rate 0.45 --retrain rewind:500 --threads "$THREADS" --out "$OUT/imp"
dense="$OUT/imp/run_0/cycle_0/model.safetensors"
sparse="$OUT/imp/run_0/cycle_5/model.safetensors"

# 2. Export the last level without its zeros, 3. evaluate the exported file, 4. time it dense and sparse.
"$B" export "$sparse" --format bitmask --out "$OUT/lenet-sparse.bitmask.safetensors" > "$OUT/export.txt"
"$B" eval "$OUT/lenet-sparse.bitmask.safetensors" --model lenet300-100 --dataset mnist --split official \
    --threads "$THREADS" > "$OUT/eval.txt"
"$B" bench infer --model lenet300-100 --weights "$sparse" --sparsity 0 --batch-size 1 --threads "$THREADS" > "$OUT/bench.json"

# 5. The report of the run.
"$B" report "$OUT/imp" --out "$OUT/report" > /dev/null

python3 - "$OUT" "$dense" "$sparse" "$(( $(date +%s) - start ))" <<'PY'
import json, os, re, sys
out, dense, sparse, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cycles = [json.loads(l) for l in open(f"{out}/imp/run_0/cycles.jsonl") if l.strip()]
c0, cL = cycles[0], cycles[-1]
ev = open(f"{out}/eval.txt").read()
exported = float(re.search(r"test: accuracy ([0-9.]+)%", ev).group(1))
bench = json.loads(open(f"{out}/bench.json").read().strip().splitlines()[-1])
def kb(p): return os.path.getsize(p) / 1024
def img(key): return next((v for k, v in bench.items() if k.startswith(key) and isinstance(v, (int, float))), float("nan"))
rows = [
    ("test accuracy, official MNIST test set (%)", f"{100 * c0['final_test_accuracy']:.2f}", f"{100 * cL['final_test_accuracy']:.2f} (exported file: {exported:.2f})"),
    ("weights remaining (% of prunable)", f"{c0['percent_remaining']:.1f}", f"{cL['percent_remaining']:.1f}"),
    ("file size (KiB)", f"{kb(dense):.0f} (dense)", f"{kb(out + '/lenet-sparse.bitmask.safetensors'):.0f} (bitmask)"),
    ("inference, batch 1 (img/s)", f"{img('dense'):,.0f} (dense kernels)", f"{img('sparse'):,.0f} (sparse kernels)"),
]
w = max(len(r[0]) for r in rows)
print(f"\n{'':{w}} | {'dense (cycle 0)':>28} | {'pruned (cycle ' + str(cL['cycle']) + ')':>36}")
print("-" * (w + 70))
for r in rows: print(f"{r[0]:{w}} | {r[1]:>28} | {r[2]:>36}")
print(f"\nreport: {os.path.abspath(out)}/report/report.html   ({seconds} s for the whole journey)")
PY
