import Foundation

// S-Cyc (Liu, Tan, Motani, arXiv 2110.08764; shared/spec/scyc.md §1): an LR-warmup schedule rewound every pruning
// cycle whose peak, max_lr, grows along an S-shaped curve of the fraction of weights pruned so far (Eq. 2, recovered
// from the authors' SILO code and checked against the paper's Tables 3, 7 and 8).
//
// Cycle numbering: `m` is the number of **completed** pruning cycles. m = 0 is the dense network's first training,
// m = 1 the first retraining after one pruning step, …; the paper's 25 pruning cycles are m = 0 … 24. After m cycles
// at rate p, 100·(1 − p)^m percent of the prunable weights remain.

/// S_β(x) = 1 / (1 + (x/(1 − x))^(−β)) = x^β / (x^β + (1 − x)^β): 0 at x = 0, ½ at x = ½, 1 at x = 1; larger β is
/// flatter at both ends and steeper in the middle. Defined for every x (clamped to [0, 1]) and β > 0.
public func sShape(_ x: Double, beta: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    return 1 / (1 + pow(x / (1 - x), -beta))
}

/// Eq. 2: the peak learning rate of pruning cycle `m` (m completed pruning cycles).
///
///     x(m)      = 0                    if m ≤ q   (No-Growth phase)
///               = 1 − (1 − p)^(m − q)  if m > q
///     max_lr(m) = l_min + l_amp · S_β(x(m))
///
/// `lAmp` is the paper's l_max, which is an **amplitude added to l_min**, not an upper bound (spec §1.1: the code adds
/// it to the offset, and the tables approach l_min + l_max): max_lr rises from l_min towards l_min + l_amp.
public func sCycMaxLR(cycle m: Int, rate p: Double, q: Int, beta: Double, lMin: Double, lAmp: Double) -> Double {
    guard m > q else { return lMin }
    let x = 1 - pow(1 - p, Double(m - q))
    return lMin + lAmp * sShape(x, beta: beta)
}

/// Percent of the prunable weights left after `m` pruning cycles at rate `p`: 100·(1 − p)^m.
public func percentRemaining(cycle m: Int, rate p: Double) -> Double { 100 * pow(1 - p, Double(m)) }

/// The S-Cyc schedule: within pruning cycle m, Table 1's LR warmup (b, c, d, e) with peak `maxLR(cycle: m)` (Eq. 2),
/// restarted from t = 0 every cycle. `iteration` is the iteration within the cycle.
///
/// Paper tuples (l_min, l_max, q, β, b, c, d, e) are in `SCycSchedule.paper…`; the spec recommends q = 1 (not the
/// printed 2) for VGG-19 because that is what reproduces Table 3.
public struct SCycSchedule: LRSchedule, Equatable {
    public let lMin: Double, lAmp: Double, q: Int, beta: Double, pruningRate: Double
    /// The per-cycle shape, with peak 1.
    public let warmup: WarmupLR

    /// - Parameters: `lMin` (l_min, max_lr of the dense and No-Growth cycles), `lAmp` (the paper's l_max, added to
    ///   l_min), `q` (No-Growth length, ≥ 0), `beta` (β > 0), `rate` (pruning rate p in [0, 1)), `warmupIterations` (b),
    ///   `drops` (c, d, e; leave out "Nil"), `dropFactor` (0.1: the paper's 10× drops).
    public init(lMin: Double, lAmp: Double, q: Int, beta: Double, rate: Double,
                warmupIterations: Int, drops: [Int], dropFactor: Double = 0.1) {
        precondition(q >= 0, "SCycSchedule: q must be ≥ 0, got \(q)")
        precondition(beta > 0, "SCycSchedule: β must be > 0, got \(beta)")
        precondition(rate >= 0 && rate < 1, "SCycSchedule: pruning rate must be in [0, 1), got \(rate)")
        self.lMin = lMin; self.lAmp = lAmp; self.q = q; self.beta = beta; self.pruningRate = rate
        self.warmup = WarmupLR(peak: 1, warmup: warmupIterations, drops: drops, dropFactor: dropFactor)
    }

    /// Eq. 2 for cycle `m`.
    public func maxLR(cycle m: Int) -> Double {
        sCycMaxLR(cycle: m, rate: pruningRate, q: q, beta: beta, lMin: lMin, lAmp: lAmp)
    }
    public func rate(iteration: Int, cycle: Int) -> Double { maxLR(cycle: cycle) * warmup.factor(at: iteration) }
    public func learningRate(iteration: Int, cycle: Int) -> Float { Float(rate(iteration: iteration, cycle: cycle)) }

    /// Rows (m, percent remaining, max_lr) for m = 0 ..< `cycles`.
    public func table(cycles: Int) -> [(cycle: Int, percentRemaining: Double, maxLR: Double)] {
        (0..<max(0, cycles)).map { m in (m, percentRemaining(cycle: m, rate: pruningRate), maxLR(cycle: m)) }
    }

    /// The learning rate over `cycles` consecutive pruning cycles of `iterationsPerCycle` iterations each, as
    /// (global iteration m·T + t, lr) at the warmup's breakpoints: joined by straight lines, this is the exact curve.
    public func curve(cycles: Int, iterationsPerCycle: Int) -> [(iteration: Int, lr: Double)] {
        let ts = warmup.breakpoints(iterations: iterationsPerCycle)
        var out: [(iteration: Int, lr: Double)] = []
        for m in 0..<max(0, cycles) {
            for t in ts { out.append((m * iterationsPerCycle + t, rate(iteration: t, cycle: m))) }
        }
        return out
    }

    /// Table 2(a) / 9: ResNet-20, CIFAR-10, global gradient, SGD: (3e-2, 4e-2, 1, 5, 20K, 20K, 25K, Nil), p = 0.2.
    public static let paperResNet20 = SCycSchedule(lMin: 3e-2, lAmp: 4e-2, q: 1, beta: 5, rate: 0.2,
                                                   warmupIterations: 20_000, drops: [20_000, 25_000])
    /// Table 2(b) / 10: VGG-19, CIFAR-10, layer gradient, SGD: (4e-2, 6e-2, q, 4, 10K, 32K, 48K, Nil). The tables print
    /// q = 2 but Table 3 and the original code say q = 1 (spec §1.2); this is the q = 1 version.
    public static let paperVGG19 = SCycSchedule(lMin: 4e-2, lAmp: 6e-2, q: 1, beta: 4, rate: 0.2,
                                                warmupIterations: 10_000, drops: [32_000, 48_000])
    /// Table 2(c) / 11: ResNet-50, ImageNet-200, IMP, SGD: (5e-2, 5e-2, 2, 5, 4K, 23K, 46K, 62K).
    public static let paperResNet50 = SCycSchedule(lMin: 5e-2, lAmp: 5e-2, q: 2, beta: 5, rate: 0.2,
                                                   warmupIterations: 4_000, drops: [23_000, 46_000, 62_000])
}
