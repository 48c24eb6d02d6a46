#!/usr/bin/env bash
# The training commands under mpirun (issue 18; docs/distributed.md, "The training commands"); `make test` runs it
# after scripts/mpi_check.sh. Each command runs once as one process and once as `mpirun -np 2` (one thread per
# rank, global batch unchanged), LeNet-300-100 on 2,000 MNIST images (no batch norm), and the files they write must
# agree:
#   train · prune iterative (2 cycles, rewinding) · prune grda (sgd, grda and gmp phases) · anytime (magnitude)
#   - every weight within 1e-5 of one process's (relative to max(1, |w|)), and every mask (zero pattern) the same;
#   - every rank bit-identical at the start of every training, i.e. after every pruning event (the commands stop
#     with the names of the differing tensors otherwise: `TrainLoop.joinDataParallel`);
#   - rank 0 alone wrote the directory (execution.json says 2 ranks) and no rank's private copy is left behind;
#   - resume: `prune iterative` on 2 ranks killed with SIGKILL (rank 1, then in a second round rank 0) after its
#     first cycle, run again, ends bit-identical to the uninterrupted 2-rank run;
#   - batch norm (ResNet-20, one step): --sync-batch-norm within 1e-4 of one process, per-rank batch norm not;
#   - an unfinished 2-rank directory continued on 1 process is refused with a message naming the rank count.
# Prints one "mpi-commands: PASS" line or "mpi-commands: FAIL …" and exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${1:-.build/debug/shears}
B=$(readlink -f "$B")

fail() { echo "mpi-commands: FAIL: $*"; exit 1; }
source scripts/mpi_env.sh
[ -x "$B" ] || fail "$B not built; run swift build first"
MPIRUN=(timeout 600 mpirun -np 2 --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS)

work=$(mktemp -d)
export TMPDIR=$work/tmp   # the ranks' private copies go here, so that a leftover one is seen
mkdir -p "$TMPDIR"
trap 'rm -rf "$work"' EXIT
DATA=(--model lenet300-100 --train-subset 2000 --threads 1 --prefetch 0)

# run NAME ARGS…: one process into $work/NAME.1, two ranks into $work/NAME.2.
run() {
    local name=$1; shift
    "$B" "$@" "${DATA[@]}" --out "$work/$name.1" > "$work/$name.1.log" 2>&1 || { tail -5 "$work/$name.1.log"; fail "$name on one process"; }
    "${MPIRUN[@]}" "$B" "$@" "${DATA[@]}" --out "$work/$name.2" > "$work/$name.2.log" 2>&1 || { tail -15 "$work/$name.2.log"; fail "$name on 2 ranks"; }
    grep -q '"ranks" : 2' "$work/$name.2/execution.json" || fail "$name: execution.json does not record 2 ranks"
}
# same NAME FILE…: each file of the 2-rank run within $BOUND (1e-5) of one process's, zero patterns equal.
same() {
    local name=$1; shift
    for f in "$@"; do
        local out
        out=$(python3 scripts/compare_tensors.py "$work/$name.1/$f" "$work/$name.2/$f" --bound "${BOUND:-1e-5}") || fail "$name $f: $out"
        echo "mpi-commands: $name $f: 2 ranks vs 1 process: $out"
    done
}

run train train --epochs 2
same train model.safetensors
IMP=(prune iterative --epochs 1 --cycles 2 --rate 0.5 --retrain rewind:5)
run imp "${IMP[@]}"
same imp run_0/cycle_1/mask.safetensors run_0/cycle_2/mask.safetensors run_0/model.safetensors
run grda prune grda --epochs 2 --c 0.005 --mu 0.7
same grda sgd/model.safetensors grda/model.safetensors gmp/model.safetensors
TRAIN_DATA=("${DATA[@]}")
DATA=(--model lenet300-100 --threads 1 --prefetch 0)   # anytime draws its stream from --pool-size, not a train subset
run app anytime --megabatches 4 --tau 4.5 --pruner magnitude --epochs 1 --pool-size 2000 --batch-size 64
DATA=("${TRAIN_DATA[@]}")
same app mask.safetensors model.safetensors
# Batch norm: ResNet-20 on 256 random 32×32 RGB images (an .npz written with the standard library), one step of
# global batch 32. With --sync-batch-norm the 2 ranks normalise with the global batch's statistics as one process
# does (within 1e-4: one step, through ReLU kinks); per-rank batch norm (the default, as PyTorch DDP) does not.
python3 - "$work/rgb.npz" <<'PY'
import io, random, struct, sys, zipfile
def npy(shape, dtype, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, repr(tuple(shape)))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data
r = random.Random(0)
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for split, n in (("train", 256), ("test", 64)):
        z.writestr(f"x_{split}.npy", npy((n, 32, 32, 3), "|u1", bytes(r.randrange(256) for _ in range(n * 32 * 32 * 3))))
        z.writestr(f"y_{split}.npy", npy((n,), "<i8", struct.pack(f"<{n}q", *(r.randrange(10) for _ in range(n)))))
PY
DATA=(--model resnet20 --dataset npz --data-path "$work/rgb.npz" --validation 32 --threads 1 --prefetch 0)
run bn train --iterations 1 --batch-size 32 --eval-every 1it --sync-batch-norm
BOUND=1e-4 same bn model.safetensors
"${MPIRUN[@]}" "$B" train --iterations 1 --batch-size 32 --eval-every 1it "${DATA[@]}" --out "$work/bn.rank" > "$work/bn.rank.log" 2>&1 \
    || { tail -15 "$work/bn.rank.log"; fail "resnet20 with per-rank batch norm on 2 ranks"; }
python3 scripts/compare_tensors.py "$work/bn.1/model.safetensors" "$work/bn.rank/model.safetensors" --bound 1e-3 > /dev/null \
    && fail "per-rank batch norm matched one process as closely as --sync-batch-norm: the flag did nothing"
echo "mpi-commands: bn per-rank batch norm vs 1 process: $(python3 scripts/compare_tensors.py "$work/bn.1/model.safetensors" "$work/bn.rank/model.safetensors")"
DATA=("${TRAIN_DATA[@]}")

left=$(ls -A "$TMPDIR")
[ -z "$left" ] || fail "a rank's private copy was left behind: $left"

# Resume: kill one rank with SIGKILL once cycle 0 is saved (mpirun then ends the job), run the command again.
IMP3=("${IMP[@]}" --cycles 3)
"${MPIRUN[@]}" "$B" "${IMP3[@]}" "${DATA[@]}" --out "$work/whole" > "$work/whole.log" 2>&1 || { tail -15 "$work/whole.log"; fail "uninterrupted 2-rank prune iterative"; }
for victim in 1 0; do
    dir=$work/killed$victim
    "${MPIRUN[@]}" "$B" "${IMP3[@]}" "${DATA[@]}" --out "$dir" > "$dir.log" 2>&1 &
    job=$!
    for _ in $(seq 1 600); do [ -f "$dir/run_0/cycle_0/mask.safetensors" ] && break; sleep 0.1; done
    [ -f "$dir/run_0/cycle_0/mask.safetensors" ] || fail "the 2-rank run never finished cycle 0 (killing rank $victim)"
    killed=""
    for p in $(pgrep -f -- "--out $dir"); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$victim"; then kill -9 "$p" && killed=$p; fi
    done
    [ -n "$killed" ] || fail "no rank $victim process found to kill"
    wait "$job" && fail "the job whose rank $victim was killed exited 0"
    [ -f "$dir/model.safetensors" ] && fail "the job whose rank $victim was killed finished anyway (kill came too late)"
    "${MPIRUN[@]}" "$B" "${IMP3[@]}" "${DATA[@]}" --out "$dir" > "$dir.resume.log" 2>&1 || { tail -15 "$dir.resume.log"; fail "resuming after rank $victim was killed"; }
    grep -q "resuming" "$dir.resume.log" || fail "the second launch did not resume (rank $victim killed)"
    for f in run_0/cycle_3/mask.safetensors run_0/model.safetensors; do
        a=$(python3 scripts/tensor_digest.py "$work/whole/$f" | cut -d' ' -f1); b=$(python3 scripts/tensor_digest.py "$dir/$f" | cut -d' ' -f1)
        [ "$a" = "$b" ] || fail "$f after killing rank $victim and resuming differs from the uninterrupted run"
    done
    echo "mpi-commands: rank $victim killed (SIGKILL) after cycle 0, run again: resumed, bit-identical to the uninterrupted 2-rank run"
done

# A finished run is only reported, whatever the launch: the refusal is for continuing one (no summary yet, as after a kill).
rm -f "$work/whole/summary.json"
msg=$("$B" "${IMP3[@]}" "${DATA[@]}" --out "$work/whole" 2>&1) && fail "continuing a 2-rank directory on one process was accepted"
echo "$msg" | grep -q "was run on 2 ranks" || fail "unclear refusal of a 2-rank directory on one process: $msg"
echo "mpi-commands: PASS (train, prune iterative, prune grda, anytime on 2 ranks match one process; --sync-batch-norm matches, per-rank BN does not; kill -9 of either rank resumes bit-identically)"
