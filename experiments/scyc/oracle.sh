#!/usr/bin/env bash
# Phase 2: the max_lr oracle (Table 3's layout) for LeNet-300-100, global magnitude, LR rewinding, on the same
# shortened cycle as tune_baselines.sh. S-Cyc's column uses parameters fixed BEFORE this run: l_min = 0.05 (the
# tuned LR-warmup-1 peak of the unpruned net, as the paper sets l_min), l_amp = 0.05, q = 1, β = 5.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-runs/scyc-lenet}
.build/release/shears prune oracle --split pooled --model lenet300-100 --iterations 1400 --eval-every 350it --batch-size 60 \
  --momentum 0.9 --weight-decay 1e-4 --seed 0 --criterion magnitude --cycles 18 \
  --warmup 440 --drops 440,560 --l-min 0.05 --l-amp 0.05 --q 1 --beta 5 \
  --grid 0.02,0.03,0.05,0.07,0.1,0.14,0.2 --out "$ROOT/oracle-magnitude" "$@"
