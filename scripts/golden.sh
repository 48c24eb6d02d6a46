#!/usr/bin/env bash
# Developer's check that a refactor kept results bit-identical (not part of CI): builds REF (default: main's
# merge-base with HEAD… or any commit) in its own worktree and build folder, runs the same small commands with both
# binaries on this machine (--threads 1), and compares the weights and masks they write, tensor by tensor
# (scripts/tensor_digest.py ignores file metadata). The bits depend on the CPU's kernels, so no hash is committed:
# both sides run here, now. Reference outputs are cached under .golden/<sha>/ (git-ignored).
#
#   scripts/golden.sh REF            # e.g. scripts/golden.sh 6308b71
#   GOLDEN_ONLY="train prune" scripts/golden.sh REF    # a subset of the cases
#   GOLDEN_REF_ONLY=1 scripts/golden.sh REF             # only build and run the reference (cached)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REF=${1:?usage: scripts/golden.sh REF (a commit to compare the working tree against)}
SHA=$(git rev-parse --verify "$REF^{commit}")
G=$ROOT/.golden
mkdir -p "$G"

build_ref() {
    if [ ! -x "$G/$SHA/bin/shears" ]; then
        rm -rf "$G/src-$SHA"
        git worktree add --detach "$G/src-$SHA" "$SHA" >/dev/null
        (cd "$G/src-$SHA" && swift build -c release --scratch-path "$G/build-ref" >&2)
        mkdir -p "$G/$SHA/bin"
        cp "$G/build-ref/release/shears" "$G/$SHA/bin/shears"
        git worktree remove --force "$G/src-$SHA"
    fi
}
build_new() { swift build -c release >&2; }

# name|command (run with --out DIR --threads 1 appended); connectivity reads the grda case's phases.
CASES=(
"train|train --model lenet300-100 --dataset mnist --epochs 20 --batch-size 60 --lr 0.02 --momentum 0.9 --weight-decay 1e-4 --schedule cosine"
"prune|prune iterative --model lenet300-100 --split pooled --epochs 1 --train-subset 6000 --cycles 3 --rate 0.5 --lr 0.1 --momentum 0.9 --retrain rewind-init"
"oracle|prune oracle --model lenet300-100 --split pooled --iterations 200 --train-subset 6000 --cycles 1 --rate 0.5 --grid 0.02,0.05 --lr-schedule scyc --warmup 50 --drops 150"
"anytime|anytime --megabatches 8 --tau 4.5 --pruner snip --epochs 1 --pool-size 4000 --batch-size 64"
"grda|prune grda --model lenet300-100 --epochs 1 --train-subset 6000 --lr 0.1 --c 0.005 --mu 0.55 --gmp-steps 3"
"connectivity|analyze connectivity @grda/grda @grda/sgd --epochs 1 --points 5 --grid 3 --train-examples 1000 --batch-size 100"
)

run_all() {  # $1 binary, $2 output root
    local bin=$1 out=$2
    for c in "${CASES[@]}"; do
        local name=${c%%|*} cmd=${c#*|}
        if [ -n "${GOLDEN_ONLY:-}" ] && [[ " $GOLDEN_ONLY " != *" $name "* ]]; then continue; fi
        if [ -f "$out/$name/.done" ]; then continue; fi
        rm -rf "$out/$name"; mkdir -p "$out"
        cmd=${cmd//@/$out/}
        echo "golden: $bin $cmd" >&2
        # shellcheck disable=SC2086
        "$bin" $cmd --out "$out/$name" --threads 1 > "$out/$name.log" 2>&1 || { echo "golden: '$name' failed, see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
        touch "$out/$name/.done"
    done
}

digests() {  # the weights every case leaves: models, masks, the connectivity middle, oracle's best trial, snapshots
    (cd "$1" && find . -name '*.safetensors' ! -name 'checkpoint.safetensors' ! -name 'cycle_start.safetensors' | sort \
        | xargs -r python3 "$ROOT/scripts/tensor_digest.py")
}

build_ref
# Both binaries on the same OpenBLAS kernels: the ones the reference gets by itself here (shears now re-executes
# itself onto the CPU's widest kernels where OpenBLAS picked narrower ones; a set OPENBLAS_CORETYPE is kept by both).
# The reference outputs are cached per kernel set.
pinned=${OPENBLAS_CORETYPE:-}
if [ -z "$pinned" ]; then
    OPENBLAS_CORETYPE=$(OPENBLAS_VERBOSE=2 "$G/$SHA/bin/shears" --help 2>&1 | sed -n 's/^Core: *//p' | head -1 || true)
fi
export OPENBLAS_CORETYPE
echo "golden: both binaries on OpenBLAS' ${OPENBLAS_CORETYPE:-default} kernels" >&2
OUTREF=$G/$SHA/out-${OPENBLAS_CORETYPE:-default}
# Outputs cached before the kernel set was part of the key were made with the reference's own choice.
if [ -z "$pinned" ] && [ -d "$G/$SHA/out" ] && [ ! -d "$OUTREF" ]; then mv "$G/$SHA/out" "$OUTREF"; fi
run_all "$G/$SHA/bin/shears" "$OUTREF"
if [ -n "${GOLDEN_REF_ONLY:-}" ]; then echo "golden: reference outputs ready in $OUTREF"; exit 0; fi
build_new
rm -rf "$G/new"
run_all "$ROOT/.build/release/shears" "$G/new"
digests "$OUTREF" > "$G/ref.txt"
digests "$G/new" > "$G/new.txt"
# Every weight file the reference wrote must exist now and hold the same tensors; files only the new binary writes
# (new features) are listed, not compared.
fail=0
while read -r sum path; do
    now=$(awk -v p="$path" '$2 == p {print $1}' "$G/new.txt")
    if [ -z "$now" ]; then echo "golden: MISSING $path"; fail=1
    elif [ "$now" != "$sum" ]; then echo "golden: DIFFERS $path"; fail=1; fi
done < "$G/ref.txt"
extra=$(awk 'NR==FNR {seen[$2]=1; next} !($2 in seen) {print $2}' "$G/ref.txt" "$G/new.txt")
[ -n "$extra" ] && echo "golden: written only by the new binary (not compared): $(echo $extra | tr '\n' ' ')"
if [ $fail = 0 ]; then
    echo "golden: PASS — $(wc -l < "$G/ref.txt") weight files bit-identical to $REF ($SHA)"
else
    echo "golden: FAIL against $REF ($SHA)"; exit 1
fi
