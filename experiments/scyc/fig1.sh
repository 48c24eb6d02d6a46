#!/usr/bin/env bash
# §3.1 / Fig. 1 on MNIST: MLP 784-256-256-256-10 (He init), SGD lr 1e-3 momentum 0.9, batch 64, constant LR,
# global magnitude pruning at p = 0.2, 10 training cycles (m = 0…9, down to 0.8^9 = 13.4 % of the weights).
# Each cycle rewinds the survivors to their initial values (the lottery-ticket code the paper's MLP comes from), so
# every cycle trains equally long from the same start and only the pruning differs. Shortened: 10 epochs per cycle
# (the paper: 500). Distributions after every cycle on 20 training batches (--distributions).
# Fashion-MNIST: add --dataset fashion-mnist --data-dir DIR (same IDX reader).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${ROOT:-runs/scyc-fig1}
.build/release/shears prune iterative --split pooled --model mlp3x256 --epochs 10 --batch-size 64 --lr 0.001 --momentum 0.9 \
  --lr-schedule constant --criterion magnitude --rate 0.2 --cycles 9 --retrain rewind-init --seed 0 \
  --distributions --distribution-batches 20 --out "$ROOT/mlp3x256-mnist" "$@"
