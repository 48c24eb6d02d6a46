#!/usr/bin/env bash
# APP vs Anytime OSP vs the dense baseline on MNIST (LeNet-300-100), |S_B| = 8 and 30, τ = 4.5.
# Results: docs/app.md. Runs go to runs/app/ (gitignored); re-running resumes or finds finished runs.
# SBS="8" or SBS="30" runs one setting (the two can run side by side); SEEDS="0 1 2" picks the seeds.
#
# Sized for a busy 2-core machine (--threads 1): |S_B| = 8 on a 12,000-example pool (|M| = 1500: 1350 train /
# 150 validation), |S_B| = 30 on a 3,000-example pool (|M| = 100: 90 / 10, the size of the paper's few-shot
# Table 1 rows); 3 epochs per megabatch, cyclic LR 0.05 → 0.005 at epoch 2, SGD momentum 0.9, weight decay 1e-4,
# batch 64, the full 10,000-image MNIST test set after every megabatch. One seed of one setting takes ≈ 15 minutes
# of one core. Results depend on --threads (reduction order), so keep it at 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHEARS=${SHEARS:-.build/release/shears}
[ -x "$SHEARS" ] || swift build -c release --product shears
OUT=runs/app
COMMON=(--epochs 3 --milestones 2ep --lr 0.05 --momentum 0.9 --weight-decay 1e-4 --batch-size 64 --tau 4.5 --threads 1)

for SB in ${SBS:-8 30}; do
  if [ "$SB" = 8 ]; then POOL=12000; else POOL=3000; fi
  RUNS=()
  for SEED in ${SEEDS:-0 1 2}; do
    A=("${COMMON[@]}" --megabatches "$SB" --pool-size "$POOL" --seed "$SEED")
    D="$OUT/sb$SB-s$SEED"
    nice -n 10 "$SHEARS" anytime --pruner none       "${A[@]}" --out "$D-dense"
    nice -n 10 "$SHEARS" anytime --pruner snip --osp "${A[@]}" --out "$D-osp"
    for P in snip magnitude random; do
      nice -n 10 "$SHEARS" anytime --pruner "$P"     "${A[@]}" --out "$D-app-$P"
    done
    RUNS+=("Baseline=$D-dense" "Anytime OSP=$D-osp" "APP (SNIP)=$D-app-snip" "APP (Magnitude)=$D-app-magnitude"
           "APP (Random)=$D-app-random")
    if [ "$SB" = 8 ]; then
      # The authors' mask update (spec §1.4): the real density collapses below 0.8^τ.
      nice -n 10 "$SHEARS" anytime --pruner snip --mask-update code-faithful "${A[@]}" --out "$D-app-snip-code"
      RUNS+=("APP (SNIP, code's mask update)=$D-app-snip-code")
    fi
  done
  nice -n 10 "$SHEARS" anytime compare --title "MNIST |S_B|=$SB" "${RUNS[@]}" --markdown "$OUT/sb$SB.md" --svg "docs/app/mnist-sb$SB"
  cat "$OUT/sb$SB.md"
done
