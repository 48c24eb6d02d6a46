import Foundation
import ShearsOptim
import ShearsPrune

/// Every hyperparameter of `shears prune grda` (spec §1.2, §2). Its JSON is the run directory's `config.json`.
public struct DirectionalPruningConfig: RunConfiguration, Sendable {
    /// Model, data, split, length, batch size, base lr, the schedule of all three trainings (the paper's: constant,
    /// `drop` — ImageNet's "0.1, drop once at epoch 140" — or `cifar`), seed, evaluation period. The optimizer fields
    /// must stay at plain SGD (momentum 0, no weight decay): the paper's gRDA and its SGD baseline have neither.
    public var training: TrainingConfig
    /// gRDA's c and μ (eq. 5).
    public var c: Double = 0.005
    public var mu: Double = 0.55
    /// Threshold every parameter (the paper); false keeps biases and batch-norm parameters dense (plain SGD for them).
    public var thresholdAllParameters: Bool = true
    /// Train plain SGD from the same initial weights with the same minibatch order and schedule.
    public var baseline: Bool = true
    /// Train gradual magnitude pruning (Zhu & Gupta) to gRDA's final sparsity, same init/order/schedule, SGD.
    public var gmp: Bool = true
    /// GMP: pruning starts at this fraction of training and ends at `gmpEnd`, in `gmpSteps` mask updates after the first.
    public var gmpBegin: Double = 0.1
    public var gmpEnd: Double = 0.6
    public var gmpSteps: Int = 10
    public var gmpAllocation: Allocation = .global
    /// Save each phase's weights every this many steps to `<phase>/snapshots/it_<iteration>.safetensors` — the
    /// checkpoints along training that the projection of eq. 13 is measured on (`shears analyze projection --along`).
    public var snapshotEvery: StepSpec? = nil

    public init() { training = TrainingConfig() }

    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if training.optimizer != .sgd || training.momentum != 0 || training.nesterov || training.weightDecay != 0 {
            try fail("gRDA and its SGD baseline use plain SGD steps without momentum or weight decay (spec §1.2); "
                     + "got optimizer \(training.optimizer.rawValue), momentum \(training.momentum), weight decay \(training.weightDecay)")
        }
        if !(c >= 0) || !c.isFinite { try fail("--c must be a finite number ≥ 0, got \(c)") }
        if !(mu > 0) || !mu.isFinite { try fail("--mu must be a finite number > 0 (the paper uses 0.5 < μ < 1), got \(mu)") }
        if training.schedule.name == CIFARDecayLR.scheduleName && training.epochs == nil {
            try fail("--schedule cifar is defined per epoch: give --epochs, not --iterations")
        }
        if let s = snapshotEvery, s.value <= 0 { try fail("--snapshot-every must be positive, got \(s)") }
        if gmp {
            if !(gmpBegin >= 0 && gmpBegin < gmpEnd && gmpEnd <= 1) {
                try fail("--gmp-begin and --gmp-end must satisfy 0 ≤ begin < end ≤ 1 (fractions of training), got \(gmpBegin) and \(gmpEnd)")
            }
            if gmpSteps < 1 { try fail("--gmp-steps must be ≥ 1, got \(gmpSteps)") }
        }
    }

    /// Zhu & Gupta's schedule over `total` iterations to `finalSparsity` (of the prunable weights).
    public func makeGMPSchedule(totalIterations total: Int, finalSparsity: Double) -> ZhuGuptaSchedule {
        let begin = Int((gmpBegin * Double(total)).rounded())
        let end = max(begin + gmpSteps, Int((gmpEnd * Double(total)).rounded()))
        let frequency = max(1, (end - begin) / gmpSteps)
        return ZhuGuptaSchedule(finalSparsity: finalSparsity, begin: begin, frequency: frequency, steps: gmpSteps)
    }
}
