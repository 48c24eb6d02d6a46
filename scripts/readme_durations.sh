#!/usr/bin/env bash
# Times the README's long-running commands as a user types them (their defaults, the embedded MNIST), one after the
# other, and prints a Markdown table of wall-clock durations for the README. A developer's check, not part of CI:
# it takes about an hour on 2 cores.
#
#   bash scripts/readme_durations.sh [SCRATCH_DIR]        # uses .build/release/shears (SHEARS=… to override)
#
# ResNet-20's 160-epoch CIFAR-10 training is timed for one epoch on synthetic CIFAR-10 files of the real size (50,000
# training images; the time of an epoch does not depend on the pixel values) and the table gives 160 × that, marked
# as a projection.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(realpath "${SHEARS:-.build/release/shears}")
W=${1:-$(mktemp -d /tmp/shears-durations.XXXXXX)}
mkdir -p "$W"
cd "$W"
# Resumable: each finished command's time is kept in $W/durations.tsv and not measured again; a command that fails
# is recorded as FAILED (its log says why) and the others still run.
touch "$W/durations.tsv"
timed() {   # timed LABEL COMMAND… : runs it, records its wall time
    local label=$1; shift
    if grep -qF "$label"$'\t' "$W/durations.tsv"; then echo "$label: measured before" >&2; return; fi
    local log="$W/$(echo "$label" | tr -c 'a-zA-Z0-9' '_').log" t0=$(date +%s.%N) status=0
    "$@" > "$log" 2>&1 || status=$?
    local t=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')")
    [ $status -eq 0 ] || t="FAILED (exit $status, see $log)"
    printf '%s\t%s\n' "$label" "$t" >> "$W/durations.tsv"
    echo "$label: $t s" >&2
}

timed "prune iterative (S-Cyc, 3 runs × 11 cycles × 5 epochs)" "$B" prune iterative --split pooled --model lenet300-100 --dataset mnist \
    --epochs 5 --rate 0.2 --cycles 10 --schedule scyc --l-min 0.03 --l-amp 0.04 --q 1 --beta 5 --runs 3 --out scyc
timed "prune oneshot --at-init --criterion synflow (10 epochs)" "$B" prune oneshot --at-init --criterion synflow --sparsity 0.98 \
    --finetune-epochs 10 --out synflow
timed "prune dynamic --method rigl (defaults)" "$B" prune dynamic --method rigl --sparsity 0.9 --out rigl
timed "prune oracle (19 cycles × 5 max_lr)" "$B" prune oracle --split pooled --model lenet300-100 --iterations 1400 --cycles 18 \
    --warmup 440 --drops 440,560 --grid 0.02,0.03,0.05,0.07,0.1 --l-min 0.05 --l-amp 0.05 --out oracle
timed "prune grda (3 phases × 3 epochs)" "$B" prune grda --model lenet300-100 --epochs 3 --lr 0.1 --c 0.005 --mu 0.55 --out grda
timed "analyze hessian (top 10)" "$B" analyze hessian grda/sgd
timed "analyze projection" "$B" analyze projection grda/sgd grda/grda
timed "analyze connectivity (defaults)" "$B" analyze connectivity grda/grda grda/sgd --out connectivity
timed "anytime (defaults: 8 megabatches)" "$B" anytime --megabatches 8 --tau 4.5 --pruner snip --out anytime
timed "bench train resnet20 (20 steps, dense and sparse)" "$B" bench train --model resnet20 --batch-size 128 --steps 20 --threads 2 --sparsity 0.9
[ -f cifar/test_batch.bin ] || python3 - <<'PY'
import random
r = random.Random(0)
import os
os.makedirs("cifar", exist_ok=True)
for name, n in [(f"data_batch_{i}.bin", 10000) for i in range(1, 6)] + [("test_batch.bin", 10000)]:
    with open(f"cifar/{name}", "wb") as f:
        for _ in range(n):
            f.write(bytes([r.randrange(10)]) + r.randbytes(3072))
PY
timed "train resnet20 cifar10, ONE epoch of 160" "$B" train --model resnet20 --dataset cifar10 --data-dir cifar --epochs 1 --batch-size 128 \
    --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --augment --out resnet20
echo
echo "| command | wall time (s) |"
echo "|---|---:|"
awk -F'\t' '{ printf "| `%s` | %s |\n", $1, $2 }' "$W/durations.tsv"
echo
echo "($(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; logs in $W)"
