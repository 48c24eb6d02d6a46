import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune

extension PruningCriterion: ExpressibleByArgument {}
extension CycleScheduleKind: ExpressibleByArgument {}
extension Allocation: ExpressibleByArgument {}

/// `shears prune`: pruning protocols.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune networks (iterative pruning as in the S-Cyc paper).",
        subcommands: [PruneIterative.self, PruneOracle.self, PruneCompare.self, PruneGRDA.self, PruneStructured.self])
}

/// `shears prune iterative`: train, prune p of the remaining weights, retrain — L times; resumable.
struct PruneIterative: ParsableCommand {
    @OptionGroup var protocolFlags: IterativePruningFlags
    @Flag(help: "Record the Fig. 1 distributions (weight gradients, post-ReLU activations of MLPs) after every cycle.")
    var distributions = false
    @Option(help: "Training batches the distributions are measured on.") var distributionBatches: Int = 20
    @OptionGroup var execution: RunOptions

    static let configuration = CommandConfiguration(
        commandName: "iterative",
        abstract: "Iterative pruning (S-Cyc Algorithm 1); re-running the same command resumes it.",
        discussion: """
        Trains cycles m = 0 … L (--cycles L); after each cycle but the last removes --rate of the remaining prunable \
        weights by --criterion and --allocation, and applies --retrain (rewind-init, rewind:K, lr-rewind, \
        fine-tune[:LR], reinit[:SEED]). The LR schedule (--lr-schedule) restarts at iteration 0 every cycle; with \
        scyc its peak is Eq. 2's max_lr(m). --iterations/--epochs are per cycle. Writes run_<r>/cycles.jsonl, \
        run_<r>/sparsity/cycle_<m>.json and summary.json (mean ± sample std over --runs).
        """)

    func makeConfig() throws -> IterativePruningConfig {
        var c = try protocolFlags.makeConfig()
        if distributions || distributionBatches != 20 { c.distributions = DistributionOptions(batches: distributionBatches) }
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        let dir = try execution.directory(prefix: "prune", nonDefault: config.nonDefaultFields)
        _ = try IterativePruning.run(config, in: dir, options: execution.trainingOptions)
    }
}

/// The flags of S-Cyc's iterative-pruning protocol, shared by `prune iterative` and `prune oracle`.
struct IterativePruningFlags: ParsableArguments {

    // Training (as `shears train`, but the split defaults to S-Cyc's pooled 60/20/20).
    @Option(help: "Model: \(ModelName.allCases.map(\.rawValue).joined(separator: ", ")).") var model: ModelName = .lenet300100
    @Option(help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).") var dataset: DatasetKind = .mnist
    @Option(help: "Directory with the dataset's files (MNIST is embedded and needs none).") var dataDir: String?
    @Option(help: "Split: pooled (S-Cyc's 60/20/20, default) or official.") var split: SplitKind = .pooled
    @Option(help: "Training length per cycle in epochs (default 10 unless --iterations is given).") var epochs: Int?
    @Option(help: "Training length per cycle in iterations.") var iterations: Int?
    @Option(help: "Mini-batch size.") var batchSize: Int = 60
    @Option(help: "Optimizer: sgd, adam, rmsprop.") var optimizer: OptimizerKind = .sgd
    @Option(help: "Learning rate (constant, linear-decay start, warmup peak default).") var lr: Float = 0.1
    @Option(help: "Momentum (SGD, RMSprop).") var momentum: Float = 0
    @Flag(help: "Nesterov momentum (SGD).") var nesterov = false
    @Option(help: "L2 weight decay.") var weightDecay: Float = 0
    @Option(help: "Seed of run 0 (run r uses seed + r).") var seed: UInt64 = 0
    @Option(help: "Training examples held out for validation (official split).") var validation: Int = 5000
    @Option(help: "Train on the first N training examples only.") var trainSubset: Int?
    @Option(help: "Evaluate and checkpoint every this many steps (e.g. 1ep, 500it).") var evalEvery: String = "1ep"
    @Flag(help: "CIFAR augmentation.") var augment = false
    @Flag(help: "Do not normalise inputs per channel.") var noNormalize = false
    @Option(name: .customLong("init"), help: "Start from these weights (a safetensors state_dict).") var initFrom: String?

    // Pruning.
    @Option(help: "p: fraction of the remaining prunable weights removed per cycle.") var rate: Double = 0.2
    @Option(help: "L: pruning steps (L + 1 trainings).") var cycles: Int = 3
    @Option(help: "Criterion: magnitude, gradient (|w·∂L/∂w|).") var criterion: PruningCriterion = .magnitude
    @Option(help: "Training batches the gradient criterion averages over.") var gradientBatches: Int = 1
    @Option(help: "Allocation: global, layerwise, erk.") var allocation: Allocation = .global
    @Option(help: "Retrain policy: rewind-init, rewind:K, lr-rewind, fine-tune[:LR], reinit[:SEED].") var retrain: String = "lr-rewind"
    @Flag(help: "Do not prune the first layer.") var keepFirstLayer = false
    @Flag(help: "Do not prune the last layer.") var keepLastLayer = false
    @Flag(help: "Prune the biases of the selected layers too.") var pruneBiases = false
    @Flag(help: "Prune batch-norm γ too.") var pruneBatchNorm = false

    // Per-cycle LR schedule.
    @Option(help: "Per-cycle LR schedule: constant, linear-decay, cyclical, warmup, scyc, cosine, onecycle.") var lrSchedule: CycleScheduleKind = .constant
    @Option(help: "cyclical: lower rate a.") var cyclicLower: Double = 0.001
    @Option(help: "cyclical: upper rate b.") var cyclicUpper: Double = 0.1
    @Option(help: "cyclical: half period c in iterations.") var cyclicStep: Int = 1000
    @Option(help: "warmup: peak (default --lr).") var peak: Double?
    @Option(help: "warmup/scyc: ramp length b in iterations.") var warmup: Int = 0
    @Option(help: "warmup/scyc: iterations of the 10× drops, comma-separated.") var drops: String?
    @Option(help: "scyc: l_min.") var lMin: Double = 3e-2
    @Option(help: "scyc: l_amp (the paper's l_max, added to l_min).") var lAmp: Double = 4e-2
    @Option(help: "scyc: q (No-Growth cycles).") var q: Int = 1
    @Option(help: "scyc: β.") var beta: Double = 5

    @Option(help: "R: independent runs (seeds seed … seed + R − 1).") var runs: Int = 1

    func makeConfig() throws -> IterativePruningConfig {
        var c = IterativePruningConfig()
        var t = c.training
        t.model = model; t.dataset = dataset; t.dataDir = dataDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        t.split = split
        if epochs != nil || iterations != nil { t.epochs = epochs; t.iterations = iterations }
        t.batchSize = batchSize; t.optimizer = optimizer; t.lr = lr; t.momentum = momentum; t.nesterov = nesterov
        t.weightDecay = weightDecay; t.seed = seed; t.validation = validation
        t.trainSubset = trainSubset; t.augment = augment; t.normalize = !noNormalize
        t.initFrom = initFrom.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        t.evalEvery = try parseStep(evalEvery, flag: "--eval-every")
        c.training = t
        c.rate = rate; c.cycles = cycles; c.criterion = criterion; c.gradientBatches = gradientBatches
        c.allocation = allocation
        guard let policy = RetrainPolicy(parsing: retrain, defaultLR: lr) else {
            throw ValidationError("--retrain: '\(retrain)' is not one of rewind-init, rewind:K, lr-rewind, fine-tune[:LR], reinit[:SEED]")
        }
        c.retrain = policy
        c.selection = PrunableSelection(includeFirstLayer: !keepFirstLayer, includeLastLayer: !keepLastLayer,
                                        includeBiases: pruneBiases, includeBatchNormScale: pruneBatchNorm)
        var s = CycleSchedule()
        s.kind = lrSchedule; s.lower = cyclicLower; s.upper = cyclicUpper; s.stepSize = cyclicStep; s.peak = peak
        s.warmupIterations = warmup; s.lMin = lMin; s.lAmp = lAmp; s.q = q; s.beta = beta
        if let d = drops {
            s.drops = try d.split(separator: ",").map {
                guard let v = Int($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--drops: '\($0)' is not an iteration") }
                return v
            }
        }
        c.schedule = s
        c.runs = runs
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }
}

/// `shears prune oracle`: the greedy per-cycle grid search of the warmup peak (S-Cyc's Table 3).
struct PruneOracle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Per-cycle grid search of max_lr: well-tuned value and feasible region next to S-Cyc's Eq. 2 (Table 3).",
        discussion: """
        At every cycle trains once per --grid value (the warmup schedule of --warmup/--drops with that peak) from the         same pruned starting point, takes the best validation accuracy as the well-tuned max_lr and the values within         --tolerance of it as the feasible region, and prunes the well-tuned network for the next cycle. S-Cyc's max_lr         comes from --l-min --l-amp --q --beta --rate. Writes trials.jsonl, oracle.json, oracle.md and oracle.svg;         re-running the same command resumes after the last finished trial. --runs must be 1.
        """)

    @OptionGroup var protocolFlags: IterativePruningFlags
    @Option(help: "max_lr values to try, comma-separated, increasing.") var grid: String = "0.01,0.02,0.03,0.05,0.07,0.1"
    @Option(help: "Feasible region: within this of the best validation accuracy (0.005 = 0.5 points).") var tolerance: Double = 0.005
    @OptionGroup var execution: RunOptions

    func makeConfig() throws -> OracleConfig {
        var pruning = try protocolFlags.makeConfig()
        if pruning.schedule.kind != .warmup && pruning.schedule.kind != .scyc { pruning.schedule.kind = .warmup }
        let values = try grid.split(separator: ",").map { part -> Double in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--grid: '\(part)' is not a learning rate")
            }
            return v
        }
        let c = OracleConfig(pruning: pruning, grid: values, tolerance: tolerance)
        do { try c.validate() } catch let e as TrainingError { throw ValidationError(e.description) }
        return c
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        var named = config.pruning.nonDefaultFields
        named["grid"] = grid
        if tolerance != 0.005 { named["tolerance"] = String(tolerance) }
        let dir = try execution.directory(prefix: "oracle", nonDefault: named)
        _ = try SCycOracle.run(config, in: dir, options: execution.trainingOptions)
    }
}
