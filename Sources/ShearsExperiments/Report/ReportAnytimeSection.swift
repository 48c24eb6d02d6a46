import Foundation
import ShearsIO

extension Report {
    /// All `anytime` runs overlaid: test accuracy, CER, density per megabatch and the generalisation gap per epoch.
    static func anytimeSection(_ runs: [AnytimeRunData], index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Anytime progressive pruning (\(runs.count) run\(runs.count == 1 ? "" : "s"))", index: index)
        let labels = ReportLabels.labels(runs.map { ($0.name, $0.config as any Encodable) })
        b.text("Curves: " + zip(runs, labels).map { "\($0.1) = \($0.0.name) (\($0.0.config.method.rawValue), \($0.0.records.count) megabatches"
            + ($0.0.summary == nil ? ", unfinished" : "") + ")" }.joined(separator: "; ") + ".")
        func perMegabatch(_ value: (MegabatchRecord) -> Double) -> [(name: String, points: [(Double, Double)])] {
            zip(runs, labels).map { r, l in (name: l, points: r.records.map { (Double($0.megabatch), value($0)) }) }
        }
        var acc = SVGLineChart(title: "Test accuracy per megabatch", xLabel: "megabatch t", yLabel: "test accuracy of F_t (%)",
                               series: perMegabatch { 100 * $0.testAccuracy })
        acc.markers = true
        b.line(acc, name: "test-accuracy", caption: "Test accuracy of the best-validation model after each megabatch.")
        var cer = SVGLineChart(title: "Cumulative error rate (CER)", xLabel: "megabatch t", yLabel: "test errors summed up to t (count)",
                               series: perMegabatch { Double($0.cumulativeErrors) })
        cer.markers = true
        b.line(cer, name: "cer", caption: "Eq. 1 of the APP paper up to t: Σ_{s ≤ t} of F_s's test errors (lower is better).")
        var density = SVGLineChart(title: "Density per megabatch", xLabel: "megabatch t", yLabel: "prunable weights remaining (%)",
                                   series: perMegabatch { 100 * $0.density })
        density.markers = true
        b.line(density, name: "density", caption: "The real density of the mask over the prunable weights after each megabatch.")
        let gap = zip(runs, labels).map { r, l in
            (name: l, points: r.records.flatMap { rec in rec.gap.enumerated().map { (e, g) in
                (Double(rec.megabatch - 1) + Double(e + 1) / Double(max(1, rec.gap.count)), 100 * g) } })
        }
        b.line(SVGLineChart(title: "Generalisation gap", xLabel: "megabatches done (t − 1 + epoch / epochs per megabatch)",
                            yLabel: "train − validation accuracy (percentage points)", series: gap),
               name: "gap", caption: "Running train accuracy minus validation accuracy at every epoch of every megabatch.")
        b.table("Per run", header: ["curve", "method", "pruner", "megabatches", "final test acc. (%)", "CER (errors)",
                                    "final density (%)", "target (%)", "final gap (pp)", "mean gap (pp)"],
                rows: zip(runs, labels).map { r, l in
                    let s = r.summary
                    return [l, r.config.method.rawValue, r.config.pruner, "\(r.records.count)",
                            ReportFormat.percent(s?.finalTestAccuracy ?? r.records.last?.testAccuracy),
                            "\(s?.cer ?? r.records.last?.cumulativeErrors ?? 0)",
                            ReportFormat.percent(s?.finalDensity ?? r.records.last?.density), ReportFormat.percent(s?.targetFinalDensity),
                            ReportFormat.percent(s?.finalGap), ReportFormat.percent(s?.meanGap)]
                })
        return b.section
    }
}
