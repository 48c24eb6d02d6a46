import Foundation

// The learning-rate schedules the gRDA paper uses (shared/spec/grda.md §2). With gRDA the rate matters twice: it
// scales the dual step and, through γ^{μ+½}, the growth of the soft threshold (`GRDA`). Rates are computed in
// Double (`rate(at:)`) and handed to the optimizer as Float. Constant rate is the existing `ConstantLR`.

/// "Constant-and-drop" (paper App. C.2, ImageNet "0.1, drop once"): `base` until iteration `dropAt`, then
/// `base·factor` (spec §2.1: lr = 0.1·0.1^⌊epoch/140⌋ over 150 epochs, i.e. one drop at epoch 140).
///
/// `lr(t) = base` for t < dropAt, `base·factor` for t ≥ dropAt (t counts iterations from 0).
public struct ConstantAndDropLR: LRSchedule, Equatable {
    public let base: Double, dropAt: Int, factor: Double
    public init(base: Double, dropAt: Int, factor: Double = 0.1) {
        precondition(dropAt >= 0, "ConstantAndDropLR: the drop iteration must be ≥ 0, got \(dropAt)")
        precondition(factor > 0, "ConstantAndDropLR: the drop factor must be > 0, got \(factor)")
        self.base = base; self.dropAt = dropAt; self.factor = factor
    }
    public func rate(at iteration: Int) -> Double { iteration < dropAt ? base : base * factor }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }
}

/// The CIFAR schedule of the paper's App. C.2 (Garipov et al.'s `learning_rate_schedule`, spec §2.2), set at the start
/// of every epoch. With e the 1-based epoch, T the total epochs and α = e/T:
///
///     factor = 1                                  if α ≤ 0.5
///     factor = 1 − (α − 0.5)/0.4 · 0.99           if α ≤ 0.9   (linear from 1 down to 0.01)
///     factor = 0.01                               otherwise
///     lr = base · factor
///
/// Iteration t (from 0) lies in epoch e = ⌊t / iterationsPerEpoch⌋ + 1.
public struct CIFARDecayLR: LRSchedule, Equatable {
    public let base: Double, totalEpochs: Int, iterationsPerEpoch: Int
    public init(base: Double, totalEpochs: Int, iterationsPerEpoch: Int) {
        precondition(totalEpochs > 0, "CIFARDecayLR: total epochs must be positive, got \(totalEpochs)")
        precondition(iterationsPerEpoch > 0, "CIFARDecayLR: iterations per epoch must be positive, got \(iterationsPerEpoch)")
        self.base = base; self.totalEpochs = totalEpochs; self.iterationsPerEpoch = iterationsPerEpoch
    }
    /// The factor of 1-based epoch e.
    public func factor(epoch e: Int) -> Double {
        let alpha = Double(e) / Double(totalEpochs)
        if alpha <= 0.5 { return 1 }
        if alpha <= 0.9 { return 1 - (alpha - 0.5) / 0.4 * 0.99 }
        return 0.01
    }
    public func rate(at iteration: Int) -> Double { base * factor(epoch: max(0, iteration) / iterationsPerEpoch + 1) }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }
}
