#!/usr/bin/env python3
"""The table of bench/engines_infer.sh: img/s per (model, sparsity, batch) as medians over rounds, and the ratios
Shears ÷ engine computed within each round (then the median). "Shears sparse" is the plan with the sparse forms that
`SparseInference.prepare` chose, each kept only where it measured faster than the fused dense step.

    python3 bench/engines_table.py RESULTS.jsonl
"""
import collections
import json
import statistics
import sys


def main():
    rows = collections.defaultdict(dict)   # (model, sparsity, batch) -> round -> {framework: row}
    for line in open(sys.argv[1]):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["model"], r["sparsity"], r["batch_size"])
        rows[key].setdefault(r.get("round", 0), {})[r["framework"]] = r
    print("| model | sparsity | batch | Shears eager dense | Shears dense (plan) | ONNX Runtime | plan ÷ ORT "
          "| Shears sparse (plan) | DeepSparse | sparse ÷ DeepSparse | rounds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    med = statistics.median
    for key in sorted(rows, key=lambda k: (k[0], k[1], k[2])):
        rounds = [r for r in rows[key].values() if {"shears", "onnxruntime", "deepsparse"} <= r.keys()]
        if not rounds:
            continue
        sh = [r["shears"] for r in rounds]
        ort = [r["onnxruntime"]["img_s"] for r in rounds]
        ds = [r["deepsparse"]["img_s"] for r in rounds]
        vs_ort = [s["dense_img_s"] / o for s, o in zip(sh, ort)]
        vs_ds = [s["sparse_img_s"] / d for s, d in zip(sh, ds)]
        print(f"| {key[0]} | {key[1]:.0%} | {key[2]} | {med(s['eager_dense_img_s'] for s in sh):,.0f} "
              f"| {med(s['dense_img_s'] for s in sh):,.0f} | {med(ort):,.0f} | **{med(vs_ort):.2f}×** "
              f"| {med(s['sparse_img_s'] for s in sh):,.0f} | {med(ds):,.0f} | **{med(vs_ds):.2f}×** | {len(rounds)} |")


if __name__ == "__main__":
    main()
