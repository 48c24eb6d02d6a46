import Foundation
import ShearsData
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// How the mask of megabatch t relates to the mask of t − 1 (spec §1.4, §1.7).
public enum AnytimeMaskUpdate: String, Codable, CaseIterable, Sendable {
    /// The paper's algorithm: score the current trained weights, rank only the survivors, prune until exactly
    /// ⌈0.8^δ_t · N⌉ remain. Masks are nested and the real density is the schedule's.
    case nested
    /// The authors' code (spec §1.4): at t ≥ 2 score freshly initialised prunable weights (PyTorch's default init) under
    /// the old mask, with the trained remaining parameters; select over *all* positions with the `kthvalue` threshold;
    /// multiply into the old mask. The real density collapses to ≈ Π_t 0.8^δ_t.
    case codeFaithful = "code-faithful"
}

/// The learning-rate policy across megabatches (spec §1.5).
public enum AnytimeLRPolicy: String, Codable, CaseIterable, Sendable {
    /// The multistep schedule restarts at epoch 0 of every megabatch (the paper's C-100 setting).
    case cyclic
    /// One multistep schedule over the epochs of the whole stream, never reset (the paper's C-10 setting: with
    /// milestones inside M_1 every later megabatch stays at the last rate).
    case nonCyclic = "non-cyclic"
}

/// Batch-norm behaviour while scoring (spec §1.7 `bnModeForScoring`).
public enum ScoringBatchNorm: String, Codable, CaseIterable, Sendable {
    /// Batch statistics (the APP code: the mask model is in train mode).
    case train
    /// Running statistics (the reference SNIP code).
    case eval

    public var phase: LearningPhase { self == .train ? .training : .inference }
}

/// Which protocol a configuration runs.
public enum AnytimeMethod: String, Codable, Sendable {
    /// Anytime Progressive Pruning.
    case app
    /// Anytime one-shot pruning: SNIP (or the chosen pruner) once at initialisation to 0.8^τ.
    case osp
    /// The dense baseline: the same stream without masks.
    case dense
}

/// Every hyperparameter of an anytime run (APP spec §1, §2). Its JSON is the run directory's `config.json`.
///
/// `training` carries the model, dataset, optimizer and the per-megabatch training: `epochs` is E (epochs per
/// megabatch), `schedule` is `constant` or `multistep` with `milestones` in epochs (E = 50, 20ep,40ep, γ = 0.1 in the
/// APP code), and `validation` must be 0 (the stream brings its own validation parts).
public struct AnytimeConfig: RunConfiguration, Sendable {
    public var training: TrainingConfig
    /// |S_B|.
    public var megabatches: Int = 8
    /// τ: the final density is 0.8^τ.
    public var tau: Double = 4.5
    /// Use only the first N examples of the shuffled training set (nil: all of it).
    public var poolSize: Int? = nil
    /// Shuffle the training set (seeded) before cutting megabatches; false keeps the file order (as the APP code).
    public var shufflePool: Bool = true
    public var replay: ReplayPolicy = .full
    /// A criterion of `CriterionRegistry` (SNIP |g ⊙ w| by default, as APP), or `none`: the dense baseline.
    public var pruner: String = "snip"
    /// Anytime OSP instead of APP.
    public var osp: Bool = false
    /// f: |π_t| = int(f·|M_t|).
    public var pruneFraction: Double = 0.2
    public var pruneSample: PruneSampleDraw = .random
    public var pruneSampleSize: PruneSampleSize = .replay
    public var scoringBatchNorm: ScoringBatchNorm = .train
    /// The batches SNIP sums its gradients over (100 in the APP code).
    public var scoringBatchSize: Int = 100
    public var maskUpdate: AnytimeMaskUpdate = .nested
    public var lrPolicy: AnytimeLRPolicy = .cyclic
    /// APP prunes every conv/linear weight but the classifier (the code never prunes the FC layer).
    public var selection: PrunableSelection = PrunableSelection(includeLastLayer: false)

    /// The APP code's training (spec §1.5): SGD lr 0.1, momentum 0.9, weight decay 1e-4, batch 64, 50 epochs per
    /// megabatch with ×0.1 at epochs 20 and 40.
    public init() {
        var t = TrainingConfig()
        t.validation = 0
        t.epochs = 50
        t.batchSize = 64
        t.lr = 0.1
        t.momentum = 0.9
        t.weightDecay = 1e-4
        t.schedule = ScheduleSpec(MultiStepLR.scheduleName, ["milestones": .steps([StepSpec(20, .epochs), StepSpec(40, .epochs)]),
                                                              "gamma": .number(0.1)])
        training = t
    }

    /// The `pruner` of the dense baseline.
    public static let densePruner = "none"

    public var method: AnytimeMethod { pruner == Self.densePruner ? .dense : osp ? .osp : .app }

    public var densitySchedule: ProgressiveDensitySchedule { ProgressiveDensitySchedule(tau: tau, megabatches: megabatches) }

    /// The density pruning at megabatch t aims at, or nil when nothing is pruned at t.
    public func targetDensity(at t: Int) -> Double? {
        switch method {
        case .dense: return nil
        case .osp: return t == 1 ? densitySchedule.finalDensity : nil
        case .app: return densitySchedule.density(at: t)
        }
    }

    /// The learning rate of epoch e (0-based) of megabatch t (1-based): the schedule (constant or multistep with
    /// milestones in epochs) at epoch e of the megabatch (cyclic) or at the stream's epoch (non-cyclic).
    public func learningRate(megabatch t: Int, epoch e: Int) -> Float {
        let index = lrPolicy == .cyclic ? e : (t - 1) * (training.epochs ?? 0) + e
        // One "iteration" per epoch: milestones in epochs resolve to epoch indices.
        let schedule = (try? ScheduleRegistry.make(training.schedule, ScheduleContext(baseLR: training.lr, iterationsPerEpoch: 1,
                                                                                       totalIterations: max(1, training.epochs ?? 1))))
        return schedule?.learningRate(iteration: index) ?? training.lr
    }

    /// Checks the combination of values; the message names the flag and what was expected.
    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if training.iterations != nil || training.epochs == nil {
            try fail("anytime runs count training in epochs per megabatch: give --epochs, not --iterations")
        }
        if training.validation != 0 || training.split != .official || training.trainSubset != nil {
            try fail("anytime runs take their validation data from the megabatches: validation must be 0, split official "
                + "and no train subset (use --pool-size), got validation \(training.validation), split \(training.split.rawValue)"
                + (training.trainSubset.map { ", train subset \($0)" } ?? ""))
        }
        let name = training.schedule.name
        guard name == ConstantLR.scheduleName || name == MultiStepLR.scheduleName else {
            try fail("--schedule for anytime runs must be constant or multistep (per-megabatch epochs), got \(name)")
        }
        if case .steps(let steps)? = training.schedule.parameters["milestones"], let bad = steps.first(where: { $0.unit != .epochs }) {
            try fail("--milestones for anytime runs are epochs within a megabatch (e.g. 20ep,40ep), got \(bad)")
        }
        if megabatches < 1 { try fail("--megabatches must be at least 1, got \(megabatches)") }
        if !tau.isFinite || tau < 1 { try fail("--tau must be a number ≥ 1 (δ = linspace(1, τ, |S_B|), density 0.8^δ), got \(tau)") }
        if let p = poolSize, p < megabatches * 2 { try fail("--pool-size \(p) is too small for \(megabatches) megabatches (each needs a training and a validation example)") }
        if osp && pruner == Self.densePruner { try fail("--osp needs a pruner (snip, magnitude, random, …), not --pruner none") }
        if pruner != Self.densePruner && !CriterionRegistry.isKnown(pruner) {
            try fail("--pruner \(pruner) is not a criterion; expected none or one of \(CriterionRegistry.names.joined(separator: ", "))")
        }
        if !(pruneFraction > 0 && pruneFraction <= 1) { try fail("--prune-fraction must be in (0, 1], got \(pruneFraction)") }
        if scoringBatchSize < 1 { try fail("--scoring-batch-size must be ≥ 1, got \(scoringBatchSize)") }
        if case .buffer(let c) = replay, c < 0 { try fail("--replay buffer:N needs N ≥ 0, got \(c)") }
    }
}
