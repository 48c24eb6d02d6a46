import Foundation
import ShearsTensor

/// Zhu & Gupta's gradual sparsity schedule ("To prune, or not to prune", 2017, eq. 1): starting at iteration t₀, the
/// mask is updated every Δt iterations, n times, to the sparsity
///
///     s_t = s_f + (s_i − s_f)·(1 − (t − t₀)/(n·Δt))³      for t ∈ {t₀, t₀ + Δt, …, t₀ + n·Δt}
///
/// and held in between; pruning is fast at first and slows as s_t approaches the final sparsity s_f. Before t₀ the
/// target is s_i; from t₀ + n·Δt on it is s_f.
public struct ZhuGuptaSchedule: Codable, Equatable, Sendable {
    public var initialSparsity: Double
    public var finalSparsity: Double
    /// t₀: the first pruning iteration.
    public var begin: Int
    /// Δt: iterations between pruning steps.
    public var frequency: Int
    /// n: pruning steps after t₀ (the last at t₀ + n·Δt).
    public var steps: Int

    public init(initialSparsity: Double = 0, finalSparsity: Double, begin: Int, frequency: Int, steps: Int) {
        precondition((0...1).contains(initialSparsity) && (0...1).contains(finalSparsity),
                     "ZhuGuptaSchedule: sparsities must be in [0, 1], got \(initialSparsity) and \(finalSparsity)")
        precondition(begin >= 0 && frequency > 0 && steps > 0,
                     "ZhuGuptaSchedule: needs begin ≥ 0, frequency > 0, steps > 0; got \(begin), \(frequency), \(steps)")
        self.initialSparsity = initialSparsity; self.finalSparsity = finalSparsity
        self.begin = begin; self.frequency = frequency; self.steps = steps
    }

    /// The last pruning iteration t₀ + n·Δt.
    public var end: Int { begin + steps * frequency }

    /// Whether the mask is updated at iteration t (t ∈ {t₀, t₀ + Δt, …, t₀ + n·Δt}).
    public func isPruningStep(_ t: Int) -> Bool { t >= begin && t <= end && (t - begin) % frequency == 0 }

    /// s_t: the target sparsity in force at iteration t (that of the last pruning step at or before t).
    public func sparsity(at t: Int) -> Double {
        guard t >= begin else { return initialSparsity }
        let k = min(steps, (t - begin) / frequency)
        let remaining = 1 - Double(k) / Double(steps)
        return finalSparsity + (initialSparsity - finalSparsity) * remaining * remaining * remaining
    }
}

/// One gradual-magnitude-pruning step: the mask, nested in `mask`, that leaves exactly ⌊(1 − target)·N⌉ of the N masked
/// weights alive (fewer are never revived: an already-pruned weight stays pruned), removing the alive weights of
/// lowest |w| (`MagnitudeScore`) under `allocation`. With `.global` the count is exact; with `.layerwise` every tensor
/// loses the same fraction of its alive weights (each tensor's count rounded up, as `prune(…)` does). A target at or
/// below the current sparsity leaves the mask as it is.
public func gradualMagnitudeStep(parameters: [(String, Variable)], mask: Mask, targetSparsity: Double,
                                 allocation: Allocation = .global) -> Mask {
    precondition((0...1).contains(targetSparsity), "gradualMagnitudeStep: target sparsity must be in [0, 1], got \(targetSparsity)")
    let total = mask.total, alive = mask.remaining
    let keep = Int((Double(total) * (1 - targetSparsity)).rounded())
    guard alive > 0, keep < alive else { return mask }
    let masked = parameters.filter { mask[$0.0] != nil }
    let scores = Dictionary(uniqueKeysWithValues: masked.map { ($0.0, $0.1.value.contiguous().map { abs($0) }) })
    let shapes = Dictionary(uniqueKeysWithValues: masked.map { ($0.0, $0.1.shape) })
    return prune(scores: scores, mask: mask, fraction: Double(alive - keep) / Double(alive), allocation: allocation, shapes: shapes)
}

extension Mask {
    /// The nonzero pattern of `parameters`: 1 where a weight is not exactly 0. For methods whose zeros come from the
    /// weights themselves (gRDA's soft threshold), this gives the `SparsityReport` of the model as it is.
    public static func nonzero(of parameters: [(String, Variable)]) -> Mask {
        Mask(Dictionary(uniqueKeysWithValues: parameters.map { name, p in
            (name, p.value.contiguous().map { $0 != 0 ? 1 : 0 })
        }))
    }
}

/// Kept weights per tensor at sparsity s for gradual magnitude pruning, never more than a tensor keeps now (`alive`):
/// uniform keeps min(alive, n − ⌈s·n⌉) of each tensor, as `dynamicKeepCounts` does; ERK keeps N − ⌈s·N⌉ of all N
/// weights, split by `erkKeepCounts` with the alive counts as caps, so that the total is exact even where the rounding
/// of a fresh ERK split at s would ask a tensor for one weight it has already lost. Both reach exactly
/// `dynamicKeepCounts(…, s_f, …)` in total at the last step, since every earlier s_t is smaller.
public func gradualKeepCounts(shapes: [String: [Int]], alive: [String: Int], sparsity: Double,
                              distribution: DensityDistribution) -> [String: Int] {
    precondition(sparsity >= 0 && sparsity < 1, "gradualKeepCounts: sparsity must be in [0, 1), got \(sparsity)")
    let sizes = shapes.mapValues { $0.reduce(1, *) }
    switch distribution {
    case .uniform:
        return sizes.mapValues { $0 - ceilingCount(sparsity, of: $0) }.merging(alive, uniquingKeysWith: min)
    case .erk:
        let total = sizes.values.reduce(0, +)
        let keep = min(alive.values.reduce(0, +), total - ceilingCount(sparsity, of: total))
        return erkKeepCounts(shapes: shapes, keep: keep, alive: alive)
    }
}

/// One step of gradual magnitude pruning at scheduled sparsity `sparsity` (`ZhuGuptaSchedule.sparsity(at:)`): each
/// tensor of `mask` keeps `gradualKeepCounts` weights, removing its alive weights of smallest |w| (ties: lower index
/// first). Nested: a pruned weight is never revived. Returns the new mask and, per tensor, a 0/1 tensor of the
/// positions pruned now (whose optimizer state the caller zeroes). Unlike `gradualMagnitudeStep`, whose layerwise
/// rounding takes the same fraction of every tensor's alive weights, the counts here are the `dynamicKeepCounts` of
/// `prune dynamic`, so that gmp ends at exactly the kept counts SET and RigL keep throughout.
public func gradualMagnitudeUpdate(mask: Mask, weights: [(String, Variable)], sparsity: Double,
                                   distribution: DensityDistribution) -> (mask: Mask, pruned: Mask) {
    let values = Dictionary(weights.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    let shapes = mask.tensors.mapValues(\.shape)
    let alive = Dictionary(uniqueKeysWithValues: mask.names.map { ($0, mask.remaining($0)) })
    let keep = gradualKeepCounts(shapes: shapes, alive: alive, sparsity: sparsity, distribution: distribution)
    var out = mask, pruned = Mask()
    for name in mask.names {
        guard let w = values[name] else { preconditionFailure("gradualMagnitudeUpdate: no weight '\(name)'") }
        let m = mask[name]!, flat = m.scalars, wf = w.value.scalars
        precondition(wf.count == flat.count, "gradualMagnitudeUpdate: '\(name)' has \(wf.count) weights, \(flat.count) mask entries")
        let active = flat.indices.filter { flat[$0] != 0 }
        let drop = active.sorted { (abs(wf[$0]), $0) < (abs(wf[$1]), $1) }.prefix(max(0, active.count - keep[name]!))
        var next = flat, prunedFlat = [Float](repeating: 0, count: flat.count)
        for i in drop { next[i] = 0; prunedFlat[i] = 1 }
        out[name] = Tensor(shape: m.shape, scalars: next)
        pruned[name] = Tensor(shape: m.shape, scalars: prunedFlat)
    }
    return (out, pruned)
}
