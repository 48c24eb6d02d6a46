#!/usr/bin/env bash
# Phase 3: LeNet-300-100 on MNIST, global magnitude and global gradient (|w·∂L/∂w| over 10 batches), p = 0.2,
# 18 pruning steps (19 trainings, down to 0.8^18 = 1.80 % of the prunable weights), LR rewinding, 3 runs each
# (seeds 0, 1, 2; each run its own pooled 60/20/20 split), SGD momentum 0.9, weight decay 1e-4, batch 60.
# Shortened: 1400 iterations (2 epochs) per cycle instead of the paper's 63K, so that the 36 runs × 19 cycles fit in
# about an hour on 2 cores. Peaks come from tune_baselines.sh (unpruned network) and oracle.sh (LR-warmup-2).
# The 12 (criterion, schedule) jobs run two at a time, one thread each (LeNet's small GEMMs gain little from a
# second thread; two processes use the two cores better).
# Usage: compare.sh WARMUP2_PEAK [schedule…]   (default: all six schedules)
set -euo pipefail
cd "$(dirname "$0")/../.."
W2=${1:?usage: compare.sh WARMUP2_PEAK [schedule…]}
shift
SCHEDULES=("$@")
[ ${#SCHEDULES[@]} -eq 0 ] && SCHEDULES=(constant linear-decay cyclical warmup-1 warmup-2 scyc)
ROOT=${ROOT:-runs/scyc-lenet/compare}
S=.build/release/shears
job() {   # job CRITERION SCHEDULE
  local crit=$1 name=$2 flags
  case $name in
    constant)     flags="--lr-schedule constant --lr 0.02" ;;
    linear-decay) flags="--lr-schedule linear-decay --lr 0.05" ;;
    cyclical)     flags="--lr-schedule cyclical --cyclic-lower 0 --cyclic-upper 0.05 --cyclic-step 175" ;;
    warmup-1)     flags="--lr-schedule warmup --peak 0.05 --warmup 440 --drops 440,560" ;;
    warmup-2)     flags="--lr-schedule warmup --peak $W2 --warmup 440 --drops 440,560" ;;
    scyc)         flags="--lr-schedule scyc --l-min 0.05 --l-amp 0.05 --q 1 --beta 5 --warmup 440 --drops 440,560" ;;
    *) echo "unknown schedule $name" >&2; return 2 ;;
  esac
  $S prune iterative --split pooled --model lenet300-100 --iterations 1400 --eval-every 350it --batch-size 60 --momentum 0.9 \
    --weight-decay 1e-4 --seed 0 --runs 3 --cycles 18 --rate 0.2 --criterion "$crit" --gradient-batches 10 \
    --retrain lr-rewind $flags --threads 1 --out "$ROOT/$crit/$name" > /dev/null
  echo "done $crit $name"
}
export -f job; export S ROOT W2
for crit in magnitude gradient; do for name in "${SCHEDULES[@]}"; do echo "$crit $name"; done; done \
  | xargs -P 2 -L 1 bash -c 'job "$0" "$1"'
for crit in magnitude gradient; do
  dirs=()
  for name in constant linear-decay cyclical warmup-1 warmup-2 scyc; do
    [ -f "$ROOT/$crit/$name/summary.json" ] && dirs+=("$ROOT/$crit/$name")
  done
  [ ${#dirs[@]} -gt 0 ] && $S prune compare "${dirs[@]}" \
     --title "LeNet-300-100, MNIST, global $crit, LR rewinding (3 runs, 1400 it/cycle)" \
     --markdown "$ROOT/$crit.md" --svg "$ROOT/$crit.svg"
done
