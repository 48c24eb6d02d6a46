import ShearsNN
import ShearsTensor

/// How a group's channel importance combines its members' scores.
public enum GroupAggregation: String, Codable, Sendable, CaseIterable {
    case sum, mean
}

/// A channel-importance criterion for dependency groups: one score per channel of a group, higher = keep.
/// Members are scored separately and combined by `aggregation` (a residual group has several producers).
/// `name` is the spelling the criterion registry and the CLI use.
public protocol GroupCriterion {
    var name: String { get }
    /// Whether scoring reads ∂L/∂w from the parameters, so the protocol accumulates them first (Taylor).
    var needsGradients: Bool { get }
    /// The members this criterion reads, and each member's per-channel score.
    func memberScores(_ group: DependencyGroup, values: [String: Variable]) throws -> [[Double]]
}

extension GroupCriterion {
    public var needsGradients: Bool { false }

    /// The group's per-channel scores, aggregated over the members the criterion reads.
    public func channelScores(_ group: DependencyGroup, values: [String: Variable],
                              aggregation: GroupAggregation = .sum) throws -> [Double] {
        let scores = try memberScores(group, values: values)
        guard !scores.isEmpty else {
            throw StructuredPruningError("\(name): group \(group.name) has no member this criterion can score")
        }
        var total = [Double](repeating: 0, count: group.channels)
        for s in scores { for c in total.indices { total[c] += s[c] } }
        if aggregation == .mean { for c in total.indices { total[c] /= Double(scores.count) } }
        return total
    }
}

func lookup(_ member: GroupMember, _ values: [String: Variable], criterion: String) throws -> Variable {
    guard let v = values[member.name] else {
        throw StructuredPruningError("\(criterion): \(member.name) is in a dependency group but not among the parameters")
    }
    return v
}

/// Filter norms of the group's producing conv / linear weights (Li et al. 2017): Σ|w| (`l1`) or √Σw² (`l2`) over
/// each output filter.
public struct FilterNormCriterion: GroupCriterion {
    public let p: Int
    public init(p: Int) { precondition(p == 1 || p == 2, "FilterNormCriterion: p must be 1 or 2"); self.p = p }
    public static let l1 = FilterNormCriterion(p: 1)
    public static let l2 = FilterNormCriterion(p: 2)
    public var name: String { p == 1 ? "l1" : "l2" }

    public func memberScores(_ group: DependencyGroup, values: [String: Variable]) throws -> [[Double]] {
        try group.producers.filter(\.isWeight).map { m in
            let w = try lookup(m, values, criterion: name).value
            let s = ChannelSlices.perChannel(w, axis: m.axis, block: m.block, channels: group.channels) { acc, x, _ in
                acc += p == 1 ? Double(abs(x)) : Double(x) * Double(x)
            }
            return p == 1 ? s : s.map { $0.squareRoot() }
        }
    }
}

/// |γ| of the group's batch norms (network slimming, Liu et al. 2017). Train with `batchNormL1Penalty` to push
/// unimportant γ towards 0 first.
public struct BatchNormScaleCriterion: GroupCriterion {
    public init() {}
    public var name: String { "bn-scale" }

    public func memberScores(_ group: DependencyGroup, values: [String: Variable]) throws -> [[Double]] {
        try group.members.filter { $0.role == .normalization && $0.name.hasSuffix(".weight") }.map { m in
            try lookup(m, values, criterion: name).value.scalars.map { Double(abs($0)) }
        }
    }
}

/// First-order Taylor importance (Molchanov et al. 2019): |Σ w·∂L/∂w| over each channel's producer weights, biases
/// and batch-norm γ, β, from the gradients the parameters hold (accumulate them over a few batches first).
public struct TaylorCriterion: GroupCriterion {
    public init() {}
    public var name: String { "taylor" }
    public var needsGradients: Bool { true }

    public func memberScores(_ group: DependencyGroup, values: [String: Variable]) throws -> [[Double]] {
        let scored = group.members.filter { $0.role == .producer || ($0.role == .normalization && !$0.name.contains("running_")) }
        return try scored.map { m in
            let v = try lookup(m, values, criterion: name)
            guard let g = v.grad else {
                throw StructuredPruningError("taylor: \(m.name) has no gradient; run a backward pass before scoring")
            }
            let gs = g.contiguous().scalars
            return ChannelSlices.perChannel(v.value, axis: m.axis, block: m.block, channels: group.channels) { acc, x, i in
                acc += Double(x) * Double(gs[i])
            }.map(abs)
        }
    }
}

/// Any per-weight criterion of `CriterionRegistry` (magnitude, SNIP, SynFlow, …) lifted to channels: a channel's
/// score is the sum of its producing filters' weight scores (magnitude lifts to `l1`). The weight scores are computed
/// once, by the criterion, on the model's producing weights; `memberScores` only slices them.
public struct ElementwiseChannelCriterion: GroupCriterion {
    public let name: String
    /// Per-weight scores of the producing conv / linear weights, by parameter name.
    public let weightScores: [String: Tensor]

    public init(name: String, weightScores: [String: Tensor]) { self.name = name; self.weightScores = weightScores }

    /// Scores `model`'s producing weights of `groups` with `score`.
    public init(name: String, score: any PruningScore, model: any Layer, groups: [DependencyGroup]) throws {
        let producing = Set(groups.filter(\.prunable).flatMap { $0.producers.filter(\.isWeight).map(\.name) })
        let parameters = model.namedParameters.filter { producing.contains($0.0) }
        self.init(name: name, weightScores: try score.scores(model: model, parameters: parameters, mask: .ones(for: parameters)))
    }

    public func memberScores(_ group: DependencyGroup, values: [String: Variable]) throws -> [[Double]] {
        try group.producers.filter(\.isWeight).map { m in
            guard let s = weightScores[m.name] else {
                throw StructuredPruningError("\(name): \(m.name) was not scored (not a producing weight of a prunable group)")
            }
            return ChannelSlices.perChannel(s, axis: m.axis, block: m.block, channels: group.channels) { acc, x, _ in acc += Double(x) }
        }
    }
}

/// Network slimming's sparsity penalty λ·Σ|γ| over every batch-norm scale of `groups`' prunable members: adds its
/// subgradient λ·sign(γ) to each γ's gradient (call between `backward()` and the optimizer step) and returns the
/// penalty's value for logging.
@discardableResult
public func addBatchNormL1Penalty(lambda: Float, groups: [DependencyGroup], values: [String: Variable]) -> Float {
    var total: Float = 0
    var done = Set<String>()
    for group in groups where group.prunable {
        for m in group.members where m.role == .normalization && m.name.hasSuffix(".weight") && done.insert(m.name).inserted {
            guard let gamma = values[m.name] else { continue }
            let sign = Tensor(shape: gamma.shape, scalars: gamma.value.scalars.map { $0 > 0 ? lambda : $0 < 0 ? -lambda : 0 })
            total += lambda * gamma.value.scalars.reduce(0) { $0 + abs($1) }
            if gamma.grad == nil { gamma.grad = sign } else { gamma.grad!.addScaled(sign, alpha: 1) }
        }
    }
    return total
}
