#!/usr/bin/env bash
# Mode connectivity and the projection along training on the embedded MNIST (issue #5; results in docs/grda.md).
# Needs the runs of experiments/grda/reproduce.sh (LeNet-300-100, 3 epochs, lr 0.1, c = 0.005, μ ∈ {0.51, 0.55, 0.6,
# 0.7}; the SGD baseline lives in runs/grda/lenet_mu0.51/sgd and shares init and minibatch order with every gRDA run).
#
# 1. Connectivity gRDA (t = 0) ↔ SGD (t = 1) for each μ: the middle bend trained 20 epochs (batch 128, lr 0.01,
#    momentum 0.9 — plain SGD's 0.1 with momentum 0.9 in effective step size; the CIFAR per-epoch rule), 61 points
#    along the curve, a 21×21 plane grid; train loss on the first 10,000 training images (also used to recompute
#    batch-norm statistics, which LeNet does not have), test error on all 10,000 test images.
# 2. Eq. 13 along training: gRDA μ = 0.55 and SGD retrained with a snapshot every 215 iterations (half an epoch), the
#    top-10 Hessian eigenvectors at each SGD snapshot (1,000 training images, Lanczos ≤ 60 steps).
# Re-running resumes / skips finished work. Build first: swift build -c release --product shears
set -euo pipefail
cd "$(dirname "$0")/../.."
SHEARS=${SHEARS:-.build/release/shears}
THREADS=${THREADS:-2}
for mu in 0.51 0.55 0.6 0.7; do
  "$SHEARS" analyze connectivity "runs/grda/lenet_mu$mu/grda" runs/grda/lenet_mu0.51/sgd --epochs 20 --lr 0.01 \
    --momentum 0.9 --batch-size 128 --points 61 --grid 21 --train-examples 10000 --threads "$THREADS" \
    --out "runs/grda/connectivity_lenet_mu$mu" | grep -v "^plane (" | tail -n 4
done
"$SHEARS" prune grda --model lenet300-100 --dataset mnist --epochs 3 --batch-size 64 --lr 0.1 --c 0.005 --mu 0.55 \
  --eval-every 430it --snapshot-every 215it --no-gmp --threads "$THREADS" --out runs/grda/lenet_mu0.55_snapshots | tail -n 4
"$SHEARS" analyze projection runs/grda/lenet_mu0.55_snapshots/sgd runs/grda/lenet_mu0.55_snapshots/grda --along --k 10 \
  --examples 1000 --batch-size 500 --lanczos-steps 60 --threads "$THREADS" | grep -E "iteration|‖Δ‖|→"
