import Foundation
import ShearsExperiments
import ShearsIO

/// `anytime compare`'s table and charts: finished anytime runs side by side, runs given the same NAME (one per seed)
/// forming one row (mean ± sample std, curves averaged).
public enum AnytimeComparison {
    /// One named group of finished runs and the split their test numbers were measured on.
    public struct Group {
        public var name: String
        public var runs: [AnytimeSummary]
        public var splits: [SplitKind]
    }

    /// Reads `spec` (`DIR` or `NAME=DIR`, see `RunSpec`): its summary.json and config.json.
    public static func load(_ spec: String) throws -> (name: String, summary: AnytimeSummary, split: SplitKind) {
        let s = RunSpec(parsing: spec), f = ReportFiles(s.path)
        guard f.exists("summary.json") else {
            throw ReportError("\(f.file("summary.json")) does not exist: \(s.path) is not a finished `shears anytime` run")
        }
        let summary = try f.json(AnytimeSummary.self, "summary.json")
        let config = try f.json(AnytimeConfig.self, "config.json")
        return (s.name, summary, config.training.split)
    }

    /// Runs under one name form one group, in the order their names first appear.
    public static func group(_ rows: [(name: String, summary: AnytimeSummary, split: SplitKind)]) -> [Group] {
        var out: [Group] = []
        for r in rows {
            if let i = out.firstIndex(where: { $0.name == r.name }) {
                out[i].runs.append(r.summary); out[i].splits.append(r.split)
            } else {
                out.append(Group(name: r.name, runs: [r.summary], splits: [r.split]))
            }
        }
        return out
    }

    static func cell(_ xs: [Double], _ format: String) -> String {
        let m = MeanStd(xs)
        return String(format: format, m.mean) + (m.std.map { " ± " + String(format: format, $0) } ?? "")
    }

    /// Element-wise mean of curves (the shortest length when they differ).
    static func meanCurve(_ curves: [[Double]]) -> [Double] {
        let n = curves.map(\.count).min() ?? 0
        return (0..<n).map { i in curves.reduce(0) { $0 + $1[i] } / Double(curves.count) }
    }

    public static func markdownTable(_ groups: [Group]) -> String {
        var out = "| run | method | seeds | final test acc (%) | CER | max CER | final density (real) | target | final gap (pp) | mean gap (pp) | test split |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|---|\n"
        for g in groups {
            let s = g.runs[0], runs = g.runs
            out += "| \(g.name) | \(s.method.rawValue)\(s.method == .dense ? "" : " (\(s.pruner))") | \(runs.count) | "
                + cell(runs.map { 100 * $0.finalTestAccuracy }, "%.2f") + " | " + cell(runs.map { Double($0.cer) }, "%.0f") + " | "
                + "\(s.megabatches * s.testExamples) | " + cell(runs.map(\.finalDensity), "%.4f") + " | "
                + String(format: "%.4f", s.targetFinalDensity) + " | " + cell(runs.map { 100 * $0.finalGap }, "%.2f") + " | "
                + cell(runs.map { 100 * $0.meanGap }, "%.2f") + " | " + Set(g.splits.map(\.rawValue)).sorted().joined(separator: ", ") + " |\n"
        }
        return out
    }

    /// (file suffix, chart): test accuracy per megabatch, the gap per epoch and the real density.
    public static func charts(_ groups: [Group], title: String) -> [(String, SVGLineChart)] {
        func mean(_ runs: [AnytimeSummary], _ f: (MegabatchRecord) -> Double) -> [(Double, Double)] {
            meanCurve(runs.map { $0.records.map(f) }).enumerated().map { (Double($0.offset + 1), $0.element) }
        }
        let accuracy = SVGLineChart(title: "\(title): test accuracy after each megabatch", xLabel: "megabatch t",
                                    yLabel: "test accuracy (%)", series: groups.map { g in (g.name, mean(g.runs) { 100 * $0.testAccuracy }) })
        let gap = SVGLineChart(title: "\(title): generalisation gap per epoch", xLabel: "epoch across the stream",
                               yLabel: "train acc − validation acc (pp)",
                               series: groups.map { g in (g.name, meanCurve(g.runs.map(\.gapCurve)).enumerated().map { (Double($0.offset + 1), 100 * $0.element) }) })
        let density = SVGLineChart(title: "\(title): real density of the mask", xLabel: "megabatch t",
                                   yLabel: "fraction of prunable weights kept", series: groups.map { g in (g.name, mean(g.runs) { $0.density }) })
        return [("accuracy", accuracy), ("gap", gap), ("density", density)]
    }
}
