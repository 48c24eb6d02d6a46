#!/usr/bin/env python3
"""LR-warmup-2's peak: the grid value with the highest mean best-validation accuracy over all cycles of the
oracle (one fixed peak re-tuned on the pruned networks, as the paper re-tunes LR-warmup-1's peak).
Usage: warmup2_peak.py ORACLE_DIR  → prints the peak; with -v also the mean per grid value."""
import json, sys
from collections import defaultdict

args = [a for a in sys.argv[1:] if a != "-v"]
summary = json.load(open(args[0] + "/oracle.json"))
acc = defaultdict(list)
for t in summary["trials"]:
    acc[t["max_lr"]].append(t["best_validation_accuracy"])
means = {lr: sum(v) / len(v) for lr, v in acc.items()}
if "-v" in sys.argv:
    for lr in sorted(means):
        print(f"{lr:g}\t{100 * means[lr]:.3f}", file=sys.stderr)
print(f"{max(sorted(means), key=lambda lr: means[lr]):g}")
