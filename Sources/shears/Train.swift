import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim

extension ModelName: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension SplitKind: ExpressibleByArgument {}

/// `shears train`: plain supervised training into a resumable run directory.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model; re-running the same command resumes it from its last checkpoint.",
        discussion: """
        Without --out, the run directory is named from the hyperparameters that differ from the defaults, under \
        --runs-root, so the same command finds the same directory. Steps may be given in epochs ("80ep") or \
        iterations ("1000it" or "1000").
        """)

    @Option(help: "Model: \(ModelName.allCases.map(\.rawValue).joined(separator: ", ")).") var model: ModelName = .lenet300100
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: DatasetKind = .mnist
    @Option(help: "Directory with the dataset's files (MNIST is embedded and needs none).") var dataDir: String?
    @Option(help: "Split: official (train/test files + seeded validation hold-out) or pooled (S-Cyc's 60/20/20).") var split: SplitKind = .official
    @Option(help: "Training length in epochs (default 10 unless --iterations is given).") var epochs: Int?
    @Option(help: "Training length in iterations.") var iterations: Int?
    @Option(help: "Mini-batch size.") var batchSize: Int = 60
    @Option(help: "Optimizer: sgd, adam, rmsprop.") var optimizer: OptimizerKind = .sgd
    @Option(help: "Base learning rate.") var lr: Float = 0.1
    @Option(help: "Momentum (SGD, RMSprop).") var momentum: Float = 0
    @Flag(help: "Nesterov momentum (SGD).") var nesterov = false
    @Option(help: "L2 weight decay.") var weightDecay: Float = 0
    @Option(help: "LR schedule: constant, step, multistep, cosine, onecycle (--lr is its peak).") var schedule: ScheduleKind = .constant
    @Option(help: "Milestones for multistep, comma-separated (e.g. 80ep,120ep).") var milestones: String?
    @Option(help: "Period of the step schedule (e.g. 30ep).") var stepSize: String?
    @Option(help: "Decay factor of step/multistep.") var gamma: Float = 0.1
    @Option(help: "Seed for every random choice.") var seed: UInt64 = 0
    @Option(help: "Training examples held out for validation (official split).") var validation: Int = 5000
    @Option(help: "Train on the first N training examples only.") var trainSubset: Int?
    @Option(help: "Evaluate and checkpoint every this many steps (e.g. 1ep, 500it).") var evalEvery: String = "1ep"
    @Flag(help: "CIFAR augmentation: random crop with padding 4 and horizontal flip.") var augment = false
    @Flag(help: "Do not normalise inputs per channel.") var noNormalize = false
    @Option(name: .customLong("init"), help: "Start from these weights (a safetensors state_dict).") var initFrom: String?

    @OptionGroup var execution: RunOptions

    func makeConfig() throws -> TrainingConfig {
        var c = TrainingConfig()
        c.model = model; c.dataset = dataset; c.dataDir = dataDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        c.split = split
        if epochs != nil || iterations != nil { c.epochs = epochs; c.iterations = iterations }
        c.batchSize = batchSize; c.optimizer = optimizer; c.lr = lr; c.momentum = momentum; c.nesterov = nesterov
        c.weightDecay = weightDecay; c.schedule = schedule; c.gamma = gamma; c.seed = seed; c.validation = validation
        c.trainSubset = trainSubset; c.augment = augment; c.normalize = !noNormalize
        c.initFrom = initFrom.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        c.evalEvery = try parseStep(evalEvery, flag: "--eval-every")
        if let m = milestones { c.milestones = try m.split(separator: ",").map { try parseStep(String($0), flag: "--milestones") } }
        if let s = stepSize { c.stepSize = try parseStep(s, flag: "--step-size") }
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        let dir = try execution.directory(prefix: "train", nonDefault: config.nonDefaultFields)
        let options = execution.trainingOptions
        // Errors (bad files, NaN losses, a mismatched run directory) are reported by ArgumentParser as
        // "Error: <message>" with a non-zero exit status.
        _ = try Trainer.run(config, in: dir, options: options)
    }
}
