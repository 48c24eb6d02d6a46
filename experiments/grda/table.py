#!/usr/bin/env python3
"""Tables for docs/grda.md from runs/grda/lenet_mu*/ (run after reproduce.sh)."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "runs/grda"
mus = ["0.51", "0.55", "0.6", "0.7"]

def load(path):
    with open(path) as f:
        return json.load(f)

def metrics(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows

print("| run | final test acc | test acc at best val | sparsity (all params) | sparsity (conv/fc weights) | final train loss | τ_final |")
print("|---|---:|---:|---:|---:|---:|---:|")
for mu in mus:
    d = os.path.join(root, f"lenet_mu{mu}")
    for phase in ["sgd", "grda", "gmp"]:
        p = os.path.join(d, phase, "result.json")
        if not os.path.exists(p):
            continue
        r = load(p)
        name = {"sgd": "SGD", "grda": f"gRDA μ={mu}", "gmp": f"GMP to μ={mu}'s sparsity"}[phase]
        best = r.get("testAccuracyAtBestValidation")
        tau = r.get("threshold")
        print(f"| {name} | {100*r['finalTestAccuracy']:.2f} % | {100*best:.2f} % | {100*r['sparsity']:.2f} % | "
              f"{100*r['weightSparsity']:.2f} % | {r['finalTrainLoss']:.4f} | {'' if tau is None else f'{tau:.4f}'} |")

print()
print("Sparsity (all parameters, %) and test accuracy (%) at each evaluation of gRDA:")
print()
header = None
for mu in mus:
    p = os.path.join(root, f"lenet_mu{mu}", "grda", "metrics.jsonl")
    if not os.path.exists(p):
        continue
    rows = metrics(p)
    if header is None:
        header = [f"{r['epoch']:.2f}" for r in rows]
        print("| μ | " + " | ".join(f"ep {h}" for h in header) + " |")
        print("|---|" + "---:|" * len(header))
    print(f"| {mu} | " + " | ".join(f"{100*r['sparsity']:.1f} / {100*r['test_acc']:.2f}" for r in rows) + " |")

print()
print("Per-tensor sparsity at the end of gRDA (%):")
print()
names = None
for mu in mus:
    p = os.path.join(root, f"lenet_mu{mu}", "grda", "result.json")
    if not os.path.exists(p):
        continue
    rows = load(p)["layers"]["rows"]
    if names is None:
        names = [r["name"] for r in rows]
        print("| μ | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
    print(f"| {mu} | " + " | ".join(f"{100*(1-r['density']):.1f}" for r in rows) + " |")
