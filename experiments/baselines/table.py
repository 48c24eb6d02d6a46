#!/usr/bin/env python3
"""The table and chart of issue #19's baselines from the run directories experiments/baselines/run.sh wrote.

    python3 experiments/baselines/table.py runs/baselines/lenet300-100/e10

Prints a Markdown table (rows: methods; columns: the sparsities found; cells: test accuracy mean ± std over the seeds
and the achieved % of prunable weights remaining) and writes it to DIR/table.md, and the chart — test accuracy against
% remaining, one line per method, ± std bars — to DIR/chart.svg (hand-written SVG: `shears prune compare` takes one
run per name and no gRDA run, so it cannot draw seeds of point methods with gRDA beside them).

Which accuracy: the test accuracy at the best validation accuracy among the evaluations made at the run's final
sparsity — the early-stop point of the official split's 5,000 held-out images, the same rule for every method:
dense, one-shot, SET, RigL and an IMP cycle keep one sparsity throughout; gradual magnitude pruning restarts its
early-stop record at each pruning step, so its summary's value is already taken after the last one; gRDA's sparsity
grows at every step, so only its final evaluation qualifies and its final test accuracy is used.
"""
import json
import math
import os
import re
import statistics
import sys
from glob import glob

METHODS = [  # (directory name, label), in the table's order
    ("random", "random at init"), ("random-erk", "random at init, ERK (static sparse)"), ("snip", "SNIP at init"), ("grasp", "GraSP at init"),
    ("synflow", "SynFlow at init"), ("set", "SET"), ("rigl", "RigL"), ("gmp", "gradual magnitude (Zhu–Gupta)"),
    ("imp", "IMP, rewinding (5 cycles)"),
]


def variants(root, sparsities):
    """(directory name, label) of every method folder found, in METHODS' order, each base method followed by its
    variants from run.sh: `-fanin` (SPARSE_INIT=fan-in, Evci et al. 2022's scale) and `-dt<ΔT>` (UPDATE_EVERY)."""
    found = set()
    for s in sparsities:
        folder = os.path.join(root, f"s{s}")
        found.update(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    out = []
    for base, label in METHODS:
        names = [d for d in found if d == base or d.startswith(base + "-")]
        names = [d for d in names if not any(other != base and other.startswith(base) and (d == other or d.startswith(other + "-"))
                                             for other, _ in METHODS)]   # random-erk… is not a variant of random
        def key(d):
            rest = d[len(base):]
            m = re.search(r"-dt(\d+)", rest)
            return ("-fanin" in rest, int(m.group(1)) if m else 0)
        for d in sorted(names, key=key):
            rest, parts = d[len(base):], [label]
            if "-fanin" in rest:
                parts.append("fan-in scale")
            m = re.search(r"-dt(\d+)", rest)
            if m:
                parts.append(f"ΔT = {m.group(1)}")
            if re.fullmatch(r"(-fanin)?(-dt\d+)?", rest):
                out.append((d, ", ".join(parts)))
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def last_jsonl(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a killed writer's cut-short last line
    return rows[-1] if rows else None


def point(method, run):
    """(test accuracy, % remaining) of one finished run directory, or None if it has not finished."""
    if method == "imp":
        if not os.path.exists(os.path.join(run, "summary.json")):
            return None
        last = last_jsonl(os.path.join(run, "run_0", "cycles.jsonl"))
        acc = last.get("test_accuracy_at_best_validation")
        return (acc if acc is not None else last["final_test_accuracy"]), last["percent_remaining"]
    if method == "grda":
        path = os.path.join(run, "summary.json")
        if not os.path.exists(path):
            return None
        phase = next(p for p in load(path)["phases"] if p["phase"] == "grda")
        # weightSparsity: the conv/linear weights, the prunable weights of every other method.
        return phase["finalTestAccuracy"], 100 * (1 - phase["weightSparsity"])
    path = os.path.join(run, "summary.json")
    if not os.path.exists(path):
        return None
    s = load(path)
    acc = s.get("testAccuracyAtBestValidation")
    if acc is None:
        acc = s["testAccuracyFinal"] if "testAccuracyFinal" in s else s["final"]["test"]["accuracy"]
    return acc, s.get("percentRemaining", 100.0)


def gather(method, pattern):
    """The points of the finished runs among the seed directories matching `pattern`."""
    return [p for p in (point(method, r) for r in sorted(glob(pattern))) if p is not None]


def mean_std(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def failures(root):
    """{(sparsity folder, method): [error, …]} from run.sh's failures.jsonl (trainings that stopped, e.g. diverged)."""
    out = {}
    path = os.path.join(root, "failures.jsonl")
    if os.path.exists(path):
        seen = set()
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                rec = json.loads(line)
                parts = os.path.normpath(rec["out"]).split(os.sep)
                if rec["out"] in seen or len(parts) < 3 or os.path.exists(os.path.join(rec["out"], "summary.json")):
                    continue  # a later re-run finished it
                seen.add(rec["out"])
                out.setdefault((parts[-3], parts[-2]), []).append(rec["error"])
    return out


def cell(points, seeds, failed=()):
    n_failed = len(failed)
    failed_note = f"; {n_failed} failed: diverged" if n_failed and all("nan" in e.lower() for e in failed) else \
        (f"; {n_failed} failed" if n_failed else "")
    if not points:
        return f"failed in {n_failed} of {n_failed} seeds (loss diverged)" if n_failed else "—"
    acc, std = mean_std([100 * a for a, _ in points])
    rem = statistics.mean(r for _, r in points)
    n = "" if len(points) == seeds and not n_failed else f", n={len(points)}"
    return f"{acc:.2f} ± {std:.2f} ({rem:.1f} %{n}{failed_note})"


def svg_chart(series, dense, path):
    """series: [(label, [(x % remaining, y mean, y std)])]; log x reversed (sparser to the right)."""
    # The legend's width from its longest label (about 6.6 px a character at 12 px), so no label is cut.
    longest = max([len(label) for label, _ in series] + [5])
    R = max(250, 60 + int(6.6 * longest))
    W, H, L, T, Bm = 510 + R, max(460, 60 + 18 * (len(series) + 1)), 70, 30, 50
    xs = [x for _, pts in series for x, _, _ in pts] + [100]
    ys = [y + d for _, pts in series for _, y, d in pts] + [y - d for _, pts in series for _, y, d in pts]
    if dense:
        ys += [dense[0] + dense[1], dense[0] - dense[1]]
    if not ys:
        return
    x0, x1 = math.log10(max(min(xs), 0.1)) - 0.05, math.log10(max(xs)) + 0.05
    y0, y1 = math.floor(min(ys)) - 0.5, math.ceil(max(ys)) + 0.5

    def px(x):  # reversed: 100 % at the left, sparse at the right
        return L + (x1 - math.log10(x)) / (x1 - x0) * (W - L - R)

    def py(y):
        return T + (y1 - y) / (y1 - y0) * (H - T - Bm)

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
               "#393b79", "#e6550d", "#31a354", "#843c39", "#7b4173", "#636363", "#bd9e39", "#3182bd", "#ad494a", "#637939"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<line x1="{L}" y1="{H - Bm}" x2="{W - R}" y2="{H - Bm}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - Bm}" stroke="black"/>']
    for tick in [100, 50, 20, 10, 5, 2, 1, 0.5, 0.2]:
        if x0 <= math.log10(tick) <= x1:
            out.append(f'<line x1="{px(tick):.1f}" y1="{H - Bm}" x2="{px(tick):.1f}" y2="{H - Bm + 5}" stroke="black"/>'
                       f'<text x="{px(tick):.1f}" y="{H - Bm + 18}" text-anchor="middle">{tick:g}</text>')
    step = max(1, round((y1 - y0) / 8))
    y = math.ceil(y0)
    while y <= y1:
        out.append(f'<line x1="{L - 5}" y1="{py(y):.1f}" x2="{L}" y2="{py(y):.1f}" stroke="black"/>'
                   f'<line x1="{L}" y1="{py(y):.1f}" x2="{W - R}" y2="{py(y):.1f}" stroke="#eee"/>'
                   f'<text x="{L - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
        y += step
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">% of prunable weights remaining (log scale)</text>')
    out.append(f'<text transform="translate(18 {(T + H - Bm) / 2}) rotate(-90)" text-anchor="middle">test accuracy (%) at best validation</text>')
    legend = []
    if dense:
        out.append(f'<line x1="{L}" y1="{py(dense[0]):.1f}" x2="{W - R}" y2="{py(dense[0]):.1f}" stroke="black" stroke-dasharray="5,4"/>')
        legend.append(("dense", "black", True))   # dashed black: the dense reference line
    for i, (label, pts) in enumerate(series):
        c = colours[i % len(colours)]
        pts = sorted(pts, reverse=True)
        # Variants (the fan-in scale, another ΔT) dashed, so a method and its variants read as one family.
        variant = "fan-in scale" in label or "ΔT =" in label
        dash = ' stroke-dasharray="6,3"' if variant else ""
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>'
                       % (c, dash, " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y, _ in pts)))
        for x, y, d in pts:
            out.append(f'<line x1="{px(x):.1f}" y1="{py(y - d):.1f}" x2="{px(x):.1f}" y2="{py(y + d):.1f}" stroke="{c}"/>'
                       f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}"/>')
        legend.append((label, c, variant))
    for i, (label, c, dashed) in enumerate(legend):
        ly = T + 10 + 18 * i
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        out.append(f'<line x1="{W - R + 15}" y1="{ly}" x2="{W - R + 40}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/>'
                   f'<text x="{W - R + 46}" y="{ly + 4}">{label.replace("&", "&amp;")}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: table.py DIR   (the folder experiments/baselines/run.sh wrote, e.g. runs/baselines/lenet300-100/e10)")
    root = sys.argv[1]
    sparsities = sorted((d[len("s"):] for d in os.listdir(root) if d.startswith("s") and os.path.isdir(os.path.join(root, d))),
                        key=float)
    if not sparsities:
        sys.exit(f"table.py: no s<sparsity> folders in {root}")
    rows = variants(root, sparsities)
    seeds = max([len(glob(os.path.join(root, "dense", "seed*")))]
                + [len(glob(os.path.join(root, f"s{s}", m, "seed*"))) for s in sparsities for m, _ in rows])
    failed = failures(root)
    header = "| method | " + " | ".join(f"{100 * float(s):g} % sparse" for s in sparsities) + " |"
    lines = [header, "|---|" + "---:|" * len(sparsities)]
    series = []
    dense_points = gather("dense", os.path.join(root, "dense", "seed*"))
    dense = None
    if dense_points:
        dense = mean_std([100 * a for a, _ in dense_points])
        lines.append("| dense (100 %, in every column) | " + " | ".join([cell(dense_points, seeds)] * len(sparsities)) + " |")
    for method, label in rows:
        cells, pts = [], []
        for s in sparsities:
            p = gather(method, os.path.join(root, f"s{s}", method, "seed*"))
            cells.append(cell(p, seeds, failed.get((f"s{s}", method), [])))
            if p:
                m, d = mean_std([100 * a for a, _ in p])
                pts.append((statistics.mean(r for _, r in p), m, d))
        if pts or any(failed.get((f"s{s}", method)) for s in sparsities):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if pts:
            series.append((label, pts))
    grda_series = {}   # c → points: run.sh names grda-mu<μ> (c = 0.005, its default) or grda-c<c>-mu<μ>
    def grda_key(d):
        m = re.fullmatch(r"grda-(?:c([0-9.eE+-]+)-)?mu([0-9.]+)", os.path.basename(d))
        return (float(m.group(1) or 0.005), float(m.group(2))) if m else None
    for run in sorted((d for d in glob(os.path.join(root, "grda-*")) if grda_key(d)), key=grda_key):
        c, mu = grda_key(run)
        p = gather("grda", os.path.join(run, "seed*"))
        if not p:
            continue
        rem = statistics.mean(r for _, r in p)
        # gRDA has no target: its cell goes under the column nearest its achieved sparsity.
        nearest = min(range(len(sparsities)), key=lambda i: abs(100 * (1 - float(sparsities[i])) - rem))
        cells = ["—"] * len(sparsities)
        cells[nearest] = cell(p, seeds)
        lines.append(f"| gRDA c = {c:g}, μ = {mu:g} | " + " | ".join(cells) + " |")
        m, d = mean_std([100 * a for a, _ in p])
        grda_series.setdefault(c, []).append((rem, m, d))
    for c, pts in sorted(grda_series.items()):
        series.append((f"gRDA c = {c:g} (one point per μ)", pts))
    lines += ["",
              f"Test accuracy (%) mean ± std over {seeds} seed(s), at the best validation accuracy among the evaluations at "
              "the run's final sparsity (gRDA: final), with the achieved % of prunable (conv/linear) weights remaining in "
              "brackets (n = seeds found where fewer). Budget: E epochs from initialisation for every method except IMP "
              "(E per cycle, 6 E in all) — see experiments/baselines/run.sh for the setting. gRDA has no target "
              "sparsity: one row per μ, its cell under the column nearest its achieved sparsity."]
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(root, "table.md"), "w") as f:
        f.write(table + "\n")
    svg_chart(series, dense, os.path.join(root, "chart.svg"))
    print(f"\nwrote {os.path.join(root, 'table.md')} and {os.path.join(root, 'chart.svg')}")


if __name__ == "__main__":
    main()
