import ArgumentParser
import Foundation
import ShearsReport

/// `shears anytime compare`: finished anytime runs side by side — final test accuracy, CER, densities and gaps as a
/// Markdown table, and SVG charts of test accuracy per megabatch, the gap per epoch and the real density
/// (`AnytimeComparison` draws them).
struct AnytimeCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Tabulate and plot finished `shears anytime` runs (test accuracy, CER, generalisation gap, density).")

    @Argument(help: "Run directories of `shears anytime` (each with summary.json); NAME=DIR names a row, else the directory name.")
    var runs: [String]
    @Option(help: "Chart title prefix.") var title: String = "Anytime"
    @Option(help: "Write the Markdown table here (default: print it).") var markdown: String?
    @Option(help: "Write the SVG charts with this path prefix: PREFIX-accuracy.svg, PREFIX-gap.svg, PREFIX-density.svg.") var svg: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        let groups = AnytimeComparison.group(try runs.map(AnytimeComparison.load))
        let table = AnytimeComparison.markdownTable(groups)
        if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) } else { print(table, terminator: "") }
        if let svg { for (suffix, chart) in AnytimeComparison.charts(groups, title: title) { try chart.write(to: "\(svg)-\(suffix).svg") } }
    }
}
