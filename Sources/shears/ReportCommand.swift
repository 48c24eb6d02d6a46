import ArgumentParser
import Foundation
import ShearsReport

/// `shears report RUN_DIR… --out DIR`: one self-contained HTML page and a Markdown file with SVG charts of whatever the
/// run directories hold (see `Report` for what is drawn for each kind of run).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML + Markdown report with SVG charts of finished (or running) run directories.",
        discussion: """
        Each RUN_DIR is recognised by its files: train (metrics.jsonl + config.json), prune iterative (run_0/cycles.jsonl \
        or summary.json), prune oracle (oracle.json), prune oneshot and prune dynamic (their config.json), prune structured (its \
        summary.json: widths per layer before and after, accuracy against MACs and parameters), prune grda (sgd/ grda/ \
        gmp/), anytime (megabatches.jsonl), analyze \
        hessian|projection (hessian.json, projection.json), analyze connectivity (connectivity.json). A folder of run \
        directories stands for all of them. Several iterative-pruning or anytime runs share their charts, labelled by \
        the config fields in which they differ, or by NAME where a RUN_DIR is given as NAME=DIR. Every section says \
        which split (official or pooled) its accuracies were measured on; a metrics row with NaN or Inf is reported as \
        divergence, and an unreadable metrics or records line stops the report naming the file and line. Writes DIR/report.html (SVG and CSS inline, no external URL), \
        DIR/report.md and the charts as DIR/figures/*.svg.
        """)

    @Argument(help: "Run directories (or folders of them), each as DIR or NAME=DIR.") var runDirectories: [String] = []
    @Option(help: "Output directory.") var out: String
    @Option(help: "Title of the report.") var title: String = "Shears report"

    func validate() throws {
        guard !runDirectories.isEmpty else { throw ValidationError("give at least one RUN_DIR") }
        guard !title.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--title must not be empty") }
    }

    func run() throws {
        let document = try Report.build(paths: runDirectories, title: title)
        let (html, markdown) = try document.write(to: out)
        print(html)
        print(markdown)
        print("\((out as NSString).appendingPathComponent("figures")) (\(document.figures.count) SVG charts)")
    }
}
