#!/usr/bin/env python3
"""Projected data-parallel step time for 8-64 ranks from measured figures (BENCHMARKS.md "Data parallel").

A projection, not a measurement: a ring allreduce of n bytes over P ranks costs
    T_ar(P) = 2(P-1)*alpha + 2(P-1)/P * n / bandwidth        (Hockney's alpha-beta model)
and a step with global batch G costs compute(G/P) + (1 - overlap) * T_ar(P), where compute is the measured
forward+backward time per example on one thread. Usage:
    mpi_projection.py ALPHA_US BANDWIDTH_GBPS [MODEL:PARAMS:US_PER_EXAMPLE:OVERLAP ...] [--batch G]
"""
import sys

def main(argv):
    batch = 128
    if "--batch" in argv:
        i = argv.index("--batch"); batch = int(argv[i + 1]); del argv[i:i + 2]
    alpha, bw = float(argv[0]) * 1e-6, float(argv[1]) * 1e9
    models = [m.split(":") for m in argv[2:]]
    print(f"| model | ranks | per-rank batch | allreduce (ms) | compute (ms) | step (ms) | speed-up vs 1 rank |")
    print("|---|---|---|---|---|---|---|")
    for name, params, us, overlap in models:
        n, per_example, ov = int(params) * 4, float(us) * 1e-6, float(overlap)
        one = batch * per_example
        for p in (1, 2, 8, 16, 32, 64):
            ar = 0.0 if p == 1 else 2 * (p - 1) * alpha + 2 * (p - 1) / p * n / bw
            compute = -(-batch // p) * per_example
            step = compute + (1 - ov) * ar
            print(f"| {name} | {p} | {-(-batch // p)} | {ar * 1e3:.2f} | {compute * 1e3:.2f} | {step * 1e3:.2f} | {one / step:.1f}× |")

if __name__ == "__main__":
    main(sys.argv[1:])
