#!/usr/bin/env bash
# Longer-trained end points for the loss-landscape analyses (issue #5; results in docs/grda.md).
# 1. The straight segment between each 3-epoch gRDA network and SGD (connectivity with an untrained middle bend:
#    --epochs 0 --grid 0), to tell a barrier on the line from one removed by curve training.
# 2. LeNet-300-100, 15 epochs (12,900 steps of batch 64) at lr 0.1, c = 0.005, μ = 0.55 and 0.7 (SGD baseline shared), a
#    snapshot every epoch; connectivity gRDA ↔ SGD (20-epoch curve, lr 0.01, momentum 0.9, 61 points, 21×21 plane)
#    and eq. 13 at every epoch (top-10 Hessian eigenvectors at the SGD snapshot, 1,000 training images).
# Re-running resumes / skips finished work. Build first: swift build -c release --product shears
set -euo pipefail
cd "$(dirname "$0")/../.."
SHEARS=${SHEARS:-.build/release/shears}
THREADS=${THREADS:-2}
for mu in 0.51 0.55 0.6 0.7; do
  "$SHEARS" analyze connectivity "runs/grda/lenet_mu$mu/grda" runs/grda/lenet_mu0.51/sgd --epochs 0 --grid 0 --points 61 \
    --train-examples 10000 --threads "$THREADS" --out "runs/grda/line_lenet_mu$mu" | tail -n 1
done
LONG=(--model lenet300-100 --dataset mnist --epochs 15 --batch-size 64 --lr 0.1 --c 0.005 --eval-every 1ep
      --snapshot-every 1ep --no-gmp --threads "$THREADS")
"$SHEARS" prune grda "${LONG[@]}" --mu 0.55 --out runs/grda/long_mu0.55 | tail -n 5
"$SHEARS" prune grda "${LONG[@]}" --mu 0.7 --no-baseline --out runs/grda/long_mu0.7 | tail -n 4
for mu in 0.55 0.7; do
  "$SHEARS" analyze connectivity "runs/grda/long_mu$mu/grda" runs/grda/long_mu0.55/sgd --epochs 20 --lr 0.01 --momentum 0.9 \
    --batch-size 128 --points 61 --grid 21 --train-examples 10000 --threads "$THREADS" \
    --out "runs/grda/connectivity_long_mu$mu" | tail -n 1
  "$SHEARS" analyze connectivity "runs/grda/long_mu$mu/grda" runs/grda/long_mu0.55/sgd --epochs 0 --grid 0 --points 61 \
    --train-examples 10000 --threads "$THREADS" --out "runs/grda/line_long_mu$mu" | tail -n 1
  "$SHEARS" analyze projection runs/grda/long_mu0.55/sgd "runs/grda/long_mu$mu/grda" --along --k 10 --examples 1000 \
    --batch-size 500 --lanczos-steps 60 --threads "$THREADS" | grep -E "‖Δ‖|→"
done
