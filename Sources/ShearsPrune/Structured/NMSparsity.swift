import ShearsTensor

/// An N:M semi-structured pattern (Mishra et al. 2021, NVIDIA's 2:4): in every run of M consecutive weights along
/// the input dimension, at most N are kept.
public struct NMPattern: Codable, Equatable, Sendable, CustomStringConvertible {
    public let n: Int
    public let m: Int

    public init(n: Int, m: Int) throws {
        guard m >= 2, n >= 1, n < m else {
            throw StructuredPruningError("N:M pattern needs 1 ≤ N < M and M ≥ 2, got \(n):\(m)")
        }
        self.n = n; self.m = m
    }

    /// Parses "2:4".
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]) else {
            throw StructuredPruningError("N:M pattern must be written N:M (2:4, 1:4, 4:8), got \"\(text)\"")
        }
        try self.init(n: n, m: m)
    }

    public var description: String { "\(n):\(m)" }
    /// The metadata key an export carries the pattern under.
    public static let metadataKey = "shears.nm_pattern"
}

/// The N:M mask of `scores` (any criterion's, one tensor per weight): for a linear weight [out, in] the runs are M
/// consecutive inputs of a row; for a conv weight [O, C, KH, KW] M consecutive input channels at one (o, kh, kw),
/// as the sparse tensor cores group them. In each run the N highest scores are kept (ties: lower index). Only
/// rank-2 and rank-4 tensors are accepted, and their input dimension must be a multiple of M (named otherwise).
public func nmMask(scores: [String: Tensor], pattern: NMPattern) throws -> Mask {
    var mask = Mask()
    for name in scores.keys.sorted() {
        let s = scores[name]!
        guard s.rank == 2 || s.rank == 4 else {
            throw StructuredPruningError("N:M \(pattern): \(name) has shape \(s.shape); expected a linear [out, in] or conv [O, C, KH, KW] weight")
        }
        let inputs = s.shape[1]
        guard inputs % pattern.m == 0 else {
            throw StructuredPruningError("N:M \(pattern): \(name) has \(inputs) inputs, not a multiple of \(pattern.m)")
        }
        let v = s.contiguous().scalars
        let inner = s.shape[2...].reduce(1, *)     // kh·kw (1 for linear): stride between consecutive inputs
        var keep = [Float](repeating: 0, count: v.count)
        for o in 0..<s.shape[0] {
            for run in 0..<(inputs / pattern.m) {
                for k in 0..<inner {
                    let idx = (0..<pattern.m).map { ((o * inputs) + run * pattern.m + $0) * inner + k }
                    let best = idx.sorted { v[$0] != v[$1] ? v[$0] > v[$1] : $0 < $1 }.prefix(pattern.n)
                    for i in best { keep[i] = 1 }
                }
            }
        }
        mask.tensors[name] = Tensor(shape: s.shape, scalars: keep)
    }
    return mask
}

/// Whether `mask` keeps at most N of every M along the input dimension, for every tensor (what an export checks
/// before it writes the pattern into the metadata).
public func satisfiesNM(_ mask: Mask, pattern: NMPattern) -> Bool {
    mask.tensors.values.allSatisfy { t in
        guard (t.rank == 2 || t.rank == 4), t.shape[1] % pattern.m == 0 else { return false }
        let v = t.contiguous().scalars, inputs = t.shape[1], inner = t.shape[2...].reduce(1, *)
        for o in 0..<t.shape[0] { for run in 0..<(inputs / pattern.m) { for k in 0..<inner {
            let kept = (0..<pattern.m).reduce(0) { $0 + (v[((o * inputs) + run * pattern.m + $1) * inner + k] != 0 ? 1 : 0) }
            if kept > pattern.n { return false }
        } } }
        return true
    }
}
