#!/usr/bin/env bash
# The sweep against a real Slurm (issue 18): a one-node cluster on localhost (scripts/slurm_cluster.sh), a sweep of
# 6 LeNet trainings on 2000 images submitted as an sbatch array and waited for, the same sweep with --jobs 2, and
# each command run by hand: all three must give the same run directories, the same model.safetensors (sha256) and
# the same summary.json (but for its timings); then prune oracle's trials in one process, with --jobs 2 and with
# --slurm (one array per cycle): the same oracle.json and best-trial weights. Prints "slurm sweep test: N passed, M failed"; exits non-zero when
# anything failed — including when Slurm cannot start on this machine (never a silent pass).
# Usage: scripts/test_slurm_sweep.sh [path/to/shears]   (default .build/debug/shears; run by `make test`)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHEARS=$(realpath "${1:-.build/debug/shears}")
passed=0; failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
    echo "slurm sweep test: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit $?
}
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

[ -x "$SHEARS" ] || { fail "no shears binary at $SHEARS (build first: swift build --build-tests)"; finish; }
bash scripts/setup_slurm.sh || { fail "cannot install slurm-wlm and munge (scripts/setup_slurm.sh)"; finish; }

export SHEARS_SLURM_DIR=${SHEARS_SLURM_DIR:-$(mktemp -d /tmp/shears-slurm.XXXXXX)}
WORK=$(mktemp -d /tmp/shears-sweep-test.XXXXXX)
trap 'bash "$ROOT/scripts/slurm_cluster.sh" stop >/dev/null; rm -rf "$WORK"' EXIT
if ! bash scripts/slurm_cluster.sh start; then
    fail "Slurm did not start on this machine (munged, slurmctld, slurmd; logs in $SHEARS_SLURM_DIR/log)"
    finish
fi
export SLURM_CONF=$SHEARS_SLURM_DIR/slurm.conf
pass "one-node Slurm cluster started"
cd "$WORK"

BASE="train --model lenet300-100 --epochs 1 --train-subset 2000 --validation 500 --threads 1"
SEEDS=(0 1 2); LRS=(0.05 0.1)
for root in slurm jobs; do
    printf 'name: %s\ncommand: %s --runs-root %s\naxes:\n  seed: [0, 1, 2]\n  lr: [0.05, 0.1]\n' \
        "$root" "$BASE" "$root-runs" > "$root.yaml"
done

start=$(date +%s)
check "sweep --slurm --wait: 6 array tasks finished" timeout 300 "$SHEARS" sweep slurm.yaml --slurm --wait
slurm_s=$(( $(date +%s) - start ))
"$SHEARS" sweep status slurm.yaml
check "sweep status: 6 done after Slurm" bash -c "'$SHEARS' sweep status slurm.yaml | grep -q '^6 points: 6 done'"

start=$(date +%s)
check "sweep --jobs 2: 6 points finished" timeout 300 "$SHEARS" sweep jobs.yaml --jobs 2
jobs_s=$(( $(date +%s) - start ))

start=$(date +%s)
hand_ok=true
for s in "${SEEDS[@]}"; do for lr in "${LRS[@]}"; do
    # shellcheck disable=SC2086
    "$SHEARS" $BASE --runs-root hand-runs --seed "$s" --lr "$lr" > /dev/null || hand_ok=false
done; done
hand_s=$(( $(date +%s) - start ))
check "the 6 commands by hand finished" $hand_ok

names() { (cd "$1" && ls -d train_* 2>/dev/null | sort); }
check "by hand: 6 run directories" test "$(names hand-runs | wc -l)" -eq 6
check "Slurm sweep: the same run directory names as by hand" test "$(names slurm-runs)" = "$(names hand-runs)"
check "--jobs 2 sweep: the same run directory names as by hand" test "$(names jobs-runs)" = "$(names hand-runs)"

same_results() {
    local ok=0
    for d in $(names hand-runs); do
        a=$(sha256sum < "hand-runs/$d/model.safetensors") b=$(sha256sum < "$1/$d/model.safetensors" 2>/dev/null)
        [ "$a" = "$b" ] || { echo "  $1/$d/model.safetensors differs from by hand"; ok=1; }
        python3 - "hand-runs/$d/summary.json" "$1/$d/summary.json" <<'PY' || ok=1
import json, sys
timing = {"trainingSeconds", "imagesPerSecond"}
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if {k: v for k, v in a.items() if k not in timing} != {k: v for k, v in b.items() if k not in timing}:
    sys.exit(f"  {sys.argv[2]} differs from {sys.argv[1]} beyond its timings")
PY
    done
    return $ok
}
check "Slurm sweep: model.safetensors sha256 and summary.json as by hand" same_results slurm-runs
check "--jobs 2 sweep: model.safetensors sha256 and summary.json as by hand" same_results jobs-runs

check "re-running the Slurm sweep resumes it: nothing left to run" \
    bash -c "'$SHEARS' sweep slurm.yaml --slurm --wait | grep -q '6 done, 0 running elsewhere, 0 to run'"

# A point that fails shows up as failed with its last log line, under Slurm as locally.
printf 'name: bad\ncommand: %s --runs-root bad-runs\naxes:\n  init: [/nonexistent/w.safetensors]\n' "$BASE" > bad.yaml
timeout 120 "$SHEARS" sweep bad.yaml --slurm --wait > /dev/null
check "a failing point exits non-zero" test $? -ne 0
"$SHEARS" sweep status bad.yaml
check "sweep status shows the failure and its last log line" \
    bash -c "'$SHEARS' sweep status bad.yaml | grep -A1 '^failed' | grep -q 'nonexistent'"

check "sweep report over the finished points" bash -c "'$SHEARS' sweep report jobs.yaml > /dev/null && test -s runs/sweeps/jobs/report/report.html"

# prune oracle's trials through the same machinery: a 1-cycle oracle with a 3-value grid, in this process, with
# --jobs 2 and with --slurm (one array per cycle), must give the same oracle.json and best-trial weights.
ORACLE="prune oracle --model lenet300-100 --train-subset 2000 --validation 500 --epochs 1 --cycles 1 --rate 0.5 --grid 0.02,0.05,0.1 --warmup 5 --drops 20,25,30 --threads 1"
# shellcheck disable=SC2086
check "prune oracle in one process" "$SHEARS" $ORACLE --out oracle-serial > oracle-serial.log 2>&1
# shellcheck disable=SC2086
check "prune oracle --jobs 2" "$SHEARS" $ORACLE --out oracle-jobs --jobs 2 > oracle-jobs.log 2>&1
start=$(date +%s)
# shellcheck disable=SC2086
check "prune oracle --slurm: each cycle's trials as a Slurm array" timeout 300 "$SHEARS" $ORACLE --out oracle-slurm --slurm > oracle-slurm.log 2>&1
oracle_s=$(( $(date +%s) - start ))
check "prune oracle --slurm submitted arrays" grep -q "Slurm job [0-9]*, 3 array tasks" oracle-slurm.log
same_oracle() {
    python3 - "$1" <<'PY' || return 1
import json, sys
a, b = (json.load(open(f"{d}/oracle.json")) for d in ("oracle-serial", sys.argv[1]))
sys.exit(0 if a == b else 1)
PY
    [ "$(python3 "$ROOT/scripts/tensor_digest.py" oracle-serial/best_trial.safetensors | cut -d' ' -f1)" = \
      "$(python3 "$ROOT/scripts/tensor_digest.py" "$1/best_trial.safetensors" | cut -d' ' -f1)" ]
}
check "prune oracle --jobs 2: oracle.json and best-trial weights as in one process" same_oracle oracle-jobs
check "prune oracle --slurm: oracle.json and best-trial weights as in one process" same_oracle oracle-slurm

echo "timings (s): oracle --slurm $oracle_s; slurm sweep $slurm_s, --jobs 2 sweep $jobs_s, by hand $hand_s; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
finish
