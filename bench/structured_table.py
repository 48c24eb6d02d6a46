#!/usr/bin/env python3
"""Markdown tables from bench/structured.sh or bench/structured_torch.sh JSON lines (stdin).

Shears' lines (`shears bench structured`) give the first table. When bench/torch_structured.py speed lines follow
them (structured_torch.sh), each is paired with the Shears line before it (same model, ratio and batch) and a
second table compares absolute img/s: Shears' compacted model, PyTorch's model of the same widths, and
Torch-Pruning's own compaction (whose widths may differ: it rounds kept counts down, Shears to the nearest)."""
import json, sys

rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
shears = [r for r in rows if "framework" not in r]
torch = [r for r in rows if r.get("framework") == "pytorch"]

print("| model | removed | batch | params orig → compact | MACs orig → compact (ratio) | img/s orig | img/s compact | speed-up | speed-up / MACs ratio "
      "| plan: img/s orig | plan: img/s compact | plan: speed-up / MACs ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in shears:
    mr = r["macs_original"] / r["macs_compacted"]
    su = r["img_s_compacted"] / r["img_s_original"]
    # Lines from before the inference plan have no plan columns.
    plan = (f"| {r['img_s_original_plan']:.0f} | {r['img_s_compacted_plan']:.0f} "
            f"| {r['img_s_compacted_plan'] / r['img_s_original_plan'] / mr:.2f} |") if "img_s_original_plan" in r else "| – | – | – |"
    print(f"| {r['model']} | {r['channel_ratio']:.0%} | {r['batch_size']} | {r['params_original']:,} → {r['params_compacted']:,} "
          f"| {r['macs_original']/1e6:.1f}M → {r['macs_compacted']/1e6:.1f}M ({mr:.2f}×) | {r['img_s_original']:.0f} "
          f"| {r['img_s_compacted']:.0f} | {su:.2f}× | {su/mr:.2f} " + plan)

if torch:
    key = lambda r: (r["model"], r["channel_ratio"], r["batch_size"])
    by = {key(r): r for r in shears}
    print()
    print("| model | removed | batch | Shears orig | Shears compact | PyTorch orig | PyTorch, Shears' widths | Torch-Pruning compact (MACs) "
          "| Shears / PyTorch same widths | PyTorch speed-up / MACs ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in torch:
        s = by.get(key(t))
        if s is None:
            sys.exit(f"no Shears line for {key(t)}")
        mr = t["macs_original"] / t["macs_shears_widths"]
        print(f"| {t['model']} | {t['channel_ratio']:.0%} | {t['batch_size']} | {s['img_s_original']:.0f} | {s['img_s_compacted']:.0f} "
              f"| {t['img_s_original']:.0f} | {t['img_s_shears_widths']:.0f} | {t['img_s_tp_compacted']:.0f} ({t['macs_tp_compacted']/1e6:.1f}M) "
              f"| {s['img_s_compacted'] / t['img_s_shears_widths']:.2f}× | {t['img_s_shears_widths'] / t['img_s_original'] / mr:.2f} |")
