import ShearsNN
import ShearsTensor

/// Structured L1-norm filter score (Li et al. 2017, "Pruning Filters for Efficient ConvNets", §3.1): filter j of
/// a conv kernel [out, in, kh, kw] scores s_j = Σ |K_j| over its in·kh·kw weights (alive ones: pruned weights
/// are 0). The score is broadcast to every weight of the filter so it fits the `PruningScore` shape contract;
/// use `pruneFilters` to remove whole filters. Tensors of rank < 4 are scored by rows (output neurons) the same
/// way, but `pruneFilters` leaves them alone unless asked.
public struct L1FilterScore: PruningScore {
    public init() {}

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in parameters {
            let w = p.value.contiguous().scalars
            let filters = max(p.shape.first ?? 1, 1), per = w.count / filters
            var s = [Float](repeating: 0, count: w.count)
            for f in 0..<filters {
                var acc = 0.0
                for i in 0..<per { acc += Double(abs(w[f * per + i])) }
                for i in 0..<per { s[f * per + i] = Float(acc) }
            }
            out[name] = Tensor(shape: p.shape, scalars: s)
        }
        return out
    }
}

/// Structured pruning: in every masked tensor of rank 4 (conv kernels; any rank ≥ 2 with `convOnly: false`),
/// removes ⌈p · alive filters⌉ whole output filters, where a filter is alive while any of its weights is. A
/// filter's score is the sum of its entries in `scores` over alive positions (with `L1FilterScore` that is
/// per-filter L1 norm times the alive count, so use it with whole-filter masks, which this function keeps).
/// Lowest score goes first; ties go to the lower filter index. Li et al. 2017 prune per layer, so allocation is
/// always layerwise here.
///
/// Not done here: removing the feature map's input-channel kernels in the next layer (Li et al. Fig. 2). That
/// needs the model's topology; with batch norm after the conv the removed map is a constant β, not 0.
public func pruneFilters(scores: [String: Tensor], mask: Mask, fraction: Double, convOnly: Bool = true) -> Mask {
    var out = mask
    for name in mask.names {
        let m = mask.tensors[name]!
        guard m.rank == 4 || (!convOnly && m.rank >= 2) else { continue }
        precondition(scores[name]?.shape == m.shape, "pruneFilters: scores for '\(name)' missing or misshaped")
        var mv = m.scalars
        let sv = scores[name]!.scalars
        let filters = m.shape[0], per = m.count / max(filters, 1)
        var alive: [(score: Double, filter: Int)] = []
        for f in 0..<filters {
            var any = false, s = 0.0
            for i in 0..<per where mv[f * per + i] != 0 { any = true; s += Double(sv[f * per + i]) }
            if any { alive.append((s, f)) }
        }
        let k = pruneCount(alive: alive.count, fraction: fraction)
        alive.sort { ($0.score, $0.filter) < ($1.score, $1.filter) }
        for (_, f) in alive.prefix(k) { for i in 0..<per { mv[f * per + i] = 0 } }
        out.tensors[name] = Tensor(shape: m.shape, scalars: mv)
    }
    return out
}
