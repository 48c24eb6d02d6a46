#!/usr/bin/env python3
"""Issue #14's accuracy table from experiments/structured/run.sh's folder: per model, the dense model's test accuracy
(as `prune structured` measured it on loading) and the compacted model's after fine-tuning, with sizes.

  python3 experiments/structured/table.py runs/structured/e3_ft2_r0.5
"""
import json, os, sys

if len(sys.argv) != 2:
    sys.exit("usage: table.py RUNS_FOLDER (experiments/structured/run.sh's OUT)")
root = sys.argv[1]
if not os.path.isdir(root):
    sys.exit(f"{root}: no such folder")
print("| model | removed | allocation | parameters dense → compacted | MACs dense → compacted | dense test acc. (%) "
      "| compacted after fine-tuning (%) | difference (points) | fine-tuning steps |")
print("|---|---|---|---|---|---:|---:|---:|---:|")
for model in sorted(os.listdir(root)):
    for run in sorted(os.listdir(os.path.join(root, model))):
        path = os.path.join(root, model, run, "summary.json")
        if run == "dense" or not os.path.isfile(path):
            continue
        with open(path) as f:
            s = json.load(f)
        c, b, a = s["config"], s["before"], s["after"]
        print(f"| {model} | {c['channelRatio']:.0%} | {c['allocation']}, ×{c['roundTo']} | {b['parameters']:,} → {a['parameters']:,} "
              f"| {b['macs']/1e6:.1f}M → {a['macs']/1e6:.1f}M | {100*b['testAccuracy']:.2f} | {100*a['testAccuracy']:.2f} "
              f"| {100*(a['testAccuracy']-b['testAccuracy']):+.2f} | {s['finetuneIterations']} |")
