import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsReport

/// `shears prune grda`: directional pruning with gRDA, its SGD baseline and gradual magnitude pruning.
struct PruneGRDA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grda",
        abstract: "Directional pruning with gRDA (NeurIPS 2020) against SGD and gradual magnitude pruning; re-running resumes.",
        discussion: """
        Trains three networks from the same initial weights with the same minibatch order and learning-rate schedule: \
        plain SGD (momentum 0, no weight decay), gRDA with --c and --mu (w = sign(a)·max(|a| − τ, 0) rebuilt from the \
        dual accumulator every step; τ = c·γ^{μ+½}·n^μ at a constant rate), and gradual magnitude pruning (Zhu & Gupta's \
        cubic schedule between --gmp-begin and --gmp-end) to the number of nonzero parameters gRDA ended with. \
        Sparsity (all parameters, conv/linear weights and every tensor) is logged at every evaluation beside loss and \
        accuracy. Writes sgd/, grda/, gmp/ (metrics, checkpoints, model, result.json), summary.json, summary.md and \
        curves_*.svg.
        """)

    @OptionGroup(title: "Data") var data: DataFlags<DirectionalPruningDefaults>
    @OptionGroup(title: "Model and training (every phase: plain SGD steps, no momentum or weight decay)")
    var training: TrainingFlags<DirectionalPruningDefaults>
    @Option(help: "gRDA c ≥ 0 (threshold scale; the paper uses 0.0005–0.005).") var c: Double = 0.005
    @Option(help: "gRDA μ (threshold growth in n; the paper recommends 0.501–0.55; larger gives more sparsity).") var mu: Double = 0.55
    @Flag(help: "Keep biases and batch-norm parameters dense (plain SGD for them); the paper thresholds every parameter.")
    var excludeBiasesAndBatchNorm = false
    @Flag(help: "Skip the SGD baseline.") var noBaseline = false
    @Flag(help: "Skip gradual magnitude pruning.") var noGmp = false
    @Option(help: "GMP: first pruning step, as a fraction of training.") var gmpBegin: Double = 0.1
    @Option(help: "GMP: last pruning step, as a fraction of training.") var gmpEnd: Double = 0.6
    @Option(help: "GMP: mask updates after the first (n in Zhu & Gupta's schedule).") var gmpSteps: Int = 10
    @Option(help: ArgumentHelp("GMP allocation.")) var gmpAllocation: Allocation = .global
    @Option(help: "Save every phase's weights every this many steps (e.g. 1ep, 200it) under <phase>/snapshots/, for `analyze projection --along`.")
    var snapshotEvery: String?

    @OptionGroup(title: "Run") var execution: RunOptions

    func makeConfig() throws -> DirectionalPruningConfig {
        try validated({
            var config = DirectionalPruningConfig()
            data.apply(to: &config.training)
            try training.apply(to: &config.training)
            config.c = c; config.mu = mu
            config.thresholdAllParameters = !excludeBiasesAndBatchNorm
            config.baseline = !noBaseline; config.gmp = !noGmp
            config.snapshotEvery = try snapshotEvery.map { try parseStep($0, flag: "--snapshot-every") }
            config.gmpBegin = gmpBegin; config.gmpEnd = gmpEnd; config.gmpSteps = gmpSteps; config.gmpAllocation = gmpAllocation
            return config
        }) { try $0.validate() }
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "grda", nonDefault: config.nonDefaultFields) { dir, options in
            let summary = try DirectionalPruning.run(config, in: dir, options: options)
            try DirectionalTables.write(summary, config: config, in: dir)
            if !options.quiet { print(DirectionalTables.markdownTable(summary)) }
        }
    }
}
