#!/usr/bin/env bash
# The whole S-Cyc reproduction on MNIST, in order (every step resumes / returns at once when already done):
# tune the baselines on the unpruned net → max_lr oracle → Fig. 1 MLP study → the 6-schedule × 2-criterion comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash experiments/scyc/tune_baselines.sh
bash experiments/scyc/oracle.sh
bash experiments/scyc/fig1.sh
W2=$(python3 experiments/scyc/warmup2_peak.py -v runs/scyc-lenet/oracle-magnitude)
echo "LR-warmup-2 peak: $W2"
time bash experiments/scyc/compare.sh "$W2"
