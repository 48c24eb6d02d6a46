"""Turns the JSON lines of bench/infer.sh into the tables of bench/INFER_RESULTS.md.

Each Shears line carries dense and sparse timings of the same pruned weights measured interleaved in one
process; PyTorch lines carry dense timings from the same round. Reported per row: the medians over rounds of
Shears dense, Shears sparse and PyTorch dense, the median of the per-round sparse ÷ dense speedups (and their
range), sparse ÷ PyTorch dense, and the issue's target (3× at 90 %, 6× at 98 %). Lines tagged "sweep" (one
layer, many sparsities) become the crossover table.
"""
import json
import statistics
import sys

lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sweep = [r for r in lines if r.get("tag") == "sweep"]
main = [r for r in lines if r.get("tag") != "sweep"]
shears = [r for r in main if r["framework"] == "shears"]
torch = [r for r in main if r["framework"] == "pytorch"]
med = statistics.median


def target(s):
    return 3.0 if abs(s - 0.9) < 1e-9 else 6.0 if abs(s - 0.98) < 1e-9 else None


def torch_for(model, batch, layer=None):
    vals = [r for r in torch if r["model"] == model and r["batch_size"] == batch and r.get("layer") == layer]
    if not vals:
        return None, None
    key = "dense_us" if layer else "dense_img_s"
    return med(v[key] for v in vals), vals[0]["torch_version"]


threads = sorted({r["threads"] for r in lines})
print(f"Threads: {', '.join(map(str, threads))}. Rounds: {max([1] + [sum(1 for r in shears if r['model'] == 'lenet300-100' and r['batch_size'] == 1 and r['sparsity'] == 0.9)])}.\n")

# Whole models.
models = sorted({(r["model"], r["batch_size"], r["sparsity"]) for r in shears if "layer" not in r})
if models:
    print("**Whole models** (img/s, medians over rounds; speedup = Shears sparse ÷ Shears dense per round)\n")
    print("| model | batch | sparsity | Shears dense | Shears sparse | speedup (range) | PyTorch dense | sparse ÷ PyTorch | layers sparse | target | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model, b, s in models:
        rs = [r for r in shears if "layer" not in r and (r["model"], r["batch_size"], r["sparsity"]) == (model, b, s)]
        sp = [r["speedup"] for r in rs]
        tp, _ = torch_for(model, b)
        sparse = med(r["sparse_img_s"] for r in rs)
        t = target(s)
        print(f"| {model} | {b} | {s} | {med(r['dense_img_s'] for r in rs):.0f} | {sparse:.0f} | {med(sp):.2f}× "
              f"({min(sp):.2f}–{max(sp):.2f}) | {tp:.0f} | {sparse / tp:.2f}× | {rs[0]['layers_sparse']}/{rs[0]['layers_total']} "
              f"| {t:.0f}× | {'yes' if med(sp) >= t else f'no ({med(sp) / t:.0%} of it)'} |" if tp else
              f"| {model} | {b} | {s} | {med(r['dense_img_s'] for r in rs):.0f} | {sparse:.0f} | {med(sp):.2f}× | – | – | – | – | – |")
    print()

# Single conv layers.
layers = sorted({(r["model"], r["layer"], r["batch_size"], r["sparsity"]) for r in shears if "layer" in r},
                key=lambda k: (k[0], k[2], k[3], [r["layer"] for r in shears if r["model"] == k[0] and "layer" in r].index(k[1])))
if layers:
    print("**Conv layers on their own** (µs per call, medians over rounds; dense = Shears' oneDNN convolution)\n")
    print("| model | layer | input | weight | stride | batch | sparsity | Shears dense µs | Shears sparse µs | layout | speedup (range) | PyTorch dense µs | target | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for model, layer, b, s in layers:
        rs = [r for r in shears if (r["model"], r.get("layer"), r["batch_size"], r["sparsity"]) == (model, layer, b, s)]
        sp = [r["speedup"] for r in rs]
        tp, _ = torch_for(model, b, layer)
        t = target(s)
        shape = lambda v: "×".join(map(str, v))
        methods = sorted({r["method"] for r in rs if r["method"]})
        met = "–" if t is None else ("yes" if med(sp) >= t else f"no ({med(sp) / t:.0%})")
        print(f"| {model} | {layer.removesuffix('.weight')} | {shape(rs[0]['input'])} | {shape(rs[0]['weight'])} | {rs[0]['stride']} "
              f"| {b} | {s} | {med(r['dense_us'] for r in rs):.0f} | {med(r['sparse_us'] for r in rs):.0f} | {'/'.join(methods)} "
              f"| {med(sp):.2f}× ({min(sp):.2f}–{max(sp):.2f}) | {tp:.0f} | {t:.0f}× | {met} |" if tp else
              f"| {model} | {layer} | | | | {b} | {s} | {med(r['dense_us'] for r in rs):.0f} | {med(r['sparse_us'] for r in rs):.0f} | | {med(sp):.2f}× | – | – | – |")
    print()

# Crossover sweep.
if sweep:
    sparsities = sorted({r["sparsity"] for r in sweep})
    print("**Crossover sweep** (Shears sparse ÷ dense speedup of one layer; the sparse form is worth attaching above 1.0)\n")
    print("| layer | batch | " + " | ".join(f"s={s}" for s in sparsities) + " |")
    print("|---|---|" + "---|" * len(sparsities))
    for model, layer, b in sorted({(r["model"], r["layer"], r["batch_size"]) for r in sweep}):
        cells = []
        for s in sparsities:
            v = [r["speedup"] for r in sweep if (r["model"], r["layer"], r["batch_size"], r["sparsity"]) == (model, layer, b, s)]
            cells.append(f"{med(v):.2f}" if v else "–")
        print(f"| {model} {layer.removesuffix('.weight')} | {b} | " + " | ".join(cells) + " |")
