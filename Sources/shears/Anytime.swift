import ArgumentParser
import Foundation
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune

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
                               valueName: "pruner"))
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
