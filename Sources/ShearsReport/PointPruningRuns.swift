import Foundation
import ShearsExperiments
import ShearsIO

/// A run that ends at one sparsity — `prune oneshot` (prune once, fine-tune) and `prune dynamic` (SET, RigL at constant
/// sparsity) — read as one point of test accuracy against the % of prunable weights its mask left, beside the levels
/// of iterative-pruning runs. Recognised by config.json: it decodes as the command's config and as no other.
public struct PointPruningRunData {
    public var path: String, name: String
    /// Whether `name` was given on the command line (NAME=DIR) rather than taken from the directory.
    public var labelled = false
    /// "prune oneshot" or "prune dynamic".
    public var command: String
    /// The criterion of a one-shot run ("snip", "grasp", …), the method of a dynamic one ("set", "rigl").
    public var method: String
    public var split: SplitKind
    /// The config, for legend labels.
    public var config: any Encodable
    /// % of prunable weights remaining and the accuracies; nil until summary.json is written.
    public var result: PointResult?
    /// The (fine-)tuning's metrics rows, and what metrics.jsonl says about divergence or a cut-short line.
    public var metrics: [[String: Double]]
    public var metricsNotes: [String]

    /// The numbers of a finished run. `testAccuracyAtBestValidation` is nil without an early-stop record (no validation
    /// set, or a one-shot run evaluated without fine-tuning): the point then shows the final test accuracy.
    public struct PointResult: Sendable {
        public var percentRemaining: Double
        public var testAccuracyAtBestValidation: Double?
        public var testAccuracyFinal: Double
        /// What the point's accuracy is: at best validation where there is an early-stop record, else the final one.
        public var plotted: Double { testAccuracyAtBestValidation ?? testAccuracyFinal }
    }

    /// The run at `f`, or nil when its config.json is neither a one-shot nor a dynamic sparse training config.
    static func load(_ f: ReportFiles) throws -> PointPruningRunData? {
        guard f.exists("config.json") else { return nil }
        if let c = try? f.json(DynamicSparseConfig.self, "config.json") {
            let metrics = try f.metrics()
            let s = try f.optionalJSON(DynamicSparseSummary.self, "summary.json")
            return PointPruningRunData(path: f.path, name: f.name, command: "prune dynamic", method: c.method.rawValue, split: c.training.split,
                                       config: c, result: s.map { PointResult(percentRemaining: $0.percentRemaining,
                                                                              testAccuracyAtBestValidation: $0.testAccuracyAtBestValidation,
                                                                              testAccuracyFinal: $0.testAccuracyFinal) },
                                       metrics: metrics.rows, metricsNotes: metrics.notes)
        }
        if let c = try? f.json(OneShotConfig.self, "config.json") {
            let metrics = try f.metrics()
            let s = try f.optionalJSON(OneShotSummary.self, "summary.json")
            return PointPruningRunData(path: f.path, name: f.name, command: "prune oneshot", method: c.criterion + (c.atInit ? " at init" : ""),
                                       split: c.training.split, config: c,
                                       result: s.map { PointResult(percentRemaining: $0.percentRemaining,
                                                                   testAccuracyAtBestValidation: $0.testAccuracyAtBestValidation,
                                                                   testAccuracyFinal: $0.testAccuracyFinal) },
                                       metrics: metrics.rows, metricsNotes: metrics.notes)
        }
        return nil
    }

    /// The run as a one-level curve (no level while unfinished), aligned with iterative runs by its % remaining.
    public func curve(name: String) -> PruningCurve {
        let levels = result.map { r in
            [PruningLevel(cycle: 0, percentRemaining: MeanStd([r.percentRemaining]), testAccuracyAtBestValidation: MeanStd([r.plotted]),
                          finalTestAccuracy: MeanStd([r.testAccuracyFinal]), maxLR: .nan)]
        } ?? []
        return PruningCurve(name: name, runs: 1, split: split, levels: levels)
    }
}
