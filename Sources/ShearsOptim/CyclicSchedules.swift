import Foundation

// The per-cycle learning-rate schedules of the S-Cyc paper's Table 1 (Liu, Tan, Motani, arXiv 2110.08764; see
// shared/spec/scyc.md §1.4–1.5). In iterative pruning every schedule is **rewound at the start of each pruning
// cycle** ("same as LR rewinding"), so for these types `iteration` is the iteration *within* the current cycle
// (t = 0 at the cycle's first step) and `cycle` does not change the rate; `SCycSchedule` is the one schedule whose
// shape depends on the cycle.
//
// The rates are computed in `Double` (`rate(at:)`) and handed to the optimizer as `Float`
// (`learningRate(iteration:cycle:)`). Negative iterations are treated as 0.
//
// Table 1 also names constant LR (a) — that is the existing `ConstantLR` — and describes the LR warmup as "a special
// form of cyclical LR (one up-and-down cycle)": that one-up-and-down cycle is `WarmupLR` below; the paper defines no
// other one-cycle schedule.

/// Table 1's "LR decay (a, b)": linear decay from `start` (a) at t = 0 to 0 at t = `length` (b), then 0.
///
/// `lr(t) = a · max(0, 1 − t/b)` (clamping at 0 after b is our choice; the paper's runs stop at t = b − 1).
public struct LinearDecayLR: LRSchedule, Equatable {
    public let start: Double, length: Int
    public init(start: Double, length: Int) {
        precondition(length > 0, "LinearDecayLR: length must be positive, got \(length)")
        self.start = start; self.length = length
    }
    public func rate(at iteration: Int) -> Double {
        let t = Double(max(0, iteration))
        return start * max(0, 1 - t / Double(length))
    }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }
}

/// Table 1's "cyclical LR (a, b, c)": Smith's (2017) triangular cyclical LR between `lower` (a) and `upper` (b)
/// with half-period `stepSize` (c iterations): up from a to b over c iterations, back down over the next c, repeat.
///
/// `cyc = ⌊1 + t/(2c)⌋; u = |t/c − 2·cyc + 1|; lr(t) = a + (b − a)·max(0, 1 − u)`.
public struct TriangularCyclicLR: LRSchedule, Equatable {
    public let lower: Double, upper: Double, stepSize: Int
    public init(lower: Double, upper: Double, stepSize: Int) {
        precondition(stepSize > 0, "TriangularCyclicLR: step size must be positive, got \(stepSize)")
        self.lower = lower; self.upper = upper; self.stepSize = stepSize
    }
    public func rate(at iteration: Int) -> Double {
        let t = Double(max(0, iteration)), c = Double(stepSize)
        let cyc = (1 + t / (2 * c)).rounded(.down)
        let u = abs(t / c - 2 * cyc + 1)
        return lower + (upper - lower) * max(0, 1 - u)
    }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }
}

/// Table 1's "LR warmup (a, b, c, d, e)": a linear ramp from 0 at t = 0 to the peak `peak` (a) at t = `warmup`
/// (b iterations), then divided by 10 (`dropFactor` = 0.1) at each iteration of `drops` (c, d, e; the paper's
/// "Nil" is simply left out).
///
/// `lr(t) = a · min(1, t/b) · 0.1^#{s ∈ drops : t ≥ s}` (b = 0: no ramp). The ramp starts from 0, as in
/// Table 4's "0 to 3e-2 warmup". Drops and ramp multiply, so a drop inside the ramp (c < b) scales the ramp; with
/// the paper's ResNet-20 setting b = c = 20K the rate never sits at the peak: it reaches a·(b−1)/b at t = b − 1 and
/// is a/10 at t = b.
public struct WarmupLR: LRSchedule, Equatable {
    public let peak: Double, warmup: Int, drops: [Int], dropFactor: Double
    public init(peak: Double, warmup: Int, drops: [Int], dropFactor: Double = 0.1) {
        precondition(warmup >= 0, "WarmupLR: warmup must be ≥ 0 iterations, got \(warmup)")
        precondition(drops.allSatisfy { $0 >= 0 }, "WarmupLR: drop iterations must be ≥ 0, got \(drops)")
        self.peak = peak; self.warmup = warmup; self.drops = drops.sorted(); self.dropFactor = dropFactor
    }
    /// The shape with peak 1 (what S-Cyc scales by each cycle's max_lr).
    public func factor(at iteration: Int) -> Double {
        let t = max(0, iteration)
        let ramp = warmup == 0 ? 1 : min(1, Double(t) / Double(warmup))
        let passed = drops.lazy.filter { t >= $0 }.count
        return ramp * pow(dropFactor, Double(passed))
    }
    public func rate(at iteration: Int) -> Double { peak * factor(at: iteration) }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(at: iteration)) }

    /// The iterations in [0, `iterations`) where the piecewise-linear rate changes slope or jumps (0, the end of the
    /// ramp, the iteration before and at each drop, the last iteration), sorted: joining the rates at these
    /// iterations with straight lines draws the schedule exactly.
    public func breakpoints(iterations: Int) -> [Int] {
        guard iterations > 0 else { return [] }
        var ts: Set<Int> = [0, iterations - 1, warmup]
        for s in drops { ts.insert(s - 1); ts.insert(s) }
        return ts.filter { $0 >= 0 && $0 < iterations }.sorted()
    }
}
