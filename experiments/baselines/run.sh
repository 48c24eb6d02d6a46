#!/usr/bin/env bash
# Issue #19's baselines under one training budget (docs/baselines.md, "Reproduction"):
#   dense; random, SNIP, GraSP, SynFlow at init; SET, RigL, gradual magnitude (Zhu–Gupta); IMP with rewinding; gRDA
# at 90 / 95 / 98 % sparsity (gRDA: at the sparsity its c and μ give), SEEDS seeds each. Then
#   python3 experiments/baselines/table.py runs/baselines/<model>/<setting>
# prints the table and writes the chart.
#
# Environment (defaults in brackets):
#   MODEL        lenet300-100 | conv4 [lenet300-100]
#   EPOCHS       E, the training budget of one run [10]
#   SEEDS        seeds 1 … SEEDS [3]; SEED_LIST picks some of them ("2 3"), e.g. to run seeds in parallel processes
#   SPARSITIES   space-separated [0.9 0.95 0.98]
#   UPDATE_EVERY ΔT of SET, RigL and gradual magnitude pruning, in iterations [100, RigL's]; another value puts those
#                runs in <method>-dt<ΔT> directories beside the default ones (e.g. a short budget with more updates)
#   METHODS      the methods to run, space-separated, among dense random random-erk snip grasp synflow set rigl gmp imp
#                grda [all]; random-erk is the static sparse baseline of SET and RigL (a random mask at their ERK
#                densities, never rewired)
#   REWIND       IMP's rewinding iteration K [≈ 1 % of one cycle's iterations]
#   GRDA_MUS     gRDA's μ values, space-separated [0.65 0.7 0.75]; GRDA_C [0.005] (another c: grda-c<c>-mu<μ> directories)
#   TRAIN_SUBSET train on the first N training examples only [all]
#   SPARSE_INIT  the initial scale of the networks trained sparse from initialisation (random, SNIP, GraSP, SynFlow, SET,
#                RigL), space-separated: dense (the dense initialisation's, as their papers) and/or fan-in (each unit
#                rescaled to its sparse fan-in, Evci et al. 2022; run directories <method>-fanin) [dense]
#   LR, MOMENTUM SGD's rate and momentum for every method but gRDA [0.01, 0.9]; GRDA_LR gRDA's rate [0.1]
#   THREADS      kernel threads per run [2]
#   SHEARS       the binary [.build/release/shears]
#   OUT          the results folder [runs/baselines/<model>/e<E>[_n<subset>]]
# Re-running is safe at any point: every shears command reports a finished run directory at once ("already
# complete"), resumes an unfinished one from its checkpoint, and refuses one whose config.json differs from the
# command (e.g. after changing UPDATE_EVERY: use another OUT).
#
# One setting for every method: MNIST, official split with 5,000 training images held out for validation (the
# early-stop point: the table's accuracies are test accuracies at the best validation accuracy), batch 60, SGD with
# lr 0.01 and momentum 0.9 — the effective step lr/(1 − momentum) = 0.1 of the repository's default plain SGD and of
# gRDA, where lr 0.1 with momentum 0.9 would be 1.0 —, constant rate, no weight decay, E epochs from initialisation. Exceptions, each the method's own definition: IMP trains E epochs per cycle (6 E in all:
# the dense cycle and 5 pruning cycles); gRDA is its own optimizer (dual averaging, no momentum) at lr 0.1, the same
# effective step.
# Allocation across layers, as each method's paper: global scores for SNIP, GraSP, SynFlow, random and IMP; ERK for
# SET and RigL (RigL's default); uniform (layerwise) for gradual magnitude pruning (Zhu & Gupta).
set -euo pipefail
cd "$(dirname "$0")/../.."

MODEL=${MODEL:-lenet300-100}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-3}
SEED_LIST=${SEED_LIST:-$(seq 1 "$SEEDS")}
SPARSITIES=${SPARSITIES:-0.9 0.95 0.98}
GRDA_MUS=${GRDA_MUS:-0.65 0.7 0.75}
GRDA_C=${GRDA_C:-0.005}
THREADS=${THREADS:-2}
LR=${LR:-0.01}
MOMENTUM=${MOMENTUM:-0.9}
GRDA_LR=${GRDA_LR:-0.1}
UPDATE_EVERY=${UPDATE_EVERY:-100}
SPARSE_INIT=${SPARSE_INIT:-dense}
ALL_METHODS="dense random random-erk snip grasp synflow set rigl gmp imp grda"
METHODS=${METHODS:-$ALL_METHODS}
for m in $METHODS; do
    case " $ALL_METHODS " in *" $m "*) ;; *) echo "run.sh: METHODS takes some of: $ALL_METHODS; got $m" >&2; exit 1;; esac
done
want() { case " $METHODS " in *" $1 "*) return 0;; *) return 1;; esac; }
DT_SUFFIX=""; [ "$UPDATE_EVERY" != 100 ] && DT_SUFFIX="-dt$UPDATE_EVERY"
GRDA_SUFFIX=""; [ "$GRDA_C" != 0.005 ] && GRDA_SUFFIX="-c$GRDA_C"   # grda-c<c>-mu<μ> beside the default c's grda-mu<μ>
for si in $SPARSE_INIT; do
    case "$si" in dense|fan-in) ;; *) echo "run.sh: SPARSE_INIT takes dense and/or fan-in, got $si" >&2; exit 1;; esac
done
B=${SHEARS:-.build/release/shears}
TRAIN_SUBSET=${TRAIN_SUBSET:-}
OUT=${OUT:-runs/baselines/$MODEL/e$EPOCHS${TRAIN_SUBSET:+_n$TRAIN_SUBSET}}
[ -x "$B" ] || { echo "run.sh: no shears binary at $B (build it: swift build -c release, or set SHEARS)" >&2; exit 1; }
case "$MODEL" in lenet300-100|conv4) ;; *) echo "run.sh: MODEL must be lenet300-100 or conv4 (issue #19), got $MODEL" >&2; exit 1;; esac

DATA=(--model "$MODEL" --dataset mnist --split official --validation 5000 ${TRAIN_SUBSET:+--train-subset "$TRAIN_SUBSET"})
TRAIN=(--batch-size 60 --optimizer sgd --lr "$LR" --momentum "$MOMENTUM" --schedule constant --weight-decay 0)
RUN=(--threads "$THREADS")

# IMP: 5 pruning cycles; the per-cycle rate p = 1 − (1 − s)^(1/5) reaches s after the fifth. Rewinding to iteration K,
# about 1 % of one cycle's iterations (Frankle et al.'s late rewinding is a few % of training; ≥ 1 iteration).
CYCLES=5
train_images=${TRAIN_SUBSET:-55000}
if [ "$train_images" -gt 55000 ]; then train_images=55000; fi
REWIND=${REWIND:-$(python3 -c "import math; print(max(1, round(0.01 * $EPOCHS * math.ceil($train_images / 60))))")}

# Prints and runs one training; a finished run directory is reported, not trained again (see above). A training that
# fails (a loss that diverges to NaN, for one) is a result too: its --out (the last argument) and last line go to
# $OUT/failures.jsonl, which table.py counts in the method's cell, and the script goes on with the next one.
step() {
    echo "+ $*"
    local log="$OUT/.last-step.$$.log"   # one per process: seeds may run in parallel processes
    if "$@" 2>&1 | tee "$log"; then return 0; fi
    python3 -c 'import json, sys; print(json.dumps({"out": sys.argv[1], "error": sys.argv[2]}))' \
        "${@: -1}" "$(grep -v '^\s*$' "$log" | grep -v '^Usage\|--help' | tail -1)" >> "$OUT/failures.jsonl"
    echo "run.sh: that training failed; recorded in $OUT/failures.jsonl, going on"
}

mkdir -p "$OUT"
for seed in $SEED_LIST; do
    S=(--seed "$seed")
    want dense && step "$B" train "${DATA[@]}" "${TRAIN[@]}" "${S[@]}" --epochs "$EPOCHS" "${RUN[@]}" --out "$OUT/dense/seed$seed"
    for s in $SPARSITIES; do
        d="$OUT/s$s"
        for si in $SPARSE_INIT; do
            suffix=""; [ "$si" = fan-in ] && suffix="-fanin"
            for c in random random-erk snip grasp synflow; do
                want "$c" || continue
                extra=(--criterion "$c" --allocation global)
                case $c in
                    # The static sparse baseline of SET and RigL: a random mask at their ERK densities, never rewired.
                    random-erk) extra=(--criterion random --allocation erk) ;;
                    snip) extra+=(--scoring-batches 1) ;;     # the paper: one batch
                    grasp) extra+=(--scoring-batches 2) ;;    # the paper: 10 examples per class (120 here)
                    synflow) extra+=(--synflow-rounds 100) ;; # Algorithm 1's 100 rounds
                esac
                step "$B" prune oneshot --at-init --sparsity "$s" "${extra[@]}" \
                    --sparse-init "$si" --finetune-epochs "$EPOCHS" "${DATA[@]}" "${TRAIN[@]}" "${S[@]}" "${RUN[@]}" \
                    --out "$d/$c$suffix/seed$seed"
            done
            for m in set rigl; do
                want "$m" || continue
                step "$B" prune dynamic --method "$m" --sparsity "$s" --distribution erk --update-every "$UPDATE_EVERY" --end-update 0.75 \
                    --sparse-init "$si" --epochs "$EPOCHS" "${DATA[@]}" "${TRAIN[@]}" "${S[@]}" "${RUN[@]}" \
                    --out "$d/$m$suffix$DT_SUFFIX/seed$seed"
            done
        done
        want gmp && step "$B" prune dynamic --method gmp --sparsity "$s" --distribution uniform --update-every "$UPDATE_EVERY" \
            --end-update 0.75 --epochs "$EPOCHS" "${DATA[@]}" "${TRAIN[@]}" "${S[@]}" "${RUN[@]}" --out "$d/gmp$DT_SUFFIX/seed$seed"
        want imp || continue
        rate=$(python3 -c "print(f'{1 - (1 - $s) ** (1 / $CYCLES):.6f}')")
        step "$B" prune iterative --criterion magnitude --allocation global --cycles "$CYCLES" --rate "$rate" \
            --retrain "rewind:$REWIND" --epochs "$EPOCHS" "${DATA[@]}" "${TRAIN[@]}" "${S[@]}" "${RUN[@]}" --out "$d/imp/seed$seed"
    done
    # gRDA has no target sparsity: it ends where c and μ take it (more with larger μ and longer training; LeNet-300-100
    # at E = 10: μ = 0.7 → 95.1 %, μ = 0.75 → 97.2 % sparse).
    for mu in $GRDA_MUS; do
        want grda || continue
        step "$B" prune grda --no-baseline --no-gmp --c "$GRDA_C" --mu "$mu" --epochs "$EPOCHS" "${DATA[@]}" \
            --batch-size 60 --lr "$GRDA_LR" --schedule constant "${S[@]}" "${RUN[@]}" --out "$OUT/grda$GRDA_SUFFIX-mu$mu/seed$seed"
    done
done
echo "all runs in $OUT; table and chart: python3 experiments/baselines/table.py $OUT"
