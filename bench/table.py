"""Turns the JSON lines of bench/run.sh into the Markdown table of BENCHMARKS.md (best of the rounds)."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
best = {}
for r in rows:
    who = "shears" if "framework" not in r else f"pytorch {r.get('torch_version', '?')}"
    key = (r["model"], r["batch_size"], r["threads"], who)
    if key not in best or r["images_per_second"] > best[key]["images_per_second"]:
        best[key] = r

print("| model | batch | threads | Shears img/s | PyTorch | PyTorch img/s | Shears / PyTorch | Shears peak RSS MB | PyTorch peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|")
for (model, batch, threads, who), r in sorted(best.items()):
    if who != "shears":
        continue
    peers = [(k[3], v) for k, v in best.items() if k[:3] == (model, batch, threads) and k[3] != "shears"]
    if not peers:
        print(f"| {model} | {batch} | {threads} | {r['images_per_second']:.1f} | – | – | – | {r['peak_rss_mb']:.0f} | – |")
    for name, p in sorted(peers):
        ratio = r["images_per_second"] / p["images_per_second"]
        print(f"| {model} | {batch} | {threads} | {r['images_per_second']:.1f} | {name} | {p['images_per_second']:.1f} "
              f"| **{ratio:.2f}×** | {r['peak_rss_mb']:.0f} | {p['peak_rss_mb']:.0f} |")
conv = [r for r in rows if "conv_gflops" in r]
if conv:
    c = conv[-1]
    print(f"\nResNet-20 convolutions (forward + both backward passes, oneDNN jit:avx2, NHWC): "
          f"{c['conv_gflops']} GFLOP/s = {100 * c['conv_fraction_of_sgemm_peak']:.0f}% of this machine's sgemm peak "
          f"({c['sgemm_peak_gflops']} GFLOP/s, OpenBLAS 1024³, same binary); convolutions take "
          f"{100 * c['conv_share_of_step']:.0f}% of the training step.")
