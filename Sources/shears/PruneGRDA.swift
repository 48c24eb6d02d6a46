import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune

extension GRDAScheduleKind: ExpressibleByArgument {}

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

    @Option(help: "Model: \(ModelName.allCases.map(\.rawValue).joined(separator: ", ")).") var model: ModelName = .lenet300100
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: DatasetKind = .mnist
    @Option(help: "Directory with the dataset's files (MNIST is embedded and needs none).") var dataDir: String?
    @Option(help: "Split: official (train/test files + seeded validation hold-out) or pooled.") var split: SplitKind = .official
    @Option(help: "Training length in epochs (default 10 unless --iterations is given).") var epochs: Int?
    @Option(help: "Training length in iterations.") var iterations: Int?
    @Option(help: "Mini-batch size.") var batchSize: Int = 60
    @Option(help: "Base learning rate γ (the rate that works for SGD without momentum).") var lr: Float = 0.1
    @Option(help: "gRDA c ≥ 0 (threshold scale; the paper uses 0.0005–0.005).") var c: Double = 0.005
    @Option(help: "gRDA μ (threshold growth in n; the paper recommends 0.501–0.55; larger gives more sparsity).") var mu: Double = 0.55
    @Option(help: "LR schedule: constant, drop (×--drop-factor at --drop-at), cifar (constant to 50% of epochs, linear to 1% at 90%).")
    var lrSchedule: GRDAScheduleKind = .constant
    @Option(help: "drop: when the rate drops (e.g. 8ep, 4000it).") var dropAt: String?
    @Option(help: "drop: the factor of the drop.") var dropFactor: Double = 0.1
    @Flag(help: "Keep biases and batch-norm parameters dense (plain SGD for them); the paper thresholds every parameter.")
    var excludeBiasesAndBatchNorm = false
    @Flag(help: "Skip the SGD baseline.") var noBaseline = false
    @Flag(help: "Skip gradual magnitude pruning.") var noGmp = false
    @Option(help: "GMP: first pruning step, as a fraction of training.") var gmpBegin: Double = 0.1
    @Option(help: "GMP: last pruning step, as a fraction of training.") var gmpEnd: Double = 0.6
    @Option(help: "GMP: mask updates after the first (n in Zhu & Gupta's schedule).") var gmpSteps: Int = 10
    @Option(help: "GMP allocation: global, layerwise, erk.") var gmpAllocation: Allocation = .global
    @Option(help: "Save every phase's weights every this many steps (e.g. 1ep, 200it) under <phase>/snapshots/, for `analyze projection --along`.")
    var snapshotEvery: String?
    @Option(help: "Seed for every random choice (init, split, data order).") var seed: UInt64 = 0
    @Option(help: "Training examples held out for validation (official split).") var validation: Int = 5000
    @Option(help: "Train on the first N training examples only.") var trainSubset: Int?
    @Option(help: "Evaluate, log sparsity and checkpoint every this many steps (e.g. 1ep, 500it).") var evalEvery: String = "1ep"
    @Flag(help: "CIFAR augmentation: random crop with padding 4 and horizontal flip.") var augment = false
    @Flag(help: "Do not normalise inputs per channel.") var noNormalize = false
    @Option(name: .customLong("init"), help: "Start all three trainings from these weights (a safetensors state_dict).") var initFrom: String?

    @OptionGroup var execution: RunOptions

    func makeConfig() throws -> DirectionalPruningConfig {
        var config = DirectionalPruningConfig()
        var t = config.training
        t.model = model; t.dataset = dataset; t.dataDir = dataDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        t.split = split
        if epochs != nil || iterations != nil { t.epochs = epochs; t.iterations = iterations }
        t.batchSize = batchSize; t.lr = lr; t.seed = seed; t.validation = validation
        t.trainSubset = trainSubset; t.augment = augment; t.normalize = !noNormalize
        t.initFrom = initFrom.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        t.evalEvery = try parseStep(evalEvery, flag: "--eval-every")
        config.training = t
        config.c = c; config.mu = mu; config.schedule = lrSchedule
        config.dropAt = try dropAt.map { try parseStep($0, flag: "--drop-at") }
        config.dropFactor = dropFactor
        config.thresholdAllParameters = !excludeBiasesAndBatchNorm
        config.baseline = !noBaseline; config.gmp = !noGmp
        config.snapshotEvery = try snapshotEvery.map { try parseStep($0, flag: "--snapshot-every") }
        config.gmpBegin = gmpBegin; config.gmpEnd = gmpEnd; config.gmpSteps = gmpSteps; config.gmpAllocation = gmpAllocation
        do { try config.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return config
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        let dir = try execution.directory(prefix: "grda", nonDefault: config.nonDefaultFields)
        _ = try DirectionalPruning.run(config, in: dir, options: execution.trainingOptions)
    }
}
