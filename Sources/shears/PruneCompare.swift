import ArgumentParser
import Foundation
import ShearsExperiments
import ShearsIO

/// `shears prune compare`: finished iterative-pruning runs side by side — early-stop test accuracy (mean ± sample
/// std over their runs) per pruning cycle as a Markdown table and an SVG chart.
struct PruneCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Tabulate and plot finished `prune iterative` runs (test accuracy at best validation vs % remaining).")

    @Argument(help: "Run directories of `shears prune iterative` (each with summary.json); named by their last path component.")
    var runs: [String]
    @Option(help: "Chart title.") var title: String = "Iterative pruning"
    @Option(help: "Write the Markdown table here (default: print it).") var markdown: String?
    @Option(help: "Write the SVG chart here.") var svg: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        var rows: [(name: String, summary: IterativePruningSummary)] = []
        for path in runs {
            let file = (path as NSString).appendingPathComponent("summary.json")
            guard FileManager.default.fileExists(atPath: file) else {
                throw TrainingError("\(file) does not exist: \(path) is not a finished `shears prune iterative` run")
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let summary: IterativePruningSummary
            do { summary = try JSONDecoder().decode(IterativePruningSummary.self, from: data) } catch {
                throw TrainingError("\(file) is not an iterative-pruning summary: \(error)")
            }
            rows.append(((path as NSString).lastPathComponent, summary))
        }
        let table = Self.markdownTable(rows)
        if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) } else { print(table, terminator: "") }
        if let svg { try Self.chart(rows, title: title).write(to: svg) }
    }

    static func cell(_ s: MeanStd) -> String {
        String(format: "%.2f", 100 * s.mean) + (s.std.map { String(format: " ± %.2f", 100 * $0) } ?? "")
    }

    /// Rows: runs; columns: cycles (header: mean % of prunable weights remaining); cells: test accuracy at best
    /// validation, mean ± std (%); the best mean of each column in bold.
    static func markdownTable(_ rows: [(name: String, summary: IterativePruningSummary)]) -> String {
        let cycles = rows.map { $0.summary.cycles.count }.max() ?? 0
        let header = (0..<cycles).map { m -> String in
            let p = rows.compactMap { $0.summary.cycles.first { $0.cycle == m }?.percentRemaining.mean }.first ?? .nan
            return String(format: "%.3g", p)
        }
        var out = "Test accuracy (%) at the best validation accuracy, mean ± std over runs; columns: % of prunable weights remaining.\n\n"
        out += "| schedule | runs | " + header.joined(separator: " | ") + " |\n"
        out += "|---|---|" + String(repeating: "---|", count: cycles) + "\n"
        let best = (0..<cycles).map { m in
            rows.map { $0.summary.cycles.first { $0.cycle == m }?.testAccuracyAtBestValidation.mean ?? -.infinity }.max() ?? .nan
        }
        for r in rows {
            let cells = (0..<cycles).map { m -> String in
                guard let c = r.summary.cycles.first(where: { $0.cycle == m }) else { return "–" }
                let text = cell(c.testAccuracyAtBestValidation)
                return c.testAccuracyAtBestValidation.mean == best[m] ? "**\(text)**" : text
            }
            out += "| \(r.name) | \(r.summary.runs) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func chart(_ rows: [(name: String, summary: IterativePruningSummary)], title: String) -> SVGLineChart {
        SVGLineChart(title: title, xLabel: "pruning cycle m (% of prunable weights remaining = 100 · 0.8^m)",
                     yLabel: "test accuracy at best validation (%)",
                     series: rows.map { r in
                         (name: r.name, points: r.summary.cycles.map { (Double($0.cycle), 100 * $0.testAccuracyAtBestValidation.mean) })
                     })
    }
}
