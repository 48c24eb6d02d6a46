#!/usr/bin/env python3
"""Markdown table from bench/structured.sh's JSON lines (stdin)."""
import json, sys

rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
print("| model | removed | batch | params orig → compact | MACs orig → compact (ratio) | img/s orig | img/s compact | speed-up | speed-up / MACs ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    mr = r["macs_original"] / r["macs_compacted"]
    su = r["img_s_compacted"] / r["img_s_original"]
    print(f"| {r['model']} | {r['channel_ratio']:.0%} | {r['batch_size']} | {r['params_original']:,} → {r['params_compacted']:,} "
          f"| {r['macs_original']/1e6:.1f}M → {r['macs_compacted']/1e6:.1f}M ({mr:.2f}×) | {r['img_s_original']:.0f} "
          f"| {r['img_s_compacted']:.0f} | {su:.2f}× | {su/mr:.2f} |")
