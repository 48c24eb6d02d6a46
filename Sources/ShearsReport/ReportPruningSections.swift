import Foundation
import ShearsAnalysis
import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsPrune

extension Report {
    /// All `prune iterative` runs together: accuracy against the % of weights each directory's masks left (mean ± std
    /// over its runs, one curve per directory, labelled by NAME=DIR or by what differs in their configs), the table of
    /// those numbers aligned by level (`PruningComparison`), max_lr per cycle and the learning rate over the cycles.
    /// `points` (`prune oneshot`, `prune dynamic`) join the accuracy chart and table as one point each.
    static func iterativeSection(_ runs: [IterativeRunData], points: [PointPruningRunData] = [], index: Int) -> ReportSection {
        let title = runs.isEmpty
            ? "Pruning at one sparsity (\(points.count) run director\(points.count == 1 ? "y" : "ies"))"
            : "Iterative pruning (\(runs.count) run director\(runs.count == 1 ? "y" : "ies")"
                + (points.isEmpty ? "" : ", with \(points.count) one-shot or dynamic run\(points.count == 1 ? "" : "s")") + ")"
        var b = SectionBuilder(title: title, index: index)
        let labels = runs.contains(where: \.labelled) ? runs.map(\.name) : ReportLabels.labels(runs.map { ($0.name, $0.config as any Encodable) })
        let pointLabels = points.contains(where: \.labelled) ? points.map(\.name)
            : ReportLabels.labels(points.map { ($0.name, $0.config as any Encodable) })
        if !runs.isEmpty {
            b.text("Curves: " + zip(runs, labels).map { r, l in "\(l == r.name ? l : "\(l) = \(r.name)") (\(r.runCount) run\(r.runCount == 1 ? "" : "s"), "
                + "measured on the \(PruningComparison.describe(r.config.training.split))" + (r.finished ? "" : ", unfinished: from cycles.jsonl") + ")" }
                .joined(separator: "; ") + ".")
        }
        if !points.isEmpty {
            b.text("Points (one sparsity each): " + zip(points, pointLabels).map { p, l in
                "\(l == p.name ? l : "\(l) = \(p.name)") (\(p.command) \(p.method), measured on the \(PruningComparison.describe(p.split))"
                    + (p.result == nil ? ", unfinished: no summary.json, not drawn" : "")
                    + (p.result.map { $0.testAccuracyAtBestValidation == nil ? ", final test accuracy: no early-stop record" : "" } ?? "") + ")"
            }.joined(separator: "; ") + ".")
        }
        for note in runs.flatMap(\.metricsNotes) + points.flatMap(\.metricsNotes) { b.text(note) }
        let curves = zip(runs, labels).map { r, l in PruningCurve(name: l, runs: r.runCount, split: r.config.training.split, levels: r.levels) }
            + zip(points, pointLabels).map { p, l in p.curve(name: l) }
        let allLabels = labels + pointLabels
        // A log axis once the levels span a factor of 10 (as OpenLTH draws them); linear for the first few cycles.
        let remaining = curves.flatMap { $0.levels.map(\.percentRemaining.mean) }.filter { $0.isFinite && $0 > 0 }
        let logX = (remaining.max() ?? 1) / (remaining.min() ?? 1) >= 10
        var acc = PruningComparison.chart(curves, title: "Test accuracy vs weights remaining", logX: logX)
        acc.xLabel = "prunable weights remaining (%\(logX ? ", log scale" : ""); each run's own masks)"
        b.line(acc, name: "accuracy-vs-remaining",
               caption: "Test accuracy at the best validation accuracy of each cycle against the percentage of prunable weights "
                   + "remaining that the run's masks measured; dots are cycles (one dot: a one-shot or dynamic run), shaded bands "
                   + "mean ± sample std over the runs of a directory.")

        let splits = Set(curves.map(\.split))
        b.table("Test accuracy (%) at best validation, mean ± std over runs, on the test set of the "
                + (splits.count == 1 ? PruningComparison.describe(splits.first!) : "split named in each column")
                + "; one row per % of prunable weights remaining as each run's masks measured it (– : the run never reached that level).",
                header: ["remaining (%)"] + zip(allLabels, curves).map { splits.count == 1 ? $0.0 : "\($0.0) (\($0.1.split.rawValue))" },
                rows: PruningComparison.alignedRows(curves).map { row in
                    [row.remaining] + row.cells.map { $0.map { ReportFormat.percent($0.testAccuracyAtBestValidation) } ?? "–" }
                })
        // The training of a handful of point runs against the epoch (with more, the first three).
        for (p, l) in zip(points, pointLabels).prefix(3) where !p.metrics.isEmpty {
            addCurves(&b, metrics: p.metrics, x: "epoch", xLabel: "epoch (of the \(p.command == "prune oneshot" ? "fine-tuning" : "training"))",
                      what: l)
        }
        guard !runs.isEmpty else { return b.section }

        var maxLR = SVGLineChart(title: "max_lr per pruning cycle", xLabel: "pruning cycle m",
                                 yLabel: "largest learning rate of the cycle (per step)",
                                 series: zip(runs, labels).map { r, l in (name: l, points: r.levels.map { (Double($0.cycle), $0.maxLR) }) })
        maxLR.markers = true
        b.line(maxLR, name: "max-lr", caption: "The largest learning rate of every cycle (for S-Cyc: Eq. 2's max_lr(m)).")

        let lrSeries = zip(runs, labels).compactMap { r, l in lrOverCycles(r).map { (name: l, points: $0) } }
        b.line(SVGLineChart(title: "Learning rate over the cycles", xLabel: "pruning cycle (fraction = iterations into the cycle)",
                            yLabel: "learning rate (per step)", series: lrSeries),
               name: "lr-over-cycles",
               caption: "Each cycle's learning-rate schedule, computed from config.json at 200 points per cycle "
                   + "(x = cycle + iteration / iterations per cycle).")

        // Per-directory charts for a handful of directories; with more, for the first and those with distributions.
        let all = Array(zip(runs, labels))
        let detailed = runs.count <= 3 ? all : all.enumerated().filter { $0.offset == 0 || !$0.element.0.distributions.isEmpty }.map(\.element)
        if detailed.count < all.count {
            b.text("Per-tensor sparsity drawn for \(detailed.map(\.0.name).joined(separator: ", ")) only, of \(all.count) directories "
                   + "(give fewer directories for the others).")
        }
        for (r, l) in detailed { addSparsityAndDistributions(&b, r, label: l) }
        return b.section
    }

    /// The schedule of every cycle at 200 points each, x = m + t / T; nil when T cannot be told (no metrics row of cycle 0).
    static func lrOverCycles(_ r: IterativeRunData) -> [(Double, Double)]? {
        let perCycle: Int
        if let it = r.config.training.iterations {
            perCycle = it
        } else if let e = r.config.training.epochs,
                  let row = r.firstRunMetrics.first(where: { ($0["cycle"] ?? 0) == 0 && ($0["epoch"] ?? 0) > 0 }),
                  let step = row["step"], let epoch = row["epoch"] {
            perCycle = Int((step / epoch).rounded()) * e   // step = t in cycle 0, epoch = t / (iterations per epoch)
        } else { return nil }
        guard perCycle > 0 else { return nil }
        guard let schedule = try? ScheduleRegistry.make(r.config.training.schedule, ScheduleContext(
            baseLR: r.config.training.lr, iterationsPerEpoch: 1, totalIterations: perCycle, pruningRate: r.config.rate)) else { return nil }
        let cycles = r.levels.map(\.cycle)
        let samples = 200
        return cycles.flatMap { m in
            (0..<samples).map { k -> (Double, Double) in
                let t = k * perCycle / samples
                return (Double(m) + Double(t) / Double(perCycle), Double(schedule.learningRate(iteration: t, cycle: m)))
            }
        }
    }

    /// Per-layer sparsity bars and, when probed, the Fig. 1 histograms of run 0 of one directory.
    static func addSparsityAndDistributions(_ b: inout SectionBuilder, _ r: IterativeRunData, label: String) {
        if let last = r.sparsity.last {
            // A few cycles side by side: the first pruned one, one in the middle and the last.
            let picks = Array(Set([r.sparsity.count > 1 ? r.sparsity[1] : last, r.sparsity[r.sparsity.count / 2], last].map(\.cycle)))
                .sorted().compactMap { m in r.sparsity.first { $0.cycle == m } }
            let names = last.report.rows.map(\.name)
            b.bars(SVGBarChart(title: "Weights remaining per tensor: \(r.name) (run 0)", valueLabel: "weights remaining (%)",
                               categoryLabel: "tensor",
                               categories: names,
                               series: picks.map { p in
                                   (name: "cycle \(p.cycle): \(ReportFormat.fixed(100 * p.report.density, 1))% overall",
                                    values: names.map { n in p.report.rows.first { $0.name == n }.map { 100 * $0.density } ?? .nan })
                               }),
                   name: "sparsity-\(r.name)",
                   caption: "\(label): percentage of each prunable tensor's weights left by the mask (run 0, sparsity/cycle_<m>.json).")
            b.table("\(label): weights remaining per tensor at cycle \(last.cycle) (run 0)",
                    header: ["tensor", "shape", "remaining", "total", "remaining (%)"],
                    rows: last.report.rows.map { [$0.name, $0.shape.map(String.init).joined(separator: "×"), "\($0.remaining)", "\($0.total)",
                                                  ReportFormat.fixed(100 * $0.density, 2)] })
        }
        guard !r.distributions.isEmpty else { return }
        // At most 6 curves per chart stay legible: cycle 0, the last, and evenly spaced ones between.
        let d = r.distributions
        let picks = d.count <= 6 ? d : Array(Set((0..<6).map { $0 * (d.count - 1) / 5 })).sorted().map { d[$0] }
        let edges = r.distributionsOnCommonEdges ? "common edges (cycle 0's mean ± 4σ₀)" : "each cycle's Sturges bins"
        b.histogram(SVGHistogramChart(title: "Weight-gradient distribution: \(r.name)",
                                      xLabel: "weight gradient ∂L/∂w (loss per unit weight)",
                                      yLabel: "density (per unit ∂L/∂w, log scale)",
                                      series: picks.map { (name: percentRemainingLabel($0.percentRemaining), edges: $0.gradients.edges,
                                                           values: $0.gradients.density) }, logY: true),
                    name: "gradients-\(r.name)",
                    caption: "\(label): histograms of the alive weights' gradients after each cycle (run 0, \(edges)); "
                        + "a narrowing distribution is the S-Cyc paper's Fig. 1(a).")
        let withActivations = picks.filter { $0.activations != nil }
        if !withActivations.isEmpty {
            b.histogram(SVGHistogramChart(title: "Post-ReLU activation distribution: \(r.name)",
                                          xLabel: "post-ReLU activation of hidden layers (unitless)",
                                          yLabel: "density (per unit activation, log scale)",
                                          series: withActivations.map { (name: percentRemainingLabel($0.percentRemaining),
                                                                         edges: $0.activations!.edges, values: $0.activations!.density) },
                                          logY: true),
                        name: "activations-\(r.name)",
                        caption: "\(label): histograms of the hidden layers' post-ReLU activations after each cycle (run 0, \(edges)).")
        }
        b.table("\(label): distribution statistics per cycle (run 0, σ₀ and μ₀ of cycle 0)",
                header: ["cycle", "remaining (%)", "gradient std", "outside 2σ₀ (%)", "outside 3σ₀ (%)", "activation mean",
                         "activation std", "activations above μ₀+2σ₀ (%)"],
                rows: r.distributionStats.map {
                    ["\($0.cycle)", ReportFormat.fixed($0.percentRemaining, 2), ReportFormat.number($0.gradientStd),
                     ReportFormat.percent($0.gradientOutside2Sigma0), ReportFormat.percent($0.gradientOutside3Sigma0),
                     ReportFormat.number($0.activationMean), ReportFormat.number($0.activationStd), ReportFormat.percent($0.activationAbove2Sigma0)]
                })
    }

    /// `prune oracle`: the well-tuned max_lr of every cycle inside its feasible region, beside S-Cyc's value.
    static func oracleSection(_ r: OracleRunData, index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Oracle max_lr search: \(r.name)", index: index)
        let cycles = r.summary.cycles
        if let c = r.config {
            b.text("Grid \(c.grid.map { ReportFormat.number($0) }.joined(separator: ", ")); feasible = validation accuracy within "
                   + "\(ReportFormat.percent(c.tolerance)) percentage points of the cycle's best; accuracies measured on the "
                   + "\(PruningComparison.describe(c.pruning.training.split)).")
        } else {
            b.text("No config.json beside oracle.json: the split these accuracies were measured on is not known.")
        }
        var chart = SVGLineChart(title: "Well-tuned max_lr per cycle: \(r.name)", xLabel: "pruning cycle m",
                                 yLabel: "max_lr (peak learning rate per step)",
                                 series: [(name: "well-tuned (band: feasible region)", points: cycles.map { (Double($0.cycle), $0.wellTunedMaxLR) }),
                                          (name: "S-Cyc max_lr (Eq. 2)", points: cycles.map { (Double($0.cycle), $0.sCycMaxLR) })])
        chart.bands[0] = cycles.compactMap { c in
            guard let lo = c.feasibleRegion.first, let hi = c.feasibleRegion.last else { return nil }
            return (Double(c.cycle), lo, hi)
        }
        chart.markers = true
        chart.dashed = [1]
        b.line(chart, name: "oracle", caption: "The grid's best max_lr per cycle; the band is the feasible region [min, max] of "
               + "grid values within the tolerance of the best validation accuracy; dashed: S-Cyc's max_lr.")
        var acc = SVGLineChart(title: "Oracle accuracy per cycle: \(r.name)", xLabel: "prunable weights remaining (%)", yLabel: "accuracy (%)",
                               series: [(name: "best validation", points: cycles.map { ($0.percentRemaining, 100 * $0.bestValidationAccuracy) }),
                                        (name: "test at best validation", points: cycles.map { ($0.percentRemaining, 100 * $0.testAccuracyAtBestValidation) })])
        acc.markers = true
        acc.reverseX = true
        b.line(acc, name: "oracle-accuracy", caption: "Accuracy of the well-tuned training of every cycle.")
        b.table("Per cycle: the well-tuned max_lr, the feasible region and S-Cyc's max_lr",
                header: ["cycle", "remaining (%)", "well-tuned max_lr", "feasible region", "S-Cyc max_lr", "S-Cyc inside",
                         "best val. acc. (%)", "test acc. (%)"],
                rows: cycles.map { c in
                    ["\(c.cycle)", ReportFormat.fixed(c.percentRemaining, 2), ReportFormat.number(c.wellTunedMaxLR),
                     c.feasibleRegion.count == 2 ? "[\(ReportFormat.number(c.feasibleRegion[0])), \(ReportFormat.number(c.feasibleRegion[1]))]" : "–",
                     ReportFormat.number(c.sCycMaxLR), c.sCycInsideRegion ? "yes" : "no",
                     ReportFormat.percent(c.bestValidationAccuracy), ReportFormat.percent(c.testAccuracyAtBestValidation)]
                })
        return b.section
    }
}
