#!/usr/bin/env bash
# Issue #14's accuracy rows (docs/structured.md, "Accuracy at 50 % of channels"): for each model, a dense network
# trained on MNIST, then `shears prune structured` from it — L1 filter norm, RATIO of every group's channels removed
# (layerwise, widths rounded to multiples of 8, as the speed rows), fine-tuned FINETUNE epochs — and its compacted
# model's test accuracy against the dense one's. Then
#   python3 experiments/structured/table.py runs/structured/<setting>
# prints the table.
#
# Environment (defaults in brackets):
#   MODELS      space-separated zoo names [conv4 vgg11 resnet20]; VGG gets --pad 2 (MNIST 28×28 → 32×32, its five pools)
#   EPOCHS      dense training epochs [3], cosine schedule from LR [0.05], SGD momentum 0.9, weight decay 5e-4, batch 128
#   FINETUNE    fine-tuning epochs after the pruning [2], constant rate FT_LR [0.01]
#   RATIO       fraction of channels removed [0.5]; ALLOCATION layerwise | global [layerwise]; ROUND_TO [8]
#   SEED [1]; THREADS [2]; SHEARS the binary [.build/release/shears]; OUT [runs/structured/e<E>_ft<F>_r<RATIO>]
# Re-running is safe: a finished `train` directory is reported at once, and a finished prune (summary.json) is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODELS=${MODELS:-conv4 vgg11 resnet20}
EPOCHS=${EPOCHS:-3}; FINETUNE=${FINETUNE:-2}; RATIO=${RATIO:-0.5}; ALLOCATION=${ALLOCATION:-layerwise}
ROUND_TO=${ROUND_TO:-8}; LR=${LR:-0.05}; FT_LR=${FT_LR:-0.01}; SEED=${SEED:-1}; THREADS=${THREADS:-2}
SHEARS=${SHEARS:-.build/release/shears}
OUT=${OUT:-runs/structured/e${EPOCHS}_ft${FINETUNE}_r${RATIO}}
for model in $MODELS; do
  data=(--dataset mnist --batch-size 128 --seed "$SEED")
  [[ $model == vgg* ]] && data+=(--pad 2)
  dense="$OUT/$model/dense"
  "$SHEARS" train --model "$model" "${data[@]}" --epochs "$EPOCHS" --lr "$LR" --momentum 0.9 --weight-decay 5e-4 \
    --schedule cosine --threads "$THREADS" --out "$dense"
  pruned="$OUT/$model/l1-$ALLOCATION"
  if [ ! -f "$pruned/summary.json" ]; then
    "$SHEARS" prune structured --model "$model" "${data[@]}" --from "$dense/model.safetensors" --criterion l1 \
      --channel-ratio "$RATIO" --allocation "$ALLOCATION" --round-to "$ROUND_TO" --finetune-epochs "$FINETUNE" \
      --lr "$FT_LR" --momentum 0.9 --weight-decay 5e-4 --threads "$THREADS" --out "$pruned"
  fi
done
