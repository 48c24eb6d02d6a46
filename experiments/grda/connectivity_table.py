#!/usr/bin/env python3
"""Tables for docs/grda.md from the connectivity and projection outputs of experiments/grda/connectivity*.sh."""
import json, math, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "runs/grda"

def load(path):
    with open(path) as f:
        return json.load(f)

def row(label, curve_dir, line_dir):
    c = load(os.path.join(root, curve_dir, "connectivity.json"))
    cells = [label, "%.2f" % c["distance"], "(%.2f, %.2f)" % tuple(c["middle"])]
    tl, te = c["trainLoss"], c["testError"]
    cells += ["%.4f → %.4f → %.4f" % (tl["start"], c["curve"]["trainLoss"][len(c["curve"]["t"]) // 2], tl["end"]),
              "%.4f" % tl["barrier"],
              "%.2f → %.2f → %.2f" % (100 * te["start"], 100 * c["curve"]["testError"][len(c["curve"]["t"]) // 2], 100 * te["end"]),
              "%.2f (t = %.2f)" % (100 * te["min"], te["argminT"])]
    if line_dir and os.path.exists(os.path.join(root, line_dir, "connectivity.json")):
        l = load(os.path.join(root, line_dir, "connectivity.json"))
        mid = len(l["curve"]["t"]) // 2
        cells += ["%.4f (t = %.2f)" % (l["trainLoss"]["max"], l["trainLoss"]["argmaxT"]), "%.4f" % l["trainLoss"]["barrier"],
                  "%.4f / %.2f" % (l["curve"]["trainLoss"][mid], 100 * l["curve"]["testError"][mid])]
    else:
        cells += ["–", "–", "–"]
    return "| " + " | ".join(cells) + " |"

print("| run | ‖w_SGD − w_gRDA‖ | θ in the plane | train loss gRDA → φ(½) → SGD | barrier on the curve | test error % gRDA → φ(½) → SGD | best test error on the curve | max train loss on the straight line | line barrier | line midpoint: train loss / test error % |")
print("|---|---:|---|---|---:|---|---|---|---:|---|")
for mu in ["0.51", "0.55", "0.6", "0.7"]:
    if os.path.exists(os.path.join(root, "connectivity_lenet_mu" + mu, "connectivity.json")):
        print(row("3 epochs, μ = " + mu, "connectivity_lenet_mu" + mu, "line_lenet_mu" + mu))
for mu in ["0.55", "0.7"]:
    if os.path.exists(os.path.join(root, "connectivity_long_mu" + mu, "connectivity.json")):
        print(row("15 epochs, μ = " + mu, "connectivity_long_mu" + mu, "line_long_mu" + mu))

for name in ["lenet_mu0.55_snapshots", "long_mu0.55", "long_mu0.7"]:
    p = os.path.join(root, name, "grda", "projection_along.json")
    if not os.path.exists(p):
        continue
    pts = load(p)
    print("\n%s: eq. 13 along training" % name)
    print("| iteration | ‖Δ‖₂ | P (eq. 13) | P/√10 | √(10/d) | λ₁ at SGD |")
    print("|---:|---:|---:|---:|---:|---:|")
    for q in pts:
        pr = q["projection"]
        d = pr.get("dimension") or 266610
        print("| %d | %.3f | %.4f | %.4f | %.4f | %.3f |" % (q["iteration"], pr["deltaNorm"], pr["proportion"], pr["plottedValue"],
                                                       math.sqrt(len(pr["components"]) / d), q["eigenvalues"][0]))
