import Foundation

/// The one-cycle policy (Smith & Topin 2019) exactly as `torch.optim.lr_scheduler.OneCycleLR` with its defaults
/// (`anneal_strategy="cos"`, `three_phase=False`):
///
///     initial = max / divFactor,  minimum = initial / finalDivFactor
///     phase 1, t ∈ [0, pctStart·T − 1]:      cosine from initial up to max
///     phase 2, t ∈ [pctStart·T − 1, T − 1]:  cosine from max down to minimum
///     cos(a → b, f) = b + (a − b)·(1 + cos(π·f))/2,  f the fraction of the phase elapsed
///
/// Like the other schedules it is a pure function of the iteration; every pruning cycle restarts it.
public struct OneCycleLR: LRSchedule, Equatable {
    public let maxLR: Double, totalIterations: Int, pctStart: Double, divFactor: Double, finalDivFactor: Double

    public init(maxLR: Double, totalIterations: Int, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4) {
        precondition(totalIterations > 1, "OneCycleLR: total iterations must be > 1, got \(totalIterations)")
        precondition(pctStart > 0 && pctStart < 1, "OneCycleLR: pctStart must be in (0, 1), got \(pctStart)")
        self.maxLR = maxLR; self.totalIterations = totalIterations; self.pctStart = pctStart
        self.divFactor = divFactor; self.finalDivFactor = finalDivFactor
    }

    public var initialLR: Double { maxLR / divFactor }
    public var minimumLR: Double { initialLR / finalDivFactor }

    public func rate(at iteration: Int) -> Double {
        let t = Double(min(max(iteration, 0), totalIterations - 1))
        let peakStep = pctStart * Double(totalIterations) - 1
        func anneal(_ a: Double, _ b: Double, _ f: Double) -> Double { b + (a - b) / 2 * (cos(Double.pi * f) + 1) }
        if t <= peakStep { return anneal(initialLR, maxLR, peakStep > 0 ? t / peakStep : 1) }
        return anneal(maxLR, minimumLR, (t - peakStep) / (Double(totalIterations - 1) - peakStep))
    }

    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }
}
