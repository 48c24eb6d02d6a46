import Foundation
import ShearsIO

extension Report {
    /// `shears train`: losses, accuracies and the learning rate against the epoch, and the final numbers.
    static func trainingSection(_ run: TrainingRunData, index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Training: \(run.name)", index: index)
        let c = run.config
        b.text("\(c.model.rawValue) on \(c.dataset.rawValue), \(c.optimizer.rawValue) lr \(c.lr), schedule \(c.schedule.rawValue), "
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
        addCurves(&b, metrics: run.metrics, x: "epoch", xLabel: "epoch", what: run.name)
        return b.section
    }

    /// Loss, accuracy (%) and learning-rate charts from metrics rows against the column `x`.
    static func addCurves(_ b: inout SectionBuilder, metrics: [[String: Double]], x: String, xLabel: String, what: String) {
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
                              series: series([("lr", "lr at the evaluation")]))
        lr.markers = metrics.count <= 40
        b.line(lr, name: "lr", caption: "The learning rate of the step before each evaluation (sampled at the evaluations).")
    }
}
