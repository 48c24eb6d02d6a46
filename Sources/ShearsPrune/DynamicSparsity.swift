import Foundation
import ShearsOptim
import ShearsTensor

/// Dynamic sparse training's mask algebra (Mocanu et al. 2018, SET; Evci et al. 2020, "Rigging the Lottery", RigL):
/// a random mask at fixed per-layer densities, then every ΔT steps each layer drops its k smallest-magnitude active
/// weights and grows k inactive ones — at random (SET) or where the dense gradient is largest (RigL) — so that every
/// layer's count, hence the overall sparsity, stays exactly constant. The protocol around it (when to update, the
/// optimizer, checkpoints) is `DynamicSparseTraining` in ShearsExperiments.

/// How the kept weights are spread over the prunable tensors.
public enum DensityDistribution: String, Codable, Sendable, CaseIterable {
    /// Every tensor at density 1 − s.
    case uniform
    /// Erdős–Rényi-Kernel densities (`erkDensities`): larger layers sparser, layers that would exceed density 1 dense.
    case erk
}

/// How the mask changes during training.
public enum DynamicSparseMethod: String, Codable, Sendable, CaseIterable {
    /// SET: drop the smallest |w|, grow uniformly at random among the inactive positions.
    case set
    /// RigL: drop the smallest |w|, grow the inactive positions with the largest |∂L/∂w| of the dense gradient.
    case rigl
    /// Gradual magnitude pruning (Zhu & Gupta 2017): dense at first, pruned by |w| to the cubic schedule, nothing
    /// grown (`gradualMagnitudeUpdate`).
    case gmp
}

/// How the fraction of active weights replaced at an update decays.
public enum DropSchedule: String, Codable, Sendable, CaseIterable {
    /// f(t) = α/2 · (1 + cos(π t / T_end)) (RigL's default).
    case cosine
    /// f(t) = α (SET).
    case constant
}

/// f(t): the fraction of a layer's active weights dropped (and as many grown) at iteration t, with α the initial
/// fraction and T_end the iteration after which no update happens (`end-update` · total iterations).
public func dropFraction(at t: Int, initial alpha: Double, schedule: DropSchedule, endIteration: Double) -> Double {
    switch schedule {
    case .constant: return alpha
    case .cosine: return alpha / 2 * (1 + cos(Double.pi * Double(t) / endIteration))
    }
}

/// Kept weights per tensor at overall sparsity `sparsity`: uniform keeps n − ⌈s·n⌉ of each tensor (the repository's
/// one rounding rule, `ceilingCount`); ERK keeps N − ⌈s·N⌉ of all N weights, split by `erkKeepCounts` (sums exactly).
public func dynamicKeepCounts(shapes: [String: [Int]], sparsity: Double, distribution: DensityDistribution) -> [String: Int] {
    precondition(sparsity >= 0 && sparsity < 1, "dynamicKeepCounts: sparsity must be in [0, 1), got \(sparsity)")
    let sizes = shapes.mapValues { $0.reduce(1, *) }
    switch distribution {
    case .uniform:
        return sizes.mapValues { $0 - ceilingCount(sparsity, of: $0) }
    case .erk:
        let total = sizes.values.reduce(0, +)
        return erkKeepCounts(shapes: shapes, keep: total - ceilingCount(sparsity, of: total), alive: sizes)
    }
}

/// A mask with exactly `keep[name]` ones in each tensor of `shapes`, at positions drawn uniformly without replacement
/// (a Fisher–Yates permutation per tensor, tensors in name order), so the same generator state gives the same mask.
public func randomMask(shapes: [String: [Int]], keep: [String: Int], generator g: inout Generator) -> Mask {
    var mask = Mask()
    for name in shapes.keys.sorted() {
        let shape = shapes[name]!, n = shape.reduce(1, *)
        let k = keep[name] ?? n
        precondition(k >= 0 && k <= n, "randomMask: \(k) kept of \(n) in '\(name)'")
        var flat = [Float](repeating: 0, count: n)
        for i in g.permutation(n).prefix(k) { flat[i] = 1 }
        mask[name] = Tensor(shape: shape, scalars: flat)
    }
    return mask
}

/// One tensor's drop-and-grow (flat, row-major). Drops the `count` active entries of smallest |w| (ties: lower index
/// first) and grows `count` entries among those inactive *before* the update — a weight just dropped is not regrown in
/// the same update (RigL's code excludes them too) — chosen by `growth`. `count` is cut to what both sides allow.
/// Returns the new mask and the grown positions.
public func dropAndGrow(weights: [Float], mask: [Float], count: Int, growth: GrowthCriterion,
                        generator g: inout Generator) -> (mask: [Float], grown: [Int]) {
    precondition(weights.count == mask.count, "dropAndGrow: \(weights.count) weights, \(mask.count) mask entries")
    let active = mask.indices.filter { mask[$0] != 0 }
    let inactive = mask.indices.filter { mask[$0] == 0 }
    let k = max(0, min(count, active.count, inactive.count))
    guard k > 0 else { return (mask, []) }
    var out = mask
    let drop = active.sorted { (abs(weights[$0]), $0) < (abs(weights[$1]), $1) }.prefix(k)
    for i in drop { out[i] = 0 }
    let grown: [Int]
    switch growth {
    case .random:
        // A partial Fisher–Yates over the candidates: k uniform draws without replacement.
        var candidates = inactive
        for j in 0..<k { candidates.swapAt(j, j + g.nextInt(below: candidates.count - j)) }
        grown = Array(candidates.prefix(k))
    case .gradient(let gradient):
        precondition(gradient.count == mask.count, "dropAndGrow: \(gradient.count) gradient entries, \(mask.count) mask entries")
        grown = Array(inactive.sorted { (-abs(gradient[$0]), $0) < (-abs(gradient[$1]), $1) }.prefix(k))
    }
    for i in grown { out[i] = 1 }
    return (out, grown)
}

/// How `dropAndGrow` picks the positions it grows.
public enum GrowthCriterion {
    /// Uniformly at random (SET), from the generator.
    case random
    /// Largest |g| first (RigL); ties go to the lower index. Flat, row-major, the dense gradient.
    case gradient([Float])
}

/// One update of every tensor of `mask`: k = round(fraction · active) per tensor, drop by |w| in `weights`, grow by
/// `method` (RigL reads `gradients`, the dense gradient of each masked tensor). Tensors are visited in name order, so
/// SET's draws depend only on the generator. Returns the new mask and, per tensor, a 0/1 tensor of the grown positions.
public func dynamicMaskUpdate(mask: Mask, weights: [(String, Variable)], gradients: [String: Tensor]?, fraction: Double,
                              method: DynamicSparseMethod, generator g: inout Generator) -> (mask: Mask, grown: Mask) {
    let values = Dictionary(weights.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    var out = mask, grownMask = Mask()
    for name in mask.names {
        guard let w = values[name] else { preconditionFailure("dynamicMaskUpdate: no weight '\(name)'") }
        let m = mask[name]!, flat = m.scalars
        let active = flat.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let k = Int((fraction * Double(active)).rounded())
        let growth: GrowthCriterion
        switch method {
        case .set: growth = .random
        case .rigl:
            guard let grad = gradients?[name] else { preconditionFailure("dynamicMaskUpdate: RigL needs the dense gradient of '\(name)'") }
            growth = .gradient(grad.scalars)
        case .gmp:
            preconditionFailure("dynamicMaskUpdate: gradual magnitude pruning grows nothing; its update is gradualMagnitudeUpdate")
        }
        let (newFlat, grown) = dropAndGrow(weights: w.value.scalars, mask: flat, count: k, growth: growth, generator: &g)
        out[name] = Tensor(shape: m.shape, scalars: newFlat)
        var grownFlat = [Float](repeating: 0, count: flat.count)
        for i in grown { grownFlat[i] = 1 }
        grownMask[name] = Tensor(shape: m.shape, scalars: grownFlat)
    }
    return (out, grownMask)
}

/// An optimizer that keeps pruned weights at 0 under a mask that may change during training (`MaskedOptimizer`).
public protocol MaskUpdatable: Optimizer {
    var mask: Mask { get set }
    /// Zeroes the optimizer state (momentum, moments) at the 1-entries of `positions`: connections grown by dynamic
    /// sparse training start with none.
    mutating func zeroState(at positions: Mask)
}

extension MaskedOptimizer: MaskUpdatable {
    public mutating func zeroState(at positions: Mask) {
        var state = base.state
        for (key, value) in state {
            guard let slash = key.firstIndex(of: "/") else { continue }
            let name = String(key[key.index(after: slash)...])
            guard let p = positions[name], p.shape == value.shape else { continue }
            var v = value
            Mask.zero(&v, where: p.map { 1 - $0 }, name: key)
            state[key] = v
        }
        try! base.loadState(state)   // keys came from base.state, so loading cannot fail
    }
}

/// Sets the weights at the 1-entries of `grown` to exactly 0: a grown connection starts from nothing (RigL, SET).
public func startAtZero(_ grown: Mask, in parameters: [(String, Variable)]) {
    for (name, p) in parameters {
        guard let m = grown[name] else { continue }
        Mask.zero(&p.value, where: m.map { 1 - $0 }, name: name)
    }
}
