import Foundation
import ShearsOptim
import ShearsPrune

/// The pruning criterion of an iterative-pruning run.
public enum PruningCriterion: String, Codable, CaseIterable, Sendable {
    /// |w| of the trained weights.
    case magnitude
    /// |w · ∂L/∂w| with the gradient averaged over `gradientBatches` training batches (`GradientScore`).
    case gradient
}

/// The per-cycle learning-rate schedules of the S-Cyc paper's Table 1 (all restarted at iteration 0 every cycle).
public enum CycleScheduleKind: String, Codable, CaseIterable, Sendable {
    /// `TrainingConfig.lr` throughout (`ConstantLR`).
    case constant
    /// `LinearDecayLR` from `TrainingConfig.lr` to 0 over the cycle.
    case linearDecay = "linear-decay"
    /// `TriangularCyclicLR(lower:, upper:, stepSize:)`.
    case cyclical
    /// `WarmupLR(peak:, warmup:, drops:)` (peak defaults to `TrainingConfig.lr`).
    case warmup
    /// `SCycSchedule` (Eq. 2): warmup whose peak is max_lr(m).
    case scyc
    /// `CosineLR` from `TrainingConfig.lr` to 0 over the cycle.
    case cosine
    /// `OneCycleLR` with peak `TrainingConfig.lr` over the cycle (PyTorch's defaults: 30 % up, ÷25 start, ÷10⁴ end).
    case onecycle
}

/// The LR schedule of every pruning cycle with its parameters (only those of `kind` are used).
public struct CycleSchedule: Codable, Equatable, Sendable {
    public var kind: CycleScheduleKind = .constant
    /// cyclical: a (lower) and b (upper) and the half period c in iterations.
    public var lower: Double = 0.001
    public var upper: Double = 0.1
    public var stepSize: Int = 1000
    /// warmup: the peak (nil: `TrainingConfig.lr`).
    public var peak: Double? = nil
    /// warmup / scyc: ramp length b and the iterations c, d, e of the 10× drops.
    public var warmupIterations: Int = 0
    public var drops: [Int] = []
    /// scyc: l_min, l_amp (the paper's l_max, added to l_min), q, β.
    public var lMin: Double = 3e-2
    public var lAmp: Double = 4e-2
    public var q: Int = 1
    public var beta: Double = 5

    public init() {}
}

/// Every hyperparameter of an iterative-pruning run (S-Cyc spec §2, Algorithm 1). Its JSON is the run
/// directory's `config.json`.
public struct IterativePruningConfig: Codable, Equatable, Sendable {
    /// Each cycle's training (model, dataset, split, iterations/epochs per cycle, optimizer, seed, evalEvery…).
    public var training: TrainingConfig
    /// p: the fraction of the *remaining* prunable weights removed per pruning step.
    public var rate: Double = 0.2
    /// L: pruning steps; training cycles m = 0 … L (L + 1 trainings).
    public var cycles: Int = 3
    public var criterion: PruningCriterion = .magnitude
    /// Training batches the gradient criterion averages over.
    public var gradientBatches: Int = 1
    public var allocation: Allocation = .global
    public var retrain: RetrainPolicy = .lrRewind
    public var selection: PrunableSelection = PrunableSelection()
    public var schedule: CycleSchedule = CycleSchedule()
    /// R: independent runs; run r uses seed `training.seed + r` in `run_<r>/`.
    public var runs: Int = 1
    /// Fig. 1 probes after every cycle (nil: off).
    public var distributions: DistributionOptions? = nil

    public init() {
        training = TrainingConfig()
        training.split = .pooled
    }

    /// The fields that differ from `IterativePruningConfig()` as `key=value` strings (the run's name).
    public var nonDefaultFields: [String: String] {
        var out = training.nonDefaultFields.filter { k, v in IterativePruningConfig().training.nonDefaultFields[k] != v }
        // split defaults to pooled here: drop it when it is pooled, name it when it is not.
        if training.split == .pooled { out["split"] = nil } else { out["split"] = training.split.rawValue }
        let mine = Self.flattenOwn(self), defaults = Self.flattenOwn(IterativePruningConfig())
        for (k, v) in mine where defaults[k] != v { out[k] = v }
        return out
    }

    static func flattenOwn(_ c: IterativePruningConfig) -> [String: String] { jsonFields(c, excluding: ["training"]) }

    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if !(rate > 0 && rate < 1) { try fail("--rate must be in (0, 1), got \(rate)") }
        if cycles < 0 { try fail("--cycles must be ≥ 0, got \(cycles)") }
        if runs < 1 { try fail("--runs must be ≥ 1, got \(runs)") }
        if gradientBatches < 1 { try fail("--gradient-batches must be ≥ 1, got \(gradientBatches)") }
        if let d = distributions, d.batches < 1 { try fail("--distribution-batches must be ≥ 1, got \(d.batches)") }
        if case .rewindTo(let k) = retrain, k < 0 { try fail("--retrain rewind:K needs K ≥ 0, got \(k)") }
        switch schedule.kind {
        case .cyclical: if schedule.stepSize <= 0 { try fail("--cyclic-step must be positive, got \(schedule.stepSize)") }
        case .warmup, .scyc:
            if schedule.warmupIterations < 0 { try fail("--warmup must be ≥ 0, got \(schedule.warmupIterations)") }
            if schedule.drops.contains(where: { $0 < 0 }) { try fail("--drops must be ≥ 0") }
            if schedule.kind == .scyc {
                if schedule.q < 0 { try fail("--q must be ≥ 0, got \(schedule.q)") }
                if !(schedule.beta > 0) { try fail("--beta must be > 0, got \(schedule.beta)") }
            }
        case .constant, .linearDecay, .cosine, .onecycle: break
        }
    }

    /// The LR schedule of one cycle of `total` iterations (restarted at 0 every cycle; pass the cycle as `cycle:`).
    public func makeCycleSchedule(totalIterations total: Int) -> any LRSchedule {
        let s = schedule
        switch s.kind {
        case .constant: return ConstantLR(training.lr)
        case .linearDecay: return LinearDecayLR(start: Double(training.lr), length: max(1, total))
        case .cyclical: return TriangularCyclicLR(lower: s.lower, upper: s.upper, stepSize: s.stepSize)
        case .warmup: return WarmupLR(peak: s.peak ?? Double(training.lr), warmup: s.warmupIterations, drops: s.drops)
        case .scyc: return SCycSchedule(lMin: s.lMin, lAmp: s.lAmp, q: s.q, beta: s.beta, rate: rate,
                                        warmupIterations: s.warmupIterations, drops: s.drops)
        case .cosine: return CosineLR(base: training.lr, totalIterations: max(1, total))
        case .onecycle: return OneCycleLR(maxLR: Double(training.lr), totalIterations: max(1, total))
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
