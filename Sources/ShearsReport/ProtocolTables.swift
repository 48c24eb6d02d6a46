import Foundation
import ShearsExperiments
import ShearsIO

/// The oracle's Table 3 and chart, from its public record (`oracle.json`), for the lead to call where `prune oracle`
/// writes `oracle.md` / `oracle.svg` (today `SCycOracle.table` / `.chart`, whose chart plots against cycle index with a
/// hard-coded "100 · 0.8^m"): the same table, saying its split, and a chart against the measured % remaining.
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

/// Mode connectivity's `summary.md` from its public record (`connectivity.json`), for the lead to call where
/// `analyze connectivity` writes it (today inside `ModeConnectivity.writeFigures`).
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
