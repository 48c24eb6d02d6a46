/// How many channels each prunable group keeps, and which.
public enum ChannelAllocation: String, Codable, Sendable, CaseIterable {
    /// One ranking of every prunable channel of the model.
    case global
    /// The same ratio in every group.
    case layerwise
}

/// How each group's channel scores are scaled before a global ranking (Torch-Pruning's `normalizer`). Raw filter
/// norms grow with a layer's fan-in, so unnormalised the narrow-fan-in groups (a first conv, the groups feeding a
/// classifier) rank lowest as a whole and a global allocation strips them (Conv-4, L1, 50 %: the first conv kept 8 of
/// 64 channels). Dividing by a statistic of the group's own scores makes the groups' rankings comparable. A positive
/// scale per group, so a layerwise allocation is unchanged by it. Channels removed earlier (score −∞) are left out of
/// the statistic and stay −∞.
public enum GroupNormalization: String, Codable, Sendable, CaseIterable {
    /// The raw scores (`none` on the command line; not `.none`, which Optional owns).
    case raw = "none"
    /// s / mean(s) (Torch-Pruning's default).
    case mean
    /// s / max(s).
    case max
    /// s / Σ s.
    case sum

    public func apply(_ scores: [Double]) -> [Double] {
        let alive = scores.filter(\.isFinite)
        guard self != .raw, !alive.isEmpty else { return scores }
        let by: Double
        switch self {
        case .raw: by = 1
        case .mean: by = alive.reduce(0, +) / Double(alive.count)
        case .max: by = alive.max()!
        case .sum: by = alive.reduce(0, +)
        }
        // An all-zero (or non-positive) group has no scale to divide by: its scores stay as they are.
        guard by > 0, by.isFinite else { return scores }
        return scores.map { $0.isFinite ? $0 / by : $0 }
    }
}

/// The channels each group keeps (ascending indices), by group name. Groups not listed keep every channel.
public typealias ChannelSelection = [String: [Int]]

/// Picks the channels to keep: removes `ratio` of the prunable channels (global: the lowest scores of the whole
/// model after each group's scores are scaled by `normalization`; layerwise: the lowest of each group), then rounds every group's kept count to a multiple of `roundTo`
/// (nearest, halves up; groups narrower than `roundTo` keep their width) and never below one channel or one
/// `roundTo` step. Within a group the highest scores are kept; ties keep the lower index.
public func allocateChannels(groups: [DependencyGroup], scores: [String: [Double]], ratio: Double,
                             allocation: ChannelAllocation, roundTo: Int = 1,
                             normalization: GroupNormalization = .raw) throws -> ChannelSelection {
    guard ratio > 0, ratio < 1, ratio.isFinite else {
        throw StructuredPruningError("channel ratio must be in (0, 1) (the fraction of channels removed), got \(ratio)")
    }
    guard roundTo >= 1 else { throw StructuredPruningError("round-to must be at least 1, got \(roundTo)") }
    let prunable = groups.filter(\.prunable)
    guard !prunable.isEmpty else { throw StructuredPruningError("the model has no prunable dependency group") }
    for g in prunable where scores[g.name]?.count != g.channels {
        throw StructuredPruningError("group \(g.name): expected \(g.channels) scores, got \(scores[g.name]?.count ?? 0)")
    }
    let ranked = scores.mapValues(normalization.apply)
    var counts = allocation == .global ? globalCounts(prunable, ranked, ratio)
        : Dictionary(uniqueKeysWithValues: prunable.map { ($0.name, max(1, $0.channels - Int((Double($0.channels) * ratio).rounded()))) })
    for g in prunable { counts[g.name] = rounded(counts[g.name]!, to: roundTo, width: g.channels) }
    var out: ChannelSelection = [:]
    for g in prunable {
        let s = scores[g.name]!
        let order = s.indices.sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
        out[g.name] = Array(order.prefix(counts[g.name]!)).sorted()
    }
    return out
}

/// Kept counts from one ranking of all channels: the lowest `ratio` of them go, but no group below one channel.
func globalCounts(_ groups: [DependencyGroup], _ scores: [String: [Double]], _ ratio: Double) -> [String: Int] {
    var all: [(score: Double, group: String)] = []
    for g in groups { all += scores[g.name]!.map { ($0, g.name) } }
    all.sort { $0.score < $1.score }
    var counts = Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0.channels) })
    var toRemove = Int((Double(all.count) * ratio).rounded())
    for entry in all where toRemove > 0 && counts[entry.group]! > 1 {
        counts[entry.group]! -= 1
        toRemove -= 1
    }
    return counts
}

/// `kept` rounded to the nearest multiple of `step`, at least `step`, at most `width` (unchanged when width < step).
func rounded(_ kept: Int, to step: Int, width: Int) -> Int {
    guard step > 1, width >= step else { return max(1, min(kept, width)) }
    let r = ((kept + step / 2) / step) * step
    return min(max(r, step), width)   // a width that is not a multiple of step stays itself only when nothing goes
}
