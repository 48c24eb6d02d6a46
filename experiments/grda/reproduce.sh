#!/usr/bin/env bash
# gRDA on the embedded MNIST (issue #5, "Reproduce on the data we have"); results and reading in docs/grda.md.
#
# LeNet-300-100, 3 epochs of batch 64 at a constant lr 0.1 (plain SGD steps, no momentum), c = 0.005 (the paper's
# ImageNet c), μ ∈ {0.51, 0.55, 0.6, 0.7}. `prune grda` trains gRDA and, unless told otherwise, the SGD baseline and
# gradual magnitude pruning (Zhu & Gupta, to gRDA's final number of nonzero parameters), all from the same initial
# weights, minibatch order and schedule. The SGD baseline is identical for every μ, so it is trained once (μ = 0.51 run).
# Then the top-10 Hessian eigenvalues (Lanczos, 1,000 training examples, eval mode) at the SGD and gRDA end points, and
# eq. 13's projection of w_gRDA − w_SGD on the top-10 eigenspace at the SGD weights, for every μ.
# Re-running resumes / skips finished runs. Build first:
#   swift build -c release --product shears
set -euo pipefail
cd "$(dirname "$0")/../.."
SHEARS=${SHEARS:-.build/release/shears}
COMMON=(--model lenet300-100 --dataset mnist --epochs 3 --batch-size 64 --lr 0.1 --c 0.005 --eval-every 430it --threads 2)
grda() { nice -n 10 "$SHEARS" prune grda "${COMMON[@]}" "$@"; }
grda --mu 0.51 --out runs/grda/lenet_mu0.51
grda --mu 0.7 --no-baseline --out runs/grda/lenet_mu0.7
grda --mu 0.55 --no-baseline --out runs/grda/lenet_mu0.55
grda --mu 0.6 --no-baseline --out runs/grda/lenet_mu0.6
for mu in 0.51 0.55 0.6 0.7; do echo "## μ = $mu"; sed -n 3,7p "runs/grda/lenet_mu$mu/summary.md"; done

for phase in sgd grda; do
  nice -n 10 "$SHEARS" analyze hessian "runs/grda/lenet_mu0.51/$phase" --k 10 --examples 1000 --batch-size 500 \
    --lanczos-steps 60 --threads 2 --out "runs/grda/lenet_mu0.51/hessian_$phase"
done
for mu in 0.51 0.55 0.6 0.7; do
  nice -n 10 "$SHEARS" analyze projection runs/grda/lenet_mu0.51/sgd "runs/grda/lenet_mu$mu/grda" --k 10 --examples 1000 \
    --batch-size 500 --lanczos-steps 60 --threads 2
done

# A small conv net: Conv-2 (64-64 conv 3×3, max-pool, 256-256-10; 3.3M parameters) on the first 6,000 training images
# for 2 epochs, μ = 0.55 and 0.7 (by its layer sizes Conv-2 does ~100× the arithmetic of LeNet-300-100 per image).
nice -n 10 "$SHEARS" prune grda --model conv2 --dataset mnist --train-subset 6000 --validation 1000 --epochs 2 \
  --batch-size 64 --lr 0.1 --c 0.005 --mu 0.55 --eval-every 47it --threads 2 --out runs/grda/conv2_mu0.55
nice -n 10 "$SHEARS" prune grda --model conv2 --dataset mnist --train-subset 6000 --validation 1000 --epochs 2 \
  --batch-size 64 --lr 0.1 --c 0.005 --mu 0.7 --no-baseline --eval-every 47it --threads 2 --out runs/grda/conv2_mu0.7
for mu in 0.55 0.7; do sed -n 3,7p "runs/grda/conv2_mu$mu/summary.md"; done
