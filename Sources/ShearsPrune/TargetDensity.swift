import Foundation
import ShearsData
import ShearsNN
import ShearsTensor

// Pruning *to a target density* (the fraction of prunable weights kept), as APP does at every megabatch — next to
// `prune(scores:mask:fraction:…)`, which removes a fraction of the *remaining* weights.

/// APP's progressive schedule (spec §1.2): δ = linspace(1, τ, |S_B|) (numpy's: δ_i = 1 + i·(τ − 1)/(|S_B| − 1), the
/// last one exactly τ; a single megabatch gets δ = [1]) and the density kept at megabatch t is 0.8^δ_t. With τ = 4.5
/// and |S_B| = 8 that is 0.8000, 0.7155, 0.6400, …, 0.3664 (the spec's table).
public struct ProgressiveDensitySchedule: Equatable, Sendable {
    public let tau: Double
    public let megabatches: Int
    /// The base of the power: 0.8 in the paper.
    public let base: Double

    public init(tau: Double, megabatches: Int, base: Double = 0.8) {
        precondition(megabatches >= 1, "ProgressiveDensitySchedule: megabatches must be ≥ 1, got \(megabatches)")
        self.tau = tau; self.megabatches = megabatches; self.base = base
    }

    /// δ_1 … δ_|S_B|.
    public var deltas: [Double] {
        guard megabatches > 1 else { return [1] }
        let step = (tau - 1) / Double(megabatches - 1)
        return (0..<megabatches).map { $0 == megabatches - 1 ? tau : 1 + Double($0) * step }
    }

    /// δ_t for megabatch t (1-based).
    public func delta(at t: Int) -> Double { deltas[t - 1] }

    /// 0.8^δ_t: the fraction of prunable weights kept after pruning at megabatch t.
    public func density(at t: Int) -> Double { pow(base, delta(at: t)) }

    /// 0.8^τ: the final density (what Anytime OSP prunes to at once).
    public var finalDensity: Double { pow(base, tau) }
}

/// Weights kept at `density` of `total`: ⌈density·total⌉ (spec §1.7), with a product within 1e-9 (relative) of an
/// integer counted as that integer (0.8·1000 = 800.0000000000001 keeps 800, not 801).
public func keepCount(total: Int, density: Double) -> Int {
    precondition(density >= 0 && density <= 1, "keepCount: density must be in [0, 1], got \(density)")
    return ceilingCount(density, of: total)
}

/// A nested mask with exactly `keepCount(total:density:)` alive weights over all masked tensors (global ranking, spec
/// §1.7 `maskUpdate: .nested`): only alive entries are ranked and the lowest-scored go first (ties: tensor name order,
/// then row-major index, as `prune(…)`). Entries already pruned stay pruned, so if fewer than the target are alive
/// the mask is returned unchanged (a nested mask cannot grow back).
public func pruneToDensity(scores: [String: Tensor], mask: Mask, density: Double) -> Mask {
    let names = mask.names
    let keep = keepCount(total: mask.total, density: density)
    var cands: [(score: Float, tensor: Int, index: Int)] = []
    var flat = [String: [Float]]()
    for (t, name) in names.enumerated() {
        let m = mask.tensors[name]!
        guard let s = scores[name] else { preconditionFailure("pruneToDensity: no scores for masked tensor '\(name)'") }
        precondition(s.shape == m.shape, "pruneToDensity: scores for '\(name)' have shape \(s.shape), mask has \(m.shape)")
        let sv = s.scalars, mv = m.scalars
        precondition(!sv.contains { $0.isNaN }, "pruneToDensity: NaN score in '\(name)'")
        flat[name] = mv
        for i in 0..<mv.count where mv[i] != 0 { cands.append((sv[i], t, i)) }
    }
    let remove = cands.count - keep
    guard remove > 0 else { return mask }
    cands.sort { ($0.score, $0.tensor, $0.index) < ($1.score, $1.tensor, $1.index) }
    for c in cands.prefix(remove) { flat[names[c.tensor]]![c.index] = 0 }
    var out = mask
    for name in names { out.tensors[name] = Tensor(shape: mask.tensors[name]!.shape, scalars: flat[name]!) }
    return out
}

/// The APP code's mask at density d over *all* positions (spec §1.3 step 5, `maskUpdate: .codeFaithful`):
/// k = int((1 − d)·N) with Python's truncation of the float product, thr = the k-th smallest score over all tensors
/// (`torch.kthvalue`), and a weight is kept iff its score > thr — so ties at the threshold are pruned and more than
/// k weights may go. k = 0 keeps everything. The previous mask plays no part; the caller multiplies the result into it.
public func thresholdMask(scores: [String: Tensor], density: Double) -> Mask {
    precondition(density >= 0 && density <= 1, "thresholdMask: density must be in [0, 1], got \(density)")
    let names = scores.keys.sorted()
    let all = names.flatMap { scores[$0]!.scalars }
    precondition(!all.contains { $0.isNaN }, "thresholdMask: NaN score")
    let k = Int((1 - density) * Double(all.count))
    guard k > 0 else { return Mask(scores.mapValues { Tensor.ones($0.shape) }) }
    let thr = all.sorted()[k - 1]
    return Mask(scores.mapValues { s in s.contiguous().map { $0 > thr ? 1 : 0 } })
}

/// SNIP as the APP code computes it in its mask model (spec §1.3 step 4): |Σ_b ∂L_b/∂c| with c the (old) mask and the
/// effective weight c ⊙ w, i.e. |Σ_b g_b ⊙ w| where g is the gradient with respect to the *effective* weight —
/// evaluated at *every* position, pruned ones included (their ∂L/∂c is g·w ≠ 0 when w ≠ 0), normalised by the global
/// sum. `SNIPScore` instead sets the sensitivity of pruned entries to 0, which is what a nested update wants.
/// The model is left as it was found.
public func maskGradientSaliency(model: any Layer, parameters: [(String, Variable)], mask: Mask, batches: [Batch],
                                 phase: LearningPhase = .training,
                                 lossOf: PruningLoss = crossEntropyLoss) -> [String: Tensor] {
    precondition(!batches.isEmpty, "maskGradientSaliency: needs at least one batch")
    let grads = accumulatedGradients(model: model, parameters: parameters, mask: mask, batches: batches,
                                     phase: phase, lossOf: lossOf)
    var raw: [String: Tensor] = [:]
    var total = 0.0
    for (name, p) in parameters {
        let s = p.value.contiguous().zipMap(grads[name]!, op: "maskGradientSaliency") { w, g in abs(w * g) }
        total += Double(s.sum())
        raw[name] = s
    }
    guard total > 0 else { return raw }
    let inv = Float(1 / total)
    return raw.mapValues { $0 * inv }
}
