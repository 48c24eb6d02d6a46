import Foundation
import ShearsExperiments
import ShearsIO
import ShearsPrune

/// The oracle's Table 3 and chart, from its public record (`oracle.json`), written by `prune oracle` as `oracle.md` /
/// `oracle.svg`: the table says its split, and the chart plots against the measured % remaining.
public enum OracleTables {
    /// Table 3's layout: one column per cycle (its measured % of prunable weights remaining), rows well-tuned max_lr,
    /// feasible region, S-Cyc's max_lr (✗ outside the region), and the well-tuned trial's accuracies.
    public static func markdown(_ s: OracleSummary, split: SplitKind?) -> String {
        func g(_ x: Double) -> String { String(format: "%.4g", x) }
        let cols = s.cycles
        var out = "| | " + cols.map { String(format: "%.3g", $0.percentRemaining) }.joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---|", count: cols.count) + "\n"
        out += "| well-tuned max_lr | " + cols.map { g($0.wellTunedMaxLR) }.joined(separator: " | ") + " |\n"
        out += "| feasible region | " + cols.map { "[\(g($0.feasibleRegion[0])), \(g($0.feasibleRegion[1]))]" }.joined(separator: " | ") + " |\n"
        out += "| S-Cyc (Eq. 2) | " + cols.map { g($0.sCycMaxLR) + ($0.sCycInsideRegion ? "" : " ✗") }.joined(separator: " | ") + " |\n"
        out += "| best val acc (%) | " + cols.map { String(format: "%.2f", 100 * $0.bestValidationAccuracy) }.joined(separator: " | ") + " |\n"
        out += "| test acc at best val (%) | " + cols.map { String(format: "%.2f", 100 * $0.testAccuracyAtBestValidation) }.joined(separator: " | ") + " |\n"
        let measured = split.map { "Accuracies measured on the \(PruningComparison.describe($0))." } ?? "The split is not known (no config.json)."
        return "Columns: % of prunable weights remaining. ✗: S-Cyc's max_lr outside the feasible region. \(measured)\n\n" + out
    }

    /// max_lr against the measured % remaining (100 at the left; a log axis once the levels span a factor of 10).
    public static func chart(_ s: OracleSummary, title: String) -> SVGLineChart {
        func pts(_ f: (OracleCycle) -> Double) -> [(Double, Double)] { s.cycles.map { ($0.percentRemaining, f($0)) } }
        let p = s.cycles.map(\.percentRemaining).filter { $0.isFinite && $0 > 0 }
        var chart = SVGLineChart(title: title, xLabel: "prunable weights remaining (%)", yLabel: "max_lr (learning rate)",
                                 series: [(name: "well-tuned", points: pts(\.wellTunedMaxLR)),
                                          (name: "feasible: lowest", points: pts { $0.feasibleRegion[0] }),
                                          (name: "feasible: highest", points: pts { $0.feasibleRegion[1] }),
                                          (name: "S-Cyc (Eq. 2)", points: pts(\.sCycMaxLR))])
        chart.reverseX = true
        chart.logX = (p.max() ?? 1) / (p.min() ?? 1) >= 10
        if chart.logX { chart.xLabel = "prunable weights remaining (%, log scale)" }
        chart.markers = true
        return chart
    }
}

/// Mode connectivity's `summary.md` from its public record (`connectivity.json`), written by `analyze connectivity`.
public enum ConnectivityTables {
    public static func markdown(_ r: ConnectivityReport, model: String, split: SplitKind?) -> String {
        func row(_ label: String, _ s: CurveStatistic, _ scale: Double, _ fmt: String) -> String {
            let f = { (v: Double) in String(format: fmt, scale * v) }
            return "| \(label) | \(f(s.start)) | \(f(s.min)) (t = \(String(format: "%.3f", s.argminT))) | \(f(s.max)) (t = "
                + "\(String(format: "%.3f", s.argmaxT))) | \(f(s.end)) | \(f(s.lengthWeightedMean)) | \(f(s.barrier)) |"
        }
        let measured = split.map { "Losses and errors measured on the \(PruningComparison.describe($0))." } ?? "The split is not known."
        return ["# Mode connectivity: \(r.startLabel) (t = 0) ↔ \(r.endLabel) (t = 1), \(model)", "",
                "\(r.startLabel): `\(r.start)`  ", "\(r.endLabel): `\(r.end)`", "",
                String(format: "‖w_%@ − w_%@‖ = %.4g; the middle bend θ lies at (%.4g, %.4g) in the plane.", r.endLabel, r.startLabel,
                       r.distance, r.middle[0], r.middle[1]) + " " + measured, "",
                "| along the curve (\(r.curve.t.count) points) | t = 0 | min | max | t = 1 | length-weighted mean | barrier (max − max of ends) |",
                "|---|---:|---:|---:|---:|---:|---:|",
                row("train loss", r.trainLoss, 1, "%.4g"), row("test error (%)", r.testError, 100, "%.2f"), ""].joined(separator: "\n")
    }
}

/// `prune grda`'s `summary.md` (the comparison table, then gRDA's and GMP's per-tensor densities) and its curves
/// (`curves_test_accuracy.svg`, `curves_sparsity.svg`, `curves_train_loss.svg`), from the run's public records
/// (`summary.json` and each phase's metrics), written by the CLI after the run.
public enum DirectionalTables {
    /// The comparison table: one row per phase.
    public static func markdownTable(_ s: DirectionalPruningSummary) -> String {
        func percent(_ a: Double?) -> String { a.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
        var lines = ["| method | final test acc | test acc at best val | sparsity (all params) | sparsity (conv/fc weights) | final train loss |",
                     "|---|---:|---:|---:|---:|---:|"]
        for p in s.phases {
            lines.append("| \(p.phase) | \(percent(p.finalTestAccuracy)) | \(percent(p.testAccuracyAtBestValidation)) | "
                         + "\(percent(p.sparsity)) | \(percent(p.weightSparsity)) | \(String(format: "%.4f", p.finalTrainLoss)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `summary.md` and the three curves into the run directory.
    public static func write(_ s: DirectionalPruningSummary, config: DirectionalPruningConfig, in dir: RunDirectory) throws {
        let tc = config.training
        var md = ["# gRDA c = \(config.c), μ = \(config.mu), lr \(tc.lr) (\(tc.schedule)), \(tc.model.rawValue) on \(tc.dataset.rawValue) "
                  + "(\(tc.split.rawValue) split)", "", markdownTable(s), ""]
        for p in s.phases where p.phase != "sgd" {
            md += ["## \(p.phase): per-tensor density", "", p.layers.markdown, ""]
        }
        try md.joined(separator: "\n").write(toFile: dir.path("summary.md"), atomically: true, encoding: .utf8)
        func series(_ key: String, scale: Double) throws -> [(name: String, points: [(Double, Double)])] {
            try s.phases.map { p in
                let rows = try JSONLines.numericRows(from: dir.path("\(p.phase)/\(RunDirectory.metricsJSONL)"))
                return (p.phase, rows.compactMap { r in r[key].flatMap { v in r["epoch"].map { ($0, scale * v) } } })
            }
        }
        for (key, label, file) in [("test_acc", "test accuracy (%)", "curves_test_accuracy.svg"),
                                   ("sparsity", "sparsity, all parameters (%)", "curves_sparsity.svg"),
                                   ("train_loss", "train loss", "curves_train_loss.svg")] {
            let chart = SVGLineChart(title: "\(tc.model.rawValue): \(label) (gRDA c = \(config.c), μ = \(config.mu))",
                                     xLabel: "epoch", yLabel: label, series: try series(key, scale: key == "train_loss" ? 1 : 100))
            try chart.write(to: dir.path(file))
        }
    }
}

/// Mode connectivity's figures from its public record (`connectivity.json`): the curve charts (`curve_train_loss.svg`,
/// `curve_error.svg`) and, with a plane, its contours (`plane_train_loss.svg`, `plane_test_error.svg`) with the bends and
/// the projected curve; written by the CLI beside `ConnectivityTables`' summary.md.
public enum ConnectivityFigures {
    public static func write(_ r: ConnectivityReport, model name: String, in dir: RunDirectory) throws {
        let along = "t (0 = \(r.startLabel), 1 = \(r.endLabel))"
        try SVGLineChart(title: "\(name): train loss along the Bézier curve", xLabel: along, yLabel: "train loss (cross-entropy)",
                         series: [("train loss", Array(zip(r.curve.t, r.curve.trainLoss)))]).write(to: dir.path("curve_train_loss.svg"))
        try SVGLineChart(title: "\(name): error along the Bézier curve", xLabel: along, yLabel: "error (%)",
                         series: [("test error", zip(r.curve.t, r.curve.testError).map { ($0, 100 * $1) }),
                                  ("train error", zip(r.curve.t, r.curve.trainError).map { ($0, 100 * $1) })])
            .write(to: dir.path("curve_error.svg"))
        guard let p = r.plane else { return }
        let overlays = [SVGContourChart.Overlay(name: "Bézier curve", points: p.curve.map { ($0[0], $0[1]) }, joined: true),
                        SVGContourChart.Overlay(name: "bends (\(r.startLabel), θ, \(r.endLabel))", points: p.bends.map { ($0[0], $0[1]) },
                                                joined: false, labels: [r.startLabel, "θ", r.endLabel])]
        let xl = "distance along \(r.endLabel) − \(r.startLabel) (weight-space units)", yl = "distance towards θ (weight-space units)"
        try SVGContourChart(title: "\(name): train loss on the plane of the three bends", xLabel: xl, yLabel: yl,
                            valueLabel: "train loss", xs: p.xs, ys: p.ys, values: p.trainLoss, logScale: true, overlays: overlays)
            .write(to: dir.path("plane_train_loss.svg"))
        try SVGContourChart(title: "\(name): test error on the plane of the three bends", xLabel: xl, yLabel: yl,
                            valueLabel: "test error (%)", xs: p.xs, ys: p.ys, values: p.testError.map { $0.map { 100 * $0 } },
                            logScale: true, overlays: overlays)
            .write(to: dir.path("plane_test_error.svg"))
    }
}
