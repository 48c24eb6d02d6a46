import Foundation
import ShearsTensor

/// How a pruning step spreads its removals over the masked tensors.
public enum Allocation: String, Codable, Sendable, CaseIterable {
    /// One threshold over all tensors: the ⌈p·alive⌉ lowest-scored alive weights of the whole network go
    /// (Han et al. 2015; OpenLTH `sparse_global`; ShrinkBench `Global*`).
    case global
    /// Every tensor loses ⌈p·alive_l⌉ of its own alive weights (ShrinkBench `Layer*`).
    case layerwise
    /// Erdős–Rényi-Kernel per-layer densities (Evci et al. 2020, RigL §3, "Sparsity distribution"), see
    /// `erkDensities`; within each tensor the lowest-scored alive weights go.
    case erk
}

/// The number of weights a pruning step removes from `alive` ones: k = ⌈p · alive⌉ (the OpenLTH convention,
/// S-Cyc spec §4). With p = 0.2 on 1000 weights three cycles leave 800, 640, 512; in general the density after
/// cycle c is within c/N of (1 − p)^c. The product p·alive is rounded to 9 decimals first so that a fraction
/// like 0.2 (not exact in binary) does not turn 160 into 161: a product within 1e-9 (relative) of an integer
/// counts as that integer.
public func pruneCount(alive: Int, fraction: Double) -> Int {
    precondition(fraction >= 0 && fraction <= 1, "prune: fraction must be in [0, 1], got \(fraction)")
    return ceilingCount(fraction, of: alive)
}

/// ⌈f · n⌉ for f ∈ [0, 1], with a product within 1e-9 (relative) of an integer counted as that integer — the one
/// rounding rule of every count of weights to prune or keep (`pruneCount`, `keepCount`).
func ceilingCount(_ f: Double, of n: Int) -> Int {
    let x = f * Double(n)
    let nearest = x.rounded()
    let k = abs(x - nearest) <= 1e-9 * max(1, x) ? nearest : x.rounded(.up)
    return min(n, Int(k))
}

/// A new mask that removes `fraction` of the currently-remaining (alive) weights, ranked by `scores`.
///
/// - Only alive entries (mask 1) are ranked or removed; pruned entries stay 0, so masks are nested across
///   cycles and iterative pruning at p per cycle leaves (1 − p)^c of the weights (up to the ⌈·⌉ rounding of
///   `pruneCount`).
/// - Ties are broken deterministically: lower score goes first; among equal scores, the tensor whose name sorts
///   first, then the lower row-major index. NaN scores are a precondition failure.
/// - `shapes` gives each tensor's shape (needed by ERK; checked against the mask for the others). A name in
///   `mask` must have scores; scores for names not in `mask` are ignored.
public func prune(scores: [String: Tensor], mask: Mask, fraction: Double, allocation: Allocation,
                  shapes: [String: [Int]]) -> Mask {
    let names = mask.names
    for name in names {
        let m = mask.tensors[name]!
        precondition(scores[name] != nil, "prune: no scores for masked tensor '\(name)'")
        precondition(scores[name]!.shape == m.shape, "prune: scores for '\(name)' have shape \(scores[name]!.shape), mask has \(m.shape)")
        precondition(shapes[name] == nil || shapes[name]! == m.shape, "prune: shape given for '\(name)' is \(shapes[name]!), mask has \(m.shape)")
    }
    var out = mask
    // Flat row-major mask and scores per tensor.
    var flatMask = [String: [Float]](), flatScores = [String: [Float]]()
    for name in names {
        flatMask[name] = mask.tensors[name]!.scalars
        let s = scores[name]!.scalars
        precondition(!s.contains { $0.isNaN }, "prune: NaN score in '\(name)'")
        flatScores[name] = s
    }
    func commit(_ name: String) { out.tensors[name] = Tensor(shape: mask.tensors[name]!.shape, scalars: flatMask[name]!) }

    switch allocation {
    case .global:
        // Candidates ordered by (score, name order, index).
        var cands: [(score: Float, tensor: Int, index: Int)] = []
        for (t, name) in names.enumerated() {
            let m = flatMask[name]!, s = flatScores[name]!
            for i in 0..<m.count where m[i] != 0 { cands.append((s[i], t, i)) }
        }
        let k = pruneCount(alive: cands.count, fraction: fraction)
        cands.sort { ($0.score, $0.tensor, $0.index) < ($1.score, $1.tensor, $1.index) }
        for c in cands.prefix(k) { flatMask[names[c.tensor]]![c.index] = 0 }
        names.forEach(commit)
    case .layerwise:
        for name in names {
            removeLowest(&flatMask[name]!, scores: flatScores[name]!,
                         count: pruneCount(alive: Mask.countOnes(mask.tensors[name]!), fraction: fraction))
            commit(name)
        }
    case .erk:
        let alive = Dictionary(uniqueKeysWithValues: names.map { ($0, Mask.countOnes(mask.tensors[$0]!)) })
        let totalAlive = alive.values.reduce(0, +)
        let keep = totalAlive - pruneCount(alive: totalAlive, fraction: fraction)
        let shapeOf = Dictionary(uniqueKeysWithValues: names.map { ($0, shapes[$0] ?? mask.tensors[$0]!.shape) })
        let counts = erkKeepCounts(shapes: shapeOf, keep: keep, alive: alive)
        for name in names {
            removeLowest(&flatMask[name]!, scores: flatScores[name]!, count: alive[name]! - counts[name]!)
            commit(name)
        }
    }
    return out
}

/// Zeroes the `count` lowest-scored alive entries of one flat mask (ties: lower index first).
func removeLowest(_ mask: inout [Float], scores: [Float], count: Int) {
    guard count > 0 else { return }
    var idx = (0..<mask.count).filter { mask[$0] != 0 }
    idx.sort { (scores[$0], $0) < (scores[$1], $1) }
    for i in idx.prefix(count) { mask[i] = 0 }
}

/// ERK's unnormalised density of a tensor (Evci et al. 2020, §3): Σ shape / Π shape, i.e.
/// (n_in + n_out + k_h + k_w)/(n_in·n_out·k_h·k_w) for a conv kernel and (n_in + n_out)/(n_in·n_out) for a
/// linear matrix (RigL's `sparse_utils` uses the same Σ/Π for every shape).
public func erkRawDensity(_ shape: [Int]) -> Double {
    Double(shape.reduce(0, +)) / Double(max(shape.reduce(1, *), 1))
}

/// ERK per-tensor densities for an overall `density` (kept / total over all tensors): d_l = min(cap_l, ε·raw_l)
/// with ε solved so that Σ d_l·n_l = density·Σ n_l. Layers whose density would exceed their cap are fixed at
/// the cap and ε is re-solved over the rest, until none exceeds (Evci et al. 2020; RigL's "dense layers"
/// loop). The cap is 1 (dense) unless `caps` gives one: iterative pruning passes alive_l/n_l, since a nested
/// mask can never grow a layer back.
public func erkDensities(shapes: [String: [Int]], density: Double, caps: [String: Double] = [:]) -> [String: Double] {
    precondition(density >= 0 && density <= 1, "erkDensities: density must be in [0, 1], got \(density)")
    let names = shapes.keys.sorted()
    let n = Dictionary(uniqueKeysWithValues: names.map { ($0, Double(shapes[$0]!.reduce(1, *))) })
    let cap = Dictionary(uniqueKeysWithValues: names.map { ($0, caps[$0] ?? 1) })
    let target = density * names.reduce(0) { $0 + n[$1]! }
    var fixed = Set<String>()
    while true {
        let free = names.filter { !fixed.contains($0) }
        let fixedKept = fixed.reduce(0) { $0 + cap[$1]! * n[$1]! }
        let rawKept = free.reduce(0) { $0 + erkRawDensity(shapes[$1]!) * n[$1]! }
        let eps = rawKept > 0 ? max(0, target - fixedKept) / rawKept : 0
        let over = free.filter { eps * erkRawDensity(shapes[$0]!) > cap[$0]! }
        if over.isEmpty {
            var d: [String: Double] = [:]
            for name in names { d[name] = fixed.contains(name) ? cap[name]! : eps * erkRawDensity(shapes[name]!) }
            return d
        }
        fixed.formUnion(over)
    }
}

/// Integer kept counts per tensor summing to exactly `keep`: ERK densities × sizes, floored, then the leftover
/// units go one each to the largest fractional parts (ties: name order), never above a tensor's alive count.
func erkKeepCounts(shapes: [String: [Int]], keep: Int, alive: [String: Int]) -> [String: Int] {
    let names = shapes.keys.sorted()
    let sizes = Dictionary(uniqueKeysWithValues: names.map { ($0, shapes[$0]!.reduce(1, *)) })
    let total = sizes.values.reduce(0, +)
    guard total > 0 else { return alive }
    let caps = Dictionary(uniqueKeysWithValues: names.map { ($0, Double(alive[$0]!) / Double(max(sizes[$0]!, 1))) })
    let d = erkDensities(shapes: shapes, density: Double(keep) / Double(total), caps: caps)
    var counts: [String: Int] = [:]
    var fractions: [(Double, String)] = []
    for name in names {
        let exact = min(Double(alive[name]!), d[name]! * Double(sizes[name]!))
        let fl = Int((exact + 1e-9).rounded(.down))
        counts[name] = min(fl, alive[name]!)
        fractions.append((exact - Double(counts[name]!), name))
    }
    var left = keep - counts.values.reduce(0, +)
    fractions.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
    while left > 0 {
        var progressed = false
        for (_, name) in fractions where left > 0 && counts[name]! < alive[name]! {
            counts[name]! += 1; left -= 1; progressed = true
        }
        if !progressed { break }
    }
    return counts
}
