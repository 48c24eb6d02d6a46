#!/usr/bin/env bash
# Phase 3: LeNet-300-100 on MNIST, global magnitude and global gradient (|w·∂L/∂w| over 10 batches), p = 0.2,
# 18 pruning steps (19 trainings, down to 0.8^18 = 1.80 % of the prunable weights), LR rewinding, 3 runs each
# (seeds 0, 1, 2; each run its own pooled 60/20/20 split), SGD momentum 0.9, weight decay 1e-4, batch 60.
# Shortened: 1400 iterations (2 epochs) per cycle instead of the paper's 63K, so that the 36 runs × 19 cycles fit in
# about an hour on 2 cores. Peaks come from tune_baselines.sh (unpruned network) and oracle.sh (LR-warmup-2).
# Usage: compare.sh WARMUP2_PEAK
set -euo pipefail
cd "$(dirname "$0")/../.."
W2=${1:?usage: compare.sh WARMUP2_PEAK}
ROOT=${ROOT:-runs/scyc-lenet/compare}
S=.build/release/shears
WARM=(--warmup 440 --drops 440,560)
for crit in magnitude gradient; do
  COMMON=(--model lenet300-100 --iterations 1400 --eval-every 350it --batch-size 60 --momentum 0.9 --weight-decay 1e-4
          --seed 0 --runs 3 --cycles 18 --rate 0.2 --criterion $crit --gradient-batches 10 --retrain lr-rewind)
  $S prune iterative "${COMMON[@]}" --lr-schedule constant --lr 0.02 --out $ROOT/$crit/constant
  $S prune iterative "${COMMON[@]}" --lr-schedule linear-decay --lr 0.05 --out $ROOT/$crit/linear-decay
  $S prune iterative "${COMMON[@]}" --lr-schedule cyclical --cyclic-lower 0 --cyclic-upper 0.05 --cyclic-step 175 --out $ROOT/$crit/cyclical
  $S prune iterative "${COMMON[@]}" --lr-schedule warmup --peak 0.05 "${WARM[@]}" --out $ROOT/$crit/warmup-1
  $S prune iterative "${COMMON[@]}" --lr-schedule warmup --peak $W2 "${WARM[@]}" --out $ROOT/$crit/warmup-2
  $S prune iterative "${COMMON[@]}" --lr-schedule scyc --l-min 0.05 --l-amp 0.05 --q 1 --beta 5 "${WARM[@]}" --out $ROOT/$crit/scyc
  $S prune compare $ROOT/$crit/{constant,linear-decay,cyclical,warmup-1,warmup-2,scyc} \
     --title "LeNet-300-100, MNIST, global $crit, LR rewinding (3 runs, 1400 it/cycle)" \
     --markdown $ROOT/$crit.md --svg $ROOT/$crit.svg
done
