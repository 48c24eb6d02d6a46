import Foundation
import ShearsExperiments
import ShearsIO

/// One pruning level of a `prune iterative` directory: mean ± std over its runs of the cycle's numbers.
public struct PruningLevel: Equatable, Sendable {
    public var cycle: Int
    /// % of the prunable weights remaining, as each run's mask measured it.
    public var percentRemaining: MeanStd
    public var testAccuracyAtBestValidation: MeanStd
    public var finalTestAccuracy: MeanStd
    public var maxLR: Double

    public init(cycle: Int, percentRemaining: MeanStd, testAccuracyAtBestValidation: MeanStd, finalTestAccuracy: MeanStd, maxLR: Double) {
        self.cycle = cycle; self.percentRemaining = percentRemaining; self.testAccuracyAtBestValidation = testAccuracyAtBestValidation
        self.finalTestAccuracy = finalTestAccuracy; self.maxLR = maxLR
    }

    public init(_ s: CycleStatistics) {
        cycle = s.cycle; percentRemaining = s.percentRemaining; testAccuracyAtBestValidation = s.testAccuracyAtBestValidation
        finalTestAccuracy = s.finalTestAccuracy; maxLR = s.maxLR
    }

    /// The statistics of cycle `cycle` over the records of the runs that reached it.
    public init(cycle: Int, records rows: [CycleRecord]) {
        self.cycle = cycle
        percentRemaining = MeanStd(rows.map(\.percentRemaining))
        testAccuracyAtBestValidation = MeanStd(rows.compactMap(\.testAccuracyAtBestValidation))
        finalTestAccuracy = MeanStd(rows.map(\.finalTestAccuracy))
        maxLR = rows.first?.maxLR ?? .nan
    }
}

/// One directory's accuracy against its own measured % remaining, as `prune compare` and the report draw it.
public struct PruningCurve: Sendable {
    public var name: String
    public var runs: Int
    /// The split its accuracies were measured on (config.json's `training.split`): official or pooled.
    public var split: SplitKind
    public var levels: [PruningLevel]

    public init(name: String, runs: Int, split: SplitKind, levels: [PruningLevel]) {
        self.name = name; self.runs = runs; self.split = split; self.levels = levels
    }
}

/// Tables and charts that put several pruning runs side by side. Runs are aligned by the % of weights that each one's
/// own masks left, never by cycle index: a run at rate 0.5 and one at 0.2 reach different levels at the same cycle.
/// The table has one row per distinct level (rounded to the 0.01 % it prints) and one column per run, so values at
/// the same sparsity share a row — what a reader compares — and runs of one rate fill every row; a run that never
/// reached a level shows "–" there.
public enum PruningComparison {
    /// The row key of a level: its mean % remaining as printed.
    static func key(_ level: PruningLevel) -> String? {
        level.percentRemaining.mean.isFinite ? String(format: "%.2f", level.percentRemaining.mean) : nil
    }

    /// Every distinct level (largest % remaining first) with each curve's level there, or nil.
    public static func alignedRows(_ curves: [PruningCurve]) -> [(remaining: String, cells: [PruningLevel?])] {
        let keys = Set(curves.flatMap { $0.levels.compactMap(key) }).sorted { Double($0)! > Double($1)! }
        return keys.map { k in (k, curves.map { c in c.levels.first { key($0) == k } }) }
    }

    /// "97.12 ± 0.35" (percent), the mean alone for one run, "–" when not finite.
    static func cell(_ s: MeanStd) -> String {
        guard s.mean.isFinite else { return "–" }
        return String(format: "%.2f", 100 * s.mean) + (s.std.map { String(format: " ± %.2f", 100 * $0) } ?? "")
    }

    /// What each split means, for captions.
    public static func describe(_ split: SplitKind) -> String {
        switch split {
        case .official: return "official split (the dataset's own test set)"
        case .pooled: return "pooled split (S-Cyc's 60/20/20 of train ∪ test; its test part mixes official training images)"
        }
    }

    /// The runs' names, directories and splits, one Markdown list item each.
    static func legend(_ curves: [PruningCurve], paths: [String]) -> String {
        zip(curves, paths).map { c, p in "- **\(c.name)**: `\(p)`, \(c.runs) run\(c.runs == 1 ? "" : "s"), \(describe(c.split))\n" }.joined()
    }

    /// `prune compare`'s Markdown: which split each run was measured on, then test accuracy at best validation (mean ±
    /// std over runs, %) per distinct level; the best mean of each row that two or more runs reached in bold.
    public static func markdownTable(_ curves: [PruningCurve], paths: [String]) -> String {
        var out = "Test accuracy (%) at the best validation accuracy, mean ± std over runs, on the test set of each run's split; "
            + "rows: % of prunable weights remaining as each run's masks measured it (a run that never reached a level shows –).\n\n"
        out += legend(curves, paths: paths) + "\n"
        out += "| remaining (%) | " + curves.map { "\($0.name) (\($0.split.rawValue))" }.joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---|", count: curves.count) + "\n"
        for row in alignedRows(curves) {
            let best = row.cells.compactMap { $0?.testAccuracyAtBestValidation.mean }.filter(\.isFinite).max()
            let cells = row.cells.map { l -> String in
                guard let l else { return "–" }
                let text = cell(l.testAccuracyAtBestValidation)
                return row.cells.compactMap({ $0 }).count > 1 && l.testAccuracyAtBestValidation.mean == best ? "**\(text)**" : text
            }
            out += "| \(row.remaining) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    /// Test accuracy against % remaining (100 at the left, pruning goes right), a dot per level, mean ± std bands;
    /// `logX` draws % remaining on a log axis as OpenLTH does.
    public static func chart(_ curves: [PruningCurve], title: String, logX: Bool) -> SVGLineChart {
        var chart = SVGLineChart(title: title, xLabel: "prunable weights remaining (%" + (logX ? ", log scale)" : ")"),
                                 yLabel: "test accuracy at best validation (%)",
                                 series: curves.map { c in
                                     (name: c.name, points: c.levels.map { ($0.percentRemaining.mean, 100 * $0.testAccuracyAtBestValidation.mean) })
                                 })
        chart.logX = logX
        chart.reverseX = true
        chart.markers = true
        for (i, c) in curves.enumerated() where c.levels.contains(where: { $0.testAccuracyAtBestValidation.std != nil }) {
            chart.bands[i] = c.levels.map { l in
                let s = l.testAccuracyAtBestValidation.std ?? 0, m = l.testAccuracyAtBestValidation.mean
                return (l.percentRemaining.mean, 100 * (m - s), 100 * (m + s))
            }
        }
        return chart
    }

    /// Reads a finished `prune iterative` directory (summary.json and config.json) as a curve named `name`, or a finished
    /// `prune oneshot` / `prune dynamic` one as a curve of one point (`PointPruningRunData`).
    public static func load(_ path: String, name: String) throws -> PruningCurve {
        let f = ReportFiles(path)
        guard f.exists("summary.json") else {
            throw ReportError("\(f.file("summary.json")) does not exist: \(path) is not a finished `shears prune iterative`, "
                              + "`prune oneshot` or `prune dynamic` run")
        }
        if let point = try PointPruningRunData.load(f) { return point.curve(name: name) }
        let summary = try f.json(IterativePruningSummary.self, "summary.json")
        let config = try f.json(IterativePruningConfig.self, "config.json")
        return PruningCurve(name: name, runs: summary.runs, split: config.training.split, levels: summary.cycles.map(PruningLevel.init))
    }
}
