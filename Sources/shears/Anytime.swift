import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune

extension AnytimeMaskUpdate: ExpressibleByArgument {}
extension AnytimeLRPolicy: ExpressibleByArgument {}
extension ScoringBatchNorm: ExpressibleByArgument {}
extension PruneSampleDraw: ExpressibleByArgument {}
extension PruneSampleSize: ExpressibleByArgument {}

/// `shears anytime`: APP, Anytime OSP and the dense baseline in the ALMA stream; `shears anytime compare` tabulates them.
struct Anytime: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Anytime Progressive Pruning (APP) and its baselines in the ALMA megabatch stream.",
        subcommands: [AnytimeRun.self, AnytimeCompare.self],
        defaultSubcommand: AnytimeRun.self)
}

/// `shears anytime [run]`: one anytime run; re-running the same command resumes it.
struct AnytimeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "APP (--pruner: any criterion, snip by default), Anytime OSP (--osp) or the dense baseline (--pruner none); resumable.",
        discussion: """
        The training set is shuffled (seeded) and cut into --megabatches equal megabatches, each split 90/10 into a \
        training and a validation part. At megabatch t the learner sees the replay-inclusive sets (--replay full, none \
        or buffer:N), APP prunes so that a fraction 0.8^δ_t of the prunable weights is kept (δ = linspace(1, --tau, \
        |S_B|)) on a pruning sample of int(--prune-fraction·|M_t|) examples, trains --epochs epochs, keeps the \
        best-validation weights and counts its test errors (CER, Eq. 1). Anytime OSP prunes once, at t = 1, to 0.8^τ. \
        Writes megabatches.jsonl, metrics.jsonl/csv (per epoch: train/val accuracy, gap, lr, real density) and summary.json.
        """)

    @Option(help: "|S_B|: megabatches in the stream.") var megabatches: Int = 8
    @Option(help: "τ: the final density is 0.8^τ.") var tau: Double = 4.5
    @Option(help: ArgumentHelp("Pruner: a criterion (\(CriterionRegistry.helpText)) or none (the dense baseline).",
                               valueName: (CriterionRegistry.names + ["none"]).joined(separator: "|")))
    var pruner: String = "snip"
    @Flag(help: "Anytime OSP: prune once at initialisation to 0.8^τ instead of progressively.") var osp = false
    @Option(help: "Mask update: nested (the paper) or code-faithful (the authors' code, spec §1.4).") var maskUpdate: AnytimeMaskUpdate = .nested
    @Option(help: "LR policy across megabatches: cyclic (restart every megabatch) or non-cyclic.") var lrPolicy: AnytimeLRPolicy = .cyclic
    @Option(help: "Replay: full (union of all megabatches so far), none, or buffer:N.") var replay: String = "full"
    @Option(help: "|π_t| = int(f·|M_t|).") var pruneFraction: Double = 0.2
    @Option(help: "Pruning sample: random (the paper) or first (the code).") var pruneSample: PruneSampleDraw = .random
    @Option(help: "|M_t| for the pruning sample: replay (replay-inclusive megabatch, the paper) or megabatch (one, the code).")
    var pruneSampleSize: PruneSampleSize = .replay
    @Option(help: "Batch norm while scoring: train (APP) or eval (reference SNIP).") var scoringBn: ScoringBatchNorm = .train
    @Option(help: "Batches SNIP sums its gradients over.") var scoringBatchSize: Int = 100
    @Option(help: "Use only the first N examples of the shuffled training set.") var poolSize: Int?
    @Flag(help: "Keep the training set's file order (no shuffle) before cutting megabatches.") var noShufflePool = false
    @Flag(help: "Prune the last (classifier) layer too (APP never does).") var pruneLastLayer = false
    @Flag(help: "Do not prune the first layer.") var keepFirstLayer = false

    @OptionGroup(title: "Data") var data: DataFlags<AnytimeDefaults>
    @OptionGroup(title: "Model and training (per megabatch)") var training: TrainingFlags<AnytimeDefaults>
    @OptionGroup(title: "Run") var execution: RunOptions

    func makeConfig() throws -> AnytimeConfig {
        var c = AnytimeConfig()
        data.apply(to: &c.training)
        try training.apply(to: &c.training)
        c.megabatches = megabatches; c.tau = tau; c.pruner = pruner; c.osp = osp; c.maskUpdate = maskUpdate
        c.lrPolicy = lrPolicy
        guard let r = ReplayPolicy(parsing: replay) else {
            throw ValidationError("--replay: '\(replay)' is not one of full, none, buffer:N (N ≥ 0)")
        }
        c.replay = r
        c.pruneFraction = pruneFraction; c.pruneSample = pruneSample; c.pruneSampleSize = pruneSampleSize
        c.scoringBatchNorm = scoringBn; c.scoringBatchSize = scoringBatchSize
        c.poolSize = poolSize; c.shufflePool = !noShufflePool
        c.selection = PrunableSelection(includeFirstLayer: !keepFirstLayer, includeLastLayer: pruneLastLayer)
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func validate() throws { _ = try makeConfig() }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "anytime-\(config.method.rawValue)", nonDefault: config.nonDefaultFields) { dir, options in
            _ = try AnytimeProgressivePruning.run(config, in: dir, options: options)
        }
    }
}

/// `shears anytime compare`: finished anytime runs side by side — final test accuracy, CER, densities and gaps as a
/// Markdown table, and SVG charts of test accuracy per megabatch, the gap per epoch and the real density.
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

    static func load(_ spec: String) throws -> (name: String, summary: AnytimeSummary) {
        var name = (spec as NSString).lastPathComponent, path = spec
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            name = String(spec[..<eq]); path = String(spec[spec.index(after: eq)...])
        }
        let file = (path as NSString).appendingPathComponent("summary.json")
        guard FileManager.default.fileExists(atPath: file) else {
            throw TrainingError("\(file) does not exist: \(path) is not a finished `shears anytime` run")
        }
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        do { return (name, try d.decode(AnytimeSummary.self, from: Data(contentsOf: URL(fileURLWithPath: file)))) } catch {
            throw TrainingError("\(file) is not an anytime summary: \(error)")
        }
    }

    func run() throws {
        let groups = Self.group(try runs.map(Self.load))
        let table = Self.markdownTable(groups)
        if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) } else { print(table, terminator: "") }
        if let svg { for (suffix, chart) in Self.charts(groups, title: title) { try chart.write(to: "\(svg)-\(suffix).svg") } }
    }

    /// Runs given the same NAME (e.g. one per seed) form one row: mean ± sample std, curves averaged.
    static func group(_ rows: [(name: String, summary: AnytimeSummary)]) -> [(name: String, runs: [AnytimeSummary])] {
        var out: [(name: String, runs: [AnytimeSummary])] = []
        for r in rows {
            if let i = out.firstIndex(where: { $0.name == r.name }) { out[i].runs.append(r.summary) } else { out.append((r.name, [r.summary])) }
        }
        return out
    }

    static func cell(_ xs: [Double], _ format: String) -> String {
        let m = MeanStd(xs)
        return String(format: format, m.mean) + (m.std.map { " ± " + String(format: format, $0) } ?? "")
    }

    /// Element-wise mean of equally long curves (the shortest length when they differ).
    static func meanCurve(_ curves: [[Double]]) -> [Double] {
        let n = curves.map(\.count).min() ?? 0
        return (0..<n).map { i in curves.reduce(0) { $0 + $1[i] } / Double(curves.count) }
    }

    static func markdownTable(_ groups: [(name: String, runs: [AnytimeSummary])]) -> String {
        var out = "| run | method | seeds | final test acc (%) | CER | max CER | final density (real) | target | final gap (pp) | mean gap (pp) |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|\n"
        for (name, runs) in groups {
            let s = runs[0]
            out += "| \(name) | \(s.method.rawValue)\(s.method == .dense ? "" : " (\(s.pruner))") | \(runs.count) | "
                + cell(runs.map { 100 * $0.finalTestAccuracy }, "%.2f") + " | " + cell(runs.map { Double($0.cer) }, "%.0f") + " | "
                + "\(s.megabatches * s.testExamples) | " + cell(runs.map(\.finalDensity), "%.4f") + " | "
                + String(format: "%.4f", s.targetFinalDensity) + " | " + cell(runs.map { 100 * $0.finalGap }, "%.2f") + " | "
                + cell(runs.map { 100 * $0.meanGap }, "%.2f") + " |\n"
        }
        return out
    }

    static func charts(_ groups: [(name: String, runs: [AnytimeSummary])], title: String) -> [(String, SVGLineChart)] {
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
