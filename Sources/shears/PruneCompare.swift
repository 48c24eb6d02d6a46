import ArgumentParser
import Foundation
import ShearsReport

/// `shears prune compare`: finished iterative-pruning runs side by side (one-shot and dynamic runs as one point each) — early-stop test accuracy (mean ± sample
/// std over their runs) against each run's own measured % of weights remaining, as a Markdown table and an SVG chart
/// (`PruningComparison` draws them).
struct PruneCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Tabulate and plot finished `prune iterative` runs, and `prune oneshot` / `prune dynamic` runs as points (test accuracy at best validation vs % remaining).")

    @Argument(help: "Run directories of `shears prune iterative`, `prune oneshot` or `prune dynamic` (each with summary.json); NAME=DIR names a column and a curve, else the directory name.")
    var runs: [String]
    @Option(help: "Chart title.") var title: String = "Iterative pruning"
    @Option(help: "Write the Markdown table here (default: print it).") var markdown: String?
    @Option(help: "Write the SVG chart here.") var svg: String?
    @Flag(help: "Draw % of weights remaining on a log axis (as OpenLTH does).") var logX = false

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        let specs = runs.map(RunSpec.init(parsing:))
        let curves = try specs.map { try PruningComparison.load($0.path, name: $0.name) }
        let table = PruningComparison.markdownTable(curves, paths: specs.map(\.path))
        if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) } else { print(table, terminator: "") }
        if let svg { try PruningComparison.chart(curves, title: title, logX: logX).write(to: svg) }
    }
}
