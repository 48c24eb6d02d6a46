import Foundation
import ShearsOptim
import ShearsPrune

/// Every hyperparameter of an iterative-pruning run (S-Cyc spec §2, Algorithm 1). Its JSON is the run
/// directory's `config.json`.
public struct IterativePruningConfig: RunConfiguration, Sendable {
    /// Each cycle's training (model, dataset, split, iterations/epochs per cycle, optimizer, seed, evalEvery…); its
    /// `schedule` is the per-cycle LR schedule, restarted at iteration 0 every cycle (S-Cyc's Table 1 and Eq. 2).
    public var training: TrainingConfig
    /// p: the fraction of the *remaining* prunable weights removed per pruning step.
    public var rate: Double = 0.2
    /// L: pruning steps; training cycles m = 0 … L (L + 1 trainings).
    public var cycles: Int = 3
    /// A name in `CriterionRegistry` (magnitude, gradient, snip, random, l1-filter, synflow, …).
    public var criterion: String = "magnitude"
    /// Training batches the data-driven criteria (gradient, SNIP) score on.
    public var scoringBatches: Int = 1
    public var allocation: Allocation = .global
    public var retrain: RetrainPolicy = .lrRewind
    public var selection: PrunableSelection = PrunableSelection()
    /// R: independent runs; run r uses seed `training.seed + r` in `run_<r>/`.
    public var runs: Int = 1
    /// Fig. 1 probes after every cycle (nil: off).
    public var distributions: DistributionOptions? = nil

    public init() {
        training = TrainingConfig()
        training.split = .pooled
    }

    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if !(rate > 0 && rate < 1) { try fail("--rate must be in (0, 1), got \(rate)") }
        if !(0...10_000).contains(cycles) { try fail("--cycles must be between 0 and 10000, got \(cycles)") }
        if !(1...10_000).contains(runs) { try fail("--runs must be between 1 and 10000, got \(runs)") }
        if !(1...100_000).contains(scoringBatches) { try fail("--scoring-batches must be between 1 and 100000, got \(scoringBatches)") }
        if !CriterionRegistry.isKnown(criterion) {
            try fail("--criterion \(criterion) is not a criterion; expected one of \(CriterionRegistry.names.joined(separator: ", "))")
        }
        if let d = distributions, d.batches < 1 { try fail("--distribution-batches must be ≥ 1, got \(d.batches)") }
        if case .rewindTo(let k) = retrain, k < 0 { try fail("--retrain rewind:K needs K ≥ 0, got \(k)") }
        do { try ScheduleRegistry.validate(training.schedule, baseLR: training.lr, pruningRate: rate) } catch let e as ScheduleError {
            try fail("--schedule: \(e.description)")
        }
    }
}

extension RetrainPolicy {
    /// Parses `rewind-init`, `rewind:K`, `lr-rewind`, `fine-tune[:LR]` (LR default `defaultLR`), `reinit[:SEED]`.
    public init?(parsing text: String, defaultLR: Float = 0.001) {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        guard let head = parts.first else { return nil }
        let arg = parts.count > 1 ? parts[1] : nil
        switch head {
        case "rewind-init": guard arg == nil else { return nil }; self = .rewindToInit
        case "rewind": guard let a = arg, let k = Int(a), k >= 0 else { return nil }; self = .rewindTo(iteration: k)
        case "lr-rewind": guard arg == nil else { return nil }; self = .lrRewind
        case "fine-tune":
            if let a = arg { guard let lr = Float(a), lr > 0 else { return nil }; self = .fineTune(lr: lr) } else { self = .fineTune(lr: defaultLR) }
        case "reinit":
            if let a = arg { guard let s = UInt64(a) else { return nil }; self = .reinit(seed: s) } else { self = .reinit(seed: 0x5E1_417) }
        default: return nil
        }
    }
}
