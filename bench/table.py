"""Turns the JSON lines of bench/run.sh into the tables of BENCHMARKS.md.

Throughput on a shared VM drifts by ±20% over minutes, so run.sh interleaves Shears and every PyTorch in
rounds; the honest comparison is within a round. Reported: the median img/s of each framework over the rounds,
and Shears ÷ (the fastest PyTorch *of the same round*) — its minimum and median over the rounds.
"""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{") and "conv_gflops" not in line]
conv = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{") and "conv_gflops" in line]

# Split into rounds: a round starts at each Shears MLP line.
rounds, current = [], []
for r in rows:
    if "framework" not in r and r["model"] == "mlp" and current:
        rounds.append(current)
        current = []
    current.append(r)
if current:
    rounds.append(current)

def who(r):
    return "Shears" if "framework" not in r else f"PyTorch {r['torch_version']}"

for model, batch in sorted({(r["model"], r["batch_size"]) for r in rows}):
    names = sorted({who(r) for r in rows if r["model"] == model}, key=lambda n: (n != "Shears", n))
    print(f"\n**{model}, batch {batch}, {rows[0]['threads']} threads** ({len(rounds)} interleaved rounds)\n")
    print("| framework | img/s per round | median img/s | peak RSS MB |")
    print("|---|---|---|---|")
    for n in names:
        vals = [r for rd in rounds for r in rd if r["model"] == model and who(r) == n]
        ips = [v["images_per_second"] for v in vals]
        print(f"| {n} | {', '.join(f'{x:.0f}' for x in ips)} | {statistics.median(ips):.0f} | {max(v['peak_rss_mb'] for v in vals):.0f} |")
    ratios = []
    for rd in rounds:
        s = [r["images_per_second"] for r in rd if r["model"] == model and who(r) == "Shears"]
        t = [r["images_per_second"] for r in rd if r["model"] == model and who(r) != "Shears"]
        if s and t:
            ratios.append(s[0] / max(t))
    if ratios:
        print(f"\nShears ÷ fastest PyTorch of the same round: {', '.join(f'{x:.2f}×' for x in ratios)} "
              f"(min **{min(ratios):.2f}×**, median **{statistics.median(ratios):.2f}×**)")

if conv:
    c = conv[-1]
    print(f"\nResNet-20 convolutions (forward + both backward passes, oneDNN, NHWC): "
          f"{c['conv_gflops']} GFLOP/s = {100 * c['conv_fraction_of_fma_peak']:.0f}% of this CPU's FMA peak "
          f"({c['fma_peak_gflops']} GFLOP/s, {c['fma_peak_kernel']}; OpenBLAS sgemm 1024³ reaches "
          f"{c['openblas_sgemm_1024_gflops']} GFLOP/s); convolutions take "
          f"{100 * c['conv_share_of_step']:.0f}% of the training step.")
