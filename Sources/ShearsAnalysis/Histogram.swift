import Foundation

/// A histogram of a set of values with their summary statistics, for the S-Cyc paper's Fig. 1 (the
/// distribution of weight gradients and of post-ReLU activations per pruning cycle).
///
/// - Bins: `counts[i]` counts the values in `[edges[i], edges[i + 1])`; the last bin also holds its right edge
///   (numpy's convention), so the maximum of a `sturges` histogram falls in the last bin.
/// - `total`: every finite value seen, *including* `underflow` / `overflow` (values outside a `fixed`
///   histogram's edges). Non-finite values (NaN, ±inf) are left out of everything and counted in `nonFinite`.
/// - `mean`, `std`: over all finite values (including under/overflow), population standard deviation
///   (divide by n, numpy's default), accumulated in Double. Both are 0 for an empty input.
/// - `density`: `counts[i] / (total · width_i)`. It integrates to the fraction of values inside the edges (1 for
///   `sturges`), so the curves of different cycles on common edges are directly comparable.
public struct Histogram: Codable, Equatable, Sendable {
    public var edges: [Double]
    public var counts: [Int]
    public var total: Int
    public var underflow: Int
    public var overflow: Int
    public var nonFinite: Int
    public var mean: Double
    public var std: Double
    public var min: Double
    public var max: Double
    /// Exact tail counts: `tailCounts[j]` values have |x − mean| > `tailThresholds[j]` · std.
    public var tailThresholds: [Double]
    public var tailCounts: [Int]

    /// The `k` values whose tails are counted exactly by the constructors.
    public static let defaultTailThresholds: [Double] = [1, 2, 3, 4, 5]

    public var binCount: Int { counts.count }
    public var centres: [Double] { (0..<counts.count).map { (edges[$0] + edges[$0 + 1]) / 2 } }
    public var widths: [Double] { (0..<counts.count).map { edges[$0 + 1] - edges[$0] } }

    /// `counts / (total · width)`; zeros for an empty histogram or a zero-width bin.
    public var density: [Double] {
        zip(counts, widths).map { c, w in total > 0 && w > 0 ? Double(c) / (Double(total) * w) : 0 }
    }

    /// Fraction of the values with |x − mean| > k · std (0 for an empty input; 0 for constant input, whose std is
    /// 0 and whose values all equal the mean). Exact when `k` is one of `tailThresholds` (by default 1…5); for
    /// any other `k` it is estimated from the bins, assuming values spread uniformly inside each bin
    /// (under/overflow counted as outside when the band reaches past the edges).
    public func tailMass(k: Double = 3) -> Double {
        guard total > 0, std > 0 else { return 0 }   // std = 0: every value equals the mean
        if let j = tailThresholds.firstIndex(of: k) { return Double(tailCounts[j]) / Double(total) }
        let lo = mean - k * std, hi = mean + k * std
        var outside = 0.0
        if let first = edges.first, lo >= first { outside += Double(underflow) }
        if let last = edges.last, hi <= last { outside += Double(overflow) }
        for i in 0..<counts.count where counts[i] > 0 {
            let a = edges[i], b = edges[i + 1], w = b - a
            guard w > 0 else { continue }
            let below = Swift.max(0, Swift.min(b, lo) - a), above = Swift.max(0, b - Swift.max(a, hi))
            outside += Double(counts[i]) * Swift.min(1, (below + above) / w)
        }
        return outside / Double(total)
    }

    // MARK: - Construction

    /// Sturges' rule: k = ⌈log2 n⌉ + 1 equal-width bins over [min, max] of the finite values (n = their count).
    /// Degenerate inputs, without dividing by zero (numpy's choices): n = 0 gives one empty bin [0, 1];
    /// constant values c give one bin [c − 0.5, c + 0.5].
    public static func sturges(_ values: [Float], tailThresholds: [Double] = defaultTailThresholds) -> Histogram {
        let stats = Stats(values)
        return make(values, edges: sturgesEdges(stats), stats: stats, tailThresholds: tailThresholds)
    }

    /// The number of Sturges bins for n values: ⌈log2 n⌉ + 1 (1 for n ≤ 1).
    public static func sturgesBinCount(_ n: Int) -> Int {
        guard n > 1 else { return 1 }
        // ⌈log2 n⌉ exactly, in integers: the bit length of n − 1.
        return (Int.bitWidth - (n - 1).leadingZeroBitCount) + 1
    }

    /// The Sturges edges of `values`, to reuse as the common bins of other cycles in `fixed`.
    public static func sturgesEdges(_ values: [Float]) -> [Double] { sturgesEdges(Stats(values)) }

    /// A histogram on given, strictly increasing edges (not necessarily equal-width), for comparing cycles on
    /// common bins. Values below `edges.first` count in `underflow`, above `edges.last` in `overflow`.
    public static func fixed(_ values: [Float], edges: [Double], tailThresholds: [Double] = defaultTailThresholds) -> Histogram {
        precondition(edges.count >= 2, "Histogram.fixed: needs at least 2 edges, got \(edges.count)")
        precondition(edges.allSatisfy(\.isFinite) && zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 },
                     "Histogram.fixed: edges must be finite and strictly increasing, got \(edges)")
        return make(values, edges: edges, stats: Stats(values), tailThresholds: tailThresholds)
    }

    /// Equal-width edges: `bins` bins over [lo, hi].
    public static func uniformEdges(_ lo: Double, _ hi: Double, bins: Int) -> [Double] {
        precondition(bins >= 1 && hi > lo, "Histogram.uniformEdges: needs bins ≥ 1 and hi > lo, got \(bins) bins over [\(lo), \(hi)]")
        let w = (hi - lo) / Double(bins)
        return (0...bins).map { $0 == bins ? hi : lo + Double($0) * w }
    }

    private static func sturgesEdges(_ s: Stats) -> [Double] {
        guard s.n > 0 else { return [0, 1] }
        guard s.max > s.min else { return [s.min - 0.5, s.min + 0.5] }
        return uniformEdges(s.min, s.max, bins: sturgesBinCount(s.n))
    }

    /// Two passes in Double: count, min, max and mean, then the variance about the mean (no cancellation).
    private struct Stats {
        var n = 0, nonFinite = 0
        var min = Double.infinity, max = -Double.infinity, mean = 0.0, std = 0.0

        init(_ values: [Float]) {
            var sum = 0.0
            for v in values {
                guard v.isFinite else { nonFinite += 1; continue }
                let x = Double(v)
                n += 1; sum += x
                if x < min { min = x }
                if x > max { max = x }
            }
            guard n > 0 else { min = 0; max = 0; return }
            if min == max { mean = min; return }   // constant: mean exact, std exactly 0
            mean = sum / Double(n)
            var ss = 0.0
            for v in values where v.isFinite { let d = Double(v) - mean; ss += d * d }
            std = (ss / Double(n)).squareRoot()
        }
    }

    private static func make(_ values: [Float], edges: [Double], stats s: Stats, tailThresholds: [Double]) -> Histogram {
        let k = edges.count - 1
        var counts = [Int](repeating: 0, count: k)
        var under = 0, over = 0
        var tails = [Int](repeating: 0, count: tailThresholds.count)
        let bands = tailThresholds.map { $0 * s.std }
        let lo = edges[0], hi = edges[k]
        for v in values where v.isFinite {
            let x = Double(v)
            let d = abs(x - s.mean)
            for j in 0..<bands.count where d > bands[j] { tails[j] += 1 }
            if x < lo { under += 1; continue }
            if x > hi { over += 1; continue }
            // Binary search for the last edge ≤ x; the right edge itself belongs to the last bin.
            var a = 0, b = k   // invariant: edges[a] ≤ x, and x < edges[b] or b == k
            while b - a > 1 {
                let m = (a + b) / 2
                if edges[m] <= x { a = m } else { b = m }
            }
            counts[a] += 1
        }
        return Histogram(edges: edges, counts: counts, total: s.n, underflow: under, overflow: over,
                         nonFinite: s.nonFinite, mean: s.mean, std: s.std, min: s.min, max: s.max,
                         tailThresholds: tailThresholds, tailCounts: tails)
    }
}

/// The exact fraction of the finite `values` outside `range` (the S-Cyc spec's proposed Fig. 1 number: the
/// fraction of gradients outside [−0.011, 0.009]). 0 for no finite value.
public func fractionOutside(_ values: [Float], _ range: ClosedRange<Double>) -> Double {
    var n = 0, out = 0
    for v in values where v.isFinite {
        n += 1
        if !range.contains(Double(v)) { out += 1 }
    }
    return n == 0 ? 0 : Double(out) / Double(n)
}
