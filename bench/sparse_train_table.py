#!/usr/bin/env python3
"""Turns the JSON lines of bench/sparse_train.sh into the BENCHMARKS.md table: per model, batch and sparsity,
the median over rounds of Shears' dense-masked and sparse img/s, their ratio (median of per-round ratios), and
SparseProp's img/s from the same rounds with Shears sparse ÷ SparseProp."""
import json
import statistics
import sys
from collections import defaultdict

shears, peer, conv = defaultdict(list), defaultdict(list), None
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if "conv_fraction_of_fma_peak" in r:
        conv = r
    elif r.get("framework") == "sparseprop":
        peer[(r["model"], r["batch_size"], round(r["sparsity"], 2))].append(r)
    elif "images_per_second_sparse" in r:
        shears[(r["model"], r["batch_size"], round(r["sparsity"], 2))].append(r)

med = statistics.median
print("| model, batch | sparsity | Shears dense-masked | Shears sparse | sparse ÷ dense | SparseProp | PyTorch dense-masked | Shears sparse ÷ SparseProp | layers sparse |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in sorted(shears):
    rs, ps = shears[key], peer.get(key, [])
    dense, sparse = med(r["images_per_second_dense_masked"] for r in rs), med(r["images_per_second_sparse"] for r in rs)
    ratio = med(r["speedup_median"] for r in rs)
    sp = max(med(p["images_per_second_sparseprop"] for p in ps), med(p["images_per_second_sparseprop_auto"] for p in ps)) if ps else None
    pt = med(p["images_per_second_dense_masked"] for p in ps) if ps else None
    fmt = lambda v: f"{v:,.0f}" if v is not None else "–"
    vs = f"{sparse / sp:.2f}×" if sp else "–"
    print(f"| {key[0]}, {key[1]} | {key[2]:.0%} | {fmt(dense)} | {fmt(sparse)} | {ratio:.2f}× | {fmt(sp)} | {fmt(pt)} | {vs} | "
          f"{rs[0]['sparse_layers']}/{rs[0]['layers']} |")
print(f"\n{len(next(iter(shears.values()), []))} rounds; SparseProp column: the faster of all-swapped and "
      "swap_modules_with_sparse in each round's median.")
if conv:
    print(f"\nFMA peak: {conv['fma_peak_gflops']} GFLOP/s ({conv['fma_peak_kernel']}); ResNet-20 dense convolutions reach "
          f"{conv['conv_gflops']} GFLOP/s = {100 * conv['conv_fraction_of_fma_peak']:.0f}% of it "
          f"(OpenBLAS sgemm 1024³: {conv['openblas_sgemm_1024_gflops']} GFLOP/s).")
