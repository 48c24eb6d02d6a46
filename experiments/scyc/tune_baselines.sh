#!/usr/bin/env bash
# Phase 1 of the LeNet-300-100 S-Cyc comparison: tune each baseline schedule on the UNPRUNED network
# (cycle 0 only, seed 0), as the paper tunes its baselines (spec §1.5). Shortened cycle: 1400 iterations
# (2 epochs of the pooled 42k-image train split at batch 60), evaluation every 350 iterations.
# Warmup shape = the paper's ResNet-20 recipe scaled from 63K to 1400 iterations: ramp 440, drops at 440, 560.
# Cyclical: half period 175 (4 triangles per cycle, like 8K in 63K).
set -euo pipefail
cd "$(dirname "$0")/../.."
S=.build/release/shears
ROOT=${ROOT:-runs/scyc-lenet/tune}
COMMON=(--model lenet300-100 --iterations 1400 --eval-every 350it --batch-size 60 --momentum 0.9
        --weight-decay 1e-4 --cycles 0 --seed 0 --runs-root "$ROOT")
for lr in 0.005 0.01 0.02 0.05 0.1; do $S prune iterative --split pooled "${COMMON[@]}" --lr-schedule constant --lr $lr --out $ROOT/constant_$lr >/dev/null; done
for lr in 0.01 0.02 0.05 0.1 0.2; do $S prune iterative --split pooled "${COMMON[@]}" --lr-schedule linear-decay --lr $lr --out $ROOT/linear-decay_$lr >/dev/null; done
for up in 0.02 0.05 0.1 0.2; do $S prune iterative --split pooled "${COMMON[@]}" --lr-schedule cyclical --cyclic-lower 0 --cyclic-upper $up --cyclic-step 175 --out $ROOT/cyclical_$up >/dev/null; done
for pk in 0.02 0.05 0.1 0.2 0.4; do $S prune iterative --split pooled "${COMMON[@]}" --lr-schedule warmup --peak $pk --warmup 440 --drops 440,560 --out $ROOT/warmup_$pk >/dev/null; done
# Summary: name, best validation accuracy, test accuracy at the best validation (all on cycle 0).
for d in "$ROOT"/*/; do
  python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]+"/run_0/cycles.jsonl").readline()); print(sys.argv[2], r["best_validation_accuracy"], r["test_accuracy_at_best_validation"], sep="\t")' "$d" "$(basename "$d")"
done | sort
