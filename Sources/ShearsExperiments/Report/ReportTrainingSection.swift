import Foundation
import ShearsIO
import ShearsOptim

extension Report {
    /// `shears train`: losses, accuracies and the learning rate against the epoch, and the final numbers.
    static func trainingSection(_ run: TrainingRunData, index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Training: \(run.name)", index: index)
        let c = run.config
        b.text("\(c.model.rawValue) on \(c.dataset.rawValue), \(c.optimizer.rawValue) lr \(c.lr), schedule \(c.schedule), "
               + "batch \(c.batchSize), seed \(c.seed); \(run.metrics.count) evaluations in metrics.jsonl"
               + (run.summary == nil ? " (no summary.json: the run has not finished)." : "."))
        if let s = run.summary {
            let rows = ["train", "validation", "test"].compactMap { split -> [String]? in
                s.final[split].map { [split, ReportFormat.percent($0.accuracy), ReportFormat.number($0.loss)] }
            }
            b.table("Final model (after \(s.iterations) iterations, \(ReportFormat.fixed(s.trainingSeconds, 1)) s)",
                    header: ["split", "accuracy (%)", "loss"], rows: rows)
            b.table("Early-stop record", header: ["best validation accuracy (%)", "at iteration", "test accuracy there (%)"],
                    rows: [[ReportFormat.percent(s.bestValidationAccuracy), s.bestIteration.map(String.init) ?? "–",
                            ReportFormat.percent(s.testAccuracyAtBestValidation)]])
        }
        addCurves(&b, metrics: run.metrics, x: "epoch", xLabel: "epoch", what: run.name, schedule: scheduleCurve(run))
        return b.section
    }

    /// The learning rate of every iteration (400 samples) from config.json's schedule, x in epochs; nil when the
    /// iterations per epoch cannot be told (no metrics row with a positive epoch).
    static func scheduleCurve(_ run: TrainingRunData) -> [(Double, Double)]? {
        guard let row = run.metrics.first(where: { ($0["epoch"] ?? 0) > 0 }), let step = row["step"], let epoch = row["epoch"] else { return nil }
        let bpe = Int((step / epoch).rounded())   // step = iteration, epoch = iteration / iterations per epoch
        let total = run.config.iterations ?? (run.config.epochs ?? 0) * bpe
        guard bpe > 0, total > 0 else { return nil }
        guard let schedule = try? ScheduleRegistry.make(run.config.schedule, ScheduleContext(
            baseLR: run.config.lr, iterationsPerEpoch: bpe, totalIterations: total)) else { return nil }
        return (0...400).map { k in
            let t = min(total - 1, k * total / 400)
            return (Double(t) / Double(bpe), Double(schedule.learningRate(iteration: t)))
        }
    }

    /// Loss, accuracy (%) and learning-rate charts from metrics rows against the column `x`.
    static func addCurves(_ b: inout SectionBuilder, metrics: [[String: Double]], x: String, xLabel: String, what: String,
                          schedule: [(Double, Double)]? = nil) {
        func series(_ keys: [(String, String)], scale: Double = 1) -> [(name: String, points: [(Double, Double)])] {
            keys.compactMap { key, name in
                let pts = metrics.compactMap { r in r[key].flatMap { v in r[x].map { ($0, scale * v) } } }
                return pts.isEmpty ? nil : (name: name, points: pts)
            }
        }
        let splits = [("train", "train"), ("val", "validation"), ("test", "test")]
        var loss = SVGLineChart(title: "Loss: \(what)", xLabel: xLabel, yLabel: "cross-entropy loss (nats per example)",
                                series: series(splits.map { ("\($0.0)_loss", $0.1) }))
        loss.markers = metrics.count <= 40
        b.line(loss, name: "loss", caption: "Mean cross-entropy loss of each split at every evaluation.")
        var acc = SVGLineChart(title: "Accuracy: \(what)", xLabel: xLabel, yLabel: "accuracy (%)",
                               series: series(splits.map { ("\($0.0)_acc", $0.1) }, scale: 100))
        acc.markers = metrics.count <= 40
        b.line(acc, name: "accuracy", caption: "Top-1 accuracy of each split at every evaluation.")
        var lr = SVGLineChart(title: "Learning rate: \(what)", xLabel: xLabel, yLabel: "learning rate (per step)",
                              series: (schedule.map { [(name: "schedule (config.json)", points: $0)] } ?? []) + series([("lr", "lr at the evaluations")]))
        lr.markers = schedule == nil && metrics.count <= 40
        if schedule != nil { lr.dashed = [1] }
        b.line(lr, name: "lr", caption: "The learning rate: the config's schedule at every iteration"
               + (schedule == nil ? " (not known: no metrics row with an epoch)" : "") + ", and the metrics' lr column at the evaluations.")
    }
}
