#!/usr/bin/env bash
# Data-parallel training over Open MPI, checked against one process (issue 18); `make test` runs it.
#   1. shears-mpi-check reference: one process, no MPI loaded, trains LeNet-300-100 (with a pruning event) and a
#      small batch-norm net on the embedded MNIST with the whole global batch, writing the weights after every step;
#   2. mpirun -np 2 and -np 3 (uneven shards): the same runs on shards of each global batch; every rank's weights
#      must equal rank 0's bit for bit after every step and pruning event, and rank 0's must match step 1's.
# Prints one "mpi-check: PASS" or "mpi-check: FAIL …" line; exits non-zero on any failure, including a missing
# mpirun (setup installs openmpi-bin, so its absence is a failure, not a reason to skip).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/shears-mpi-check}

fail() { echo "mpi-check: FAIL: $*"; exit 1; }
source scripts/mpi_env.sh
[ -x "$BIN" ] || fail "$BIN not built; run swift build first"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Where this shell may make a private mount namespace (root), the reference runs with libmpi hidden — the binary
# must work where Open MPI is absent — and a fake mpirun launch must fail with a message naming the packages.
libmpi=$(readlink -f /usr/lib/x86_64-linux-gnu/libmpi.so.40)
without_mpi() { unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$libmpi" "$@"; }
if unshare -m true 2>/dev/null; then
    without_mpi "$BIN" reference "$work" > "$work/reference.log" 2>&1 \
        || { cat "$work/reference.log"; fail "the one-process reference run failed with libmpi hidden"; }
    msg=$(OMPI_COMM_WORLD_SIZE=2 without_mpi "$BIN" compare "$work" 2>&1) && fail "a launch without a loadable libmpi succeeded"
    echo "$msg" | grep -q "libmpi.so.40 could not be loaded.*apt-get install" || fail "unclear message without libmpi: $msg"
    echo "mpi-check: one process ran with libmpi hidden; a launch without it says: ${msg#shears-mpi-check: }"
else
    echo "mpi-check: no private mount namespace here (not root?), so libmpi stays visible to the reference run"
    "$BIN" reference "$work" > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; fail "the one-process reference run failed"; }
fi
for np in 2 3; do
    timeout 600 mpirun -np "$np" --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS "$BIN" compare "$work" \
        > "$work/np$np.log" 2>&1
    rc=$?
    grep -E '^(collectives|compare|pruning event|FAIL)' "$work/np$np.log" | sed "s/^/mpi-check np=$np: /"
    [ $rc -eq 0 ] && grep -q "^PASS: $np ranks" "$work/np$np.log" || { tail -20 "$work/np$np.log"; fail "mpirun -np $np (exit $rc)"; }
done
echo "mpi-check: PASS (one process without MPI; 2 and 3 ranks match it per step and stay bit-identical)"
