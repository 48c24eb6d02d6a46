import Foundation
import ShearsExperiments
import ShearsIO

/// `shears prune structured`: summary.json (its config, the model before, masked and compacted).
public struct StructuredRunData {
    public var path: String, name: String
    public var summary: StructuredPruningSummary

    /// The run at `f`, or nil when its summary.json is not a structured-pruning summary.
    static func load(_ f: ReportFiles) -> StructuredRunData? {
        guard f.exists("summary.json"), let s = try? f.json(StructuredPruningSummary.self, "summary.json") else { return nil }
        return StructuredRunData(path: f.path, name: f.name, summary: s)
    }
}

extension Report {
    /// All structured runs in one section: what each removed and kept, the widths of every layer before and after,
    /// and test accuracy against MACs and parameters (each run a line from its starting model to its compacted one).
    static func structuredSection(_ runs: [StructuredRunData], index: Int) -> ReportSection {
        var b = SectionBuilder(title: "Structured pruning (\(runs.count) run\(runs.count == 1 ? "" : "s"))", index: index)
        let labels = runs.map(\.name)
        b.text("Each run: the starting model (before), its channels removed by dependency group and fine-tuned — one shot: "
               + "the compacted model itself, written back into the masked twin; iterative and gradual: the masked model, "
               + "removed channels held at 0, between rounds — and the dense model of the kept widths (after). Test "
               + "accuracy on the test set of each run's data.")
        b.table("Per run", header: ["run", "model", "criterion", "allocation", "channels removed", "parameters before → after",
                                    "MACs before → after", "test acc. before (%)", "masked (%)", "after (%)", "max |masked − compacted|"],
                rows: zip(runs, labels).map { r, l in
                    let s = r.summary, c = s.config
                    return [l, c.training.model.rawValue, c.criterion, c.allocation.rawValue + (c.roundTo > 1 ? ", ×\(c.roundTo)" : ""),
                            ReportFormat.percent(c.channelRatio),
                            "\(s.before.parameters) → \(s.after.parameters) (\(ratio(s.before.parameters, s.after.parameters)))",
                            "\(s.before.macs) → \(s.after.macs) (\(ratio(s.before.macs, s.after.macs)))",
                            ReportFormat.percent(s.before.testAccuracy), ReportFormat.percent(s.masked.testAccuracy),
                            ReportFormat.percent(s.after.testAccuracy), String(format: "%.2g", s.maskedVersusCompacted)]
                })
        // Layers in the order of the first run's model (widths are a dictionary: sort by the natural order of names).
        let layers = Set(runs.flatMap { Array($0.summary.before.widths.keys) + Array($0.summary.after.widths.keys) })
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        let sameStart = Set(runs.map(\.summary.before.widths)).count == 1
        let header = ["layer"] + (sameStart ? ["before"] : labels.map { "\($0) before" }) + labels.map { "\($0) after" }
        b.table("Output width of every conv / linear layer but the classifier", header: header, rows: layers.map { layer in
            let before = sameStart ? [runs[0].summary.before.widths[layer]] : runs.map { $0.summary.before.widths[layer] }
            return [layer] + (before + runs.map { $0.summary.after.widths[layer] }).map { $0.map(String.init) ?? "–" }
        })
        func chart(_ title: String, _ x: String, _ value: (StructuredModelStats) -> Int) -> SVGLineChart {
            var c = SVGLineChart(title: title, xLabel: x, yLabel: "test accuracy (%)", series: zip(runs, labels).map { r, l in
                (name: l, points: [(Double(value(r.summary.before)) / 1e6, 100 * r.summary.before.testAccuracy),
                                   (Double(value(r.summary.after)) / 1e6, 100 * r.summary.after.testAccuracy)])
            })
            c.markers = true
            return c
        }
        b.line(chart("Test accuracy against MACs", "multiply-accumulates per image (millions)", \.macs), name: "structured-macs",
               caption: "Each run from its starting model (right) to its compacted model (left).")
        b.line(chart("Test accuracy against parameters", "parameters (millions)", \.parameters), name: "structured-parameters",
               caption: "Each run from its starting model (right) to its compacted model (left).")
        return b.section
    }

    static func ratio(_ a: Int, _ b: Int) -> String { b > 0 ? String(format: "%.2f×", Double(a) / Double(b)) : "–" }
}
