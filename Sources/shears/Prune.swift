import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsReport

/// `shears prune`: pruning protocols.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune networks (iterative pruning as in the S-Cyc paper).",
        subcommands: [PruneIterative.self, PruneOneShot.self, PruneDynamic.self, PruneOracle.self, PruneOracleTrial.self, PruneCompare.self, PruneGRDA.self,
                      PruneStructured.self])
}

/// `shears prune iterative`: train, prune p of the remaining weights, retrain — L times; resumable.
struct PruneIterative: ParsableCommand {
    @OptionGroup(title: "Data") var data: DataFlags<IterativePruningDefaults>
    @OptionGroup(title: "Model and training (per cycle)") var training: TrainingFlags<IterativePruningDefaults>
    @OptionGroup(title: "Pruning") var protocolFlags: IterativePruningFlags
    @Flag(help: "Record the Fig. 1 distributions (weight gradients, post-ReLU activations of MLPs) after every cycle.")
    var distributions = false
    @Option(help: "Training batches the distributions are measured on.") var distributionBatches: Int = 20
    @OptionGroup(title: "Run") var execution: RunOptions

    static let configuration = CommandConfiguration(
        commandName: "iterative",
        abstract: "Iterative pruning (S-Cyc Algorithm 1); re-running the same command resumes it.",
        discussion: """
        Trains cycles m = 0 … L (--cycles L); after each cycle but the last removes --rate of the remaining prunable \
        weights by --criterion and --allocation, and applies --retrain (rewind-init, rewind:K, lr-rewind, \
        fine-tune[:LR], reinit[:SEED]). The LR schedule (--schedule) restarts at iteration 0 every cycle; with \
        scyc its peak is Eq. 2's max_lr(m). --iterations/--epochs are per cycle. Writes run_<r>/cycles.jsonl, \
        run_<r>/sparsity/cycle_<m>.json, run_<r>/cycle_<m>/model.safetensors and mask.safetensors (every sparsity \
        level, to export the best) and summary.json (mean ± sample std over --runs). The split defaults to the official \
        one (the dataset's own test set, never trained on); the paper's protocol is --split pooled (60/20/20 of \
        train ∪ test), whose test numbers are not comparable with the official test set's.
        """)

    func makeConfig() throws -> IterativePruningConfig {
        try validated({
            var c = try protocolFlags.makeConfig(data: data, training: training)
            if distributions || distributionBatches != 20 { c.distributions = DistributionOptions(batches: distributionBatches) }
            return c
        }) { try $0.validate() }
    }

    func validate() throws {
        _ = try makeConfig()
    }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "prune", nonDefault: config.nonDefaultFields) { dir, options in
            _ = try IterativePruning.run(config, in: dir, options: options)
        }
    }
}

/// The pruning flags of S-Cyc's iterative-pruning protocol, shared by `prune iterative` and `prune oracle`.
struct IterativePruningFlags: ParsableArguments {
    @Option(help: "p: fraction of the remaining prunable weights removed per cycle.") var rate: Double = 0.2
    @Option(help: "L: pruning steps (L + 1 trainings).") var cycles: Int = 3
    @Option(help: ArgumentHelp("Criterion: \(CriterionRegistry.helpText).", valueName: "criterion"))
    var criterion: String = "magnitude"
    @Option(name: [.customLong("scoring-batches"), .customLong("gradient-batches")],
            help: "Training batches the data-driven criteria (gradient, snip) score on.") var scoringBatches: Int = 1
    @Option(help: ArgumentHelp("Allocation of the pruned weights across layers.")) var allocation: Allocation = .global
    @Option(help: "Retrain policy: rewind-init, rewind:K, lr-rewind, fine-tune[:LR], reinit[:SEED].") var retrain: String = "lr-rewind"
    @Flag(help: "Do not prune the first layer.") var keepFirstLayer = false
    @Flag(help: "Do not prune the last layer.") var keepLastLayer = false
    @Flag(help: "Prune the biases of the selected layers too.") var pruneBiases = false
    @Flag(help: "Prune batch-norm γ too.") var pruneBatchNorm = false
    @Option(help: "R: independent runs (seeds seed … seed + R − 1).") var runs: Int = 1
    @Flag(help: "Cycle 0 is the --init model as trained: evaluate, record and prune it without training it again.")
    var skipFirstTraining = false

    func makeConfig<D: TrainingDefaults>(data: DataFlags<D>, training: TrainingFlags<D>) throws -> IterativePruningConfig {
        var c = IterativePruningConfig()
        c.training = D.training
        data.apply(to: &c.training)
        try training.apply(to: &c.training)
        c.rate = rate; c.cycles = cycles; c.criterion = criterion; c.scoringBatches = scoringBatches
        c.allocation = allocation
        guard let policy = RetrainPolicy(parsing: retrain, defaultLR: c.training.lr) else {
            throw ValidationError("--retrain: '\(retrain)' is not one of rewind-init, rewind:K, lr-rewind, fine-tune[:LR], reinit[:SEED]")
        }
        c.retrain = policy
        c.selection = PrunableSelection(includeFirstLayer: !keepFirstLayer, includeLastLayer: !keepLastLayer,
                                        includeBiases: pruneBiases, includeBatchNormScale: pruneBatchNorm)
        c.runs = runs
        c.skipFirstTraining = skipFirstTraining
        return c
    }
}

/// `shears prune oracle`: the greedy per-cycle grid search of the warmup peak (S-Cyc's Table 3).
struct PruneOracle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Per-cycle grid search of max_lr: well-tuned value and feasible region next to S-Cyc's Eq. 2 (Table 3).",
        discussion: """
        At every cycle trains once per --grid value (the warmup schedule of --warmup/--drops with that peak) from \
        the same pruned starting point, takes the best validation accuracy as the well-tuned max_lr and the values \
        within --tolerance of it as the feasible region, and prunes the well-tuned network for the next cycle. \
        S-Cyc's max_lr comes from --l-min --l-amp --q --beta --rate. Writes trials.jsonl, oracle.json, oracle.md \
        and oracle.svg; re-running the same command resumes after the last finished trial. --runs must be 1.
        """)

    @OptionGroup(title: "Data") var data: DataFlags<OracleDefaults>
    @OptionGroup(title: "Model and training (per cycle)") var training: TrainingFlags<OracleDefaults>
    @OptionGroup(title: "Pruning") var protocolFlags: IterativePruningFlags
    @Option(help: "max_lr values to try, comma-separated, increasing.") var grid: String = "0.01,0.02,0.03,0.05,0.07,0.1"
    @Option(help: "Feasible region: within this of the best validation accuracy (0.005 = 0.5 points).") var tolerance: Double = 0.005
    @OptionGroup(title: "Run") var execution: RunOptions
    @OptionGroup(title: "Trials elsewhere") var trialPlaces: OracleTrialOptions

    func makeConfig() throws -> OracleConfig {
        let pruning = try protocolFlags.makeConfig(data: data, training: training)
        // Every trial trains on the warmup schedule of --warmup/--drops with the trial's peak; scyc (the default) also
        // gives S-Cyc's max_lr beside the grid. Another schedule would be ignored, so it is refused rather than replaced.
        let name = pruning.training.schedule.name
        guard name == WarmupLR.scheduleName || name == SCycSchedule.scheduleName else {
            throw ValidationError("prune oracle trains every trial on the warmup schedule (--warmup, --drops, peak from --grid): "
                + "--schedule must be scyc (the default, which adds S-Cyc's max_lr) or warmup, got \(name)")
        }
        let values = try grid.split(separator: ",").map { part -> Double in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v.isFinite else {
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

    /// What names the oracle's directory: the protocol's non-default fields, the grid and a non-default tolerance.
    func namedFields() throws -> [String: String] {
        var named = try makeConfig().pruning.nonDefaultFields
        named["grid"] = grid
        if tolerance != 0.005 { named["tolerance"] = String(tolerance) }
        return named
    }

    func run() throws {
        let config = try makeConfig()
        try execution.launch(prefix: "oracle", nonDefault: try namedFields(), finishedFile: runFinishedFile) { dir, options in
            let say: (String) -> Void = { line in print(line); fflush(stdout); try? dir.log(line) }
            let runner = trialPlaces.runner(oracle: dir, threads: options.threads, prefetch: options.prefetch, say: say)
            let summary = try SCycOracle.run(config, in: dir, options: options, trials: runner)
            let t = config.pruning.training, table = OracleTables.markdown(summary, split: t.split)
            try table.write(toFile: dir.path("oracle.md"), atomically: true, encoding: .utf8)
            try OracleTables.chart(summary, title: "max_lr oracle: \(t.model.rawValue) on \(t.dataset.rawValue)").write(to: dir.path("oracle.svg"))
            print(table)
        }
    }
}
