import ShearsData
import ShearsNN
import ShearsTensor

/// What a criterion may use besides the weights, supplied by the protocol that prunes. Data is a closure so that
/// data-free criteria (magnitude, random, SynFlow) never build the batches.
public struct ScoringContext {
    /// The protocol's scoring batches (iterative pruning: its gradient batches; APP: the pruning sample π_t).
    public var batches: () throws -> [Batch]
    /// The seed of seeded criteria (random), fresh per pruning event.
    public var seed: UInt64
    /// Batch-norm behaviour while scoring with data.
    public var phase: LearningPhase
    /// One example's shape [C, H, W], for data-free criteria that feed a synthetic input.
    public var inputShape: [Int]

    public init(batches: @escaping () throws -> [Batch] = { [] }, seed: UInt64 = 0, phase: LearningPhase = .training,
                inputShape: [Int] = []) {
        self.batches = batches; self.seed = seed; self.phase = phase; self.inputShape = inputShape
    }

    /// The batches of a data-driven criterion; none is an error naming the criterion.
    func requiredBatches(for criterion: String) throws -> [Batch] {
        let b = try batches()
        guard !b.isEmpty else { throw CriterionError("the \(criterion) criterion needs at least one scoring batch") }
        return b
    }
}

/// A `PruningScore` the registry can build by name: one type in one file, and one line in `CriterionRegistry.all`.
public protocol Criterion: PruningScore {
    /// The name users type (`--criterion NAME`).
    static var criterionName: String { get }
    /// One line for `--help`.
    static var summary: String { get }
    static func make(_ context: ScoringContext) throws -> Self
}

public struct CriterionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Every pruning criterion, by name: what `--criterion` (prune iterative, prune oracle) and `--pruner` (anytime)
/// accept.
public enum CriterionRegistry {
    public static let all: [any Criterion.Type] = [
        MagnitudeScore.self,
        GradientScore.self,
        SNIPScore.self,
        RandomScore.self,
        L1FilterScore.self,
        SynFlowScore.self,
        GraSPScore.self,
    ]

    public static var names: [String] { all.map { $0.criterionName } }

    /// `name: summary` per criterion, for help texts.
    public static var helpText: String { all.map { "\($0.criterionName) (\($0.summary))" }.joined(separator: ", ") }

    public static func isKnown(_ name: String) -> Bool { all.contains { $0.criterionName == name } }

    /// The criterion called `name`, built for `context`; unknown names are refused with the list.
    public static func make(_ name: String, _ context: ScoringContext) throws -> any PruningScore {
        guard let t = all.first(where: { $0.criterionName == name }) else {
            throw CriterionError("unknown criterion '\(name)'; expected one of \(names.joined(separator: ", "))")
        }
        return try t.make(context)
    }
}

/// A channel criterion of structured pruning (`prune structured --criterion NAME`): one line in
/// `CriterionRegistry.channel`.
public struct ChannelCriterionEntry: Sendable {
    public let name: String
    public let summary: String
    public let make: @Sendable () -> any GroupCriterion
}

extension CriterionRegistry {
    /// The criteria that score channels as such. Every per-weight criterion of `all` is a channel criterion too,
    /// summed over each channel's producing filters (`ElementwiseChannelCriterion`).
    public static let channel: [ChannelCriterionEntry] = [
        .init(name: "l1", summary: "Σ|w| of each producing filter, Li et al. 2017") { FilterNormCriterion.l1 },
        .init(name: "l2", summary: "√Σw² of each producing filter") { FilterNormCriterion.l2 },
        .init(name: "bn-scale", summary: "|γ| of the group's batch norms, Liu et al. 2017") { BatchNormScaleCriterion() },
        .init(name: "taylor", summary: "|Σ w·∂L/∂w| per channel, Molchanov et al. 2019") { TaylorCriterion() },
    ]

    /// Every name `prune structured --criterion` accepts: the channel criteria, then the per-weight ones.
    public static var channelNames: [String] { channel.map(\.name) + names.filter { n in !channel.contains { $0.name == n } } }

    public static var channelHelpText: String {
        channel.map { "\($0.name) (\($0.summary))" }.joined(separator: ", ")
            + "; or any per-weight criterion summed per channel: " + names.joined(separator: ", ")
    }

    public static func isChannelCriterion(_ name: String) -> Bool { channelNames.contains(name) }

    /// The channel criterion called `name` for `model`'s `groups`: a channel criterion as registered, or a per-weight
    /// criterion built for `context` and evaluated once on the producing weights. Unknown names are refused with the list.
    public static func makeChannel(_ name: String, model: any Layer, groups: [DependencyGroup],
                                   context: ScoringContext) throws -> any GroupCriterion {
        if let entry = channel.first(where: { $0.name == name }) { return entry.make() }
        guard isKnown(name) else {
            throw CriterionError("unknown channel criterion '\(name)'; expected one of \(channelNames.joined(separator: ", "))")
        }
        return try ElementwiseChannelCriterion(name: name, score: try make(name, context), model: model, groups: groups)
    }
}

// The registrations of the criteria defined before the registry.

extension MagnitudeScore: Criterion {
    public static let criterionName = "magnitude"
    public static let summary = "|w|"
    public static func make(_ context: ScoringContext) throws -> MagnitudeScore { MagnitudeScore() }
}

extension RandomScore: Criterion {
    public static let criterionName = "random"
    public static let summary = "seeded uniform scores"
    public static func make(_ context: ScoringContext) throws -> RandomScore { RandomScore(seed: context.seed) }
}

extension GradientScore: Criterion {
    public static let criterionName = "gradient"
    public static let summary = "|w · mean ∂L/∂w| over the scoring batches"
    public static func make(_ context: ScoringContext) throws -> GradientScore {
        GradientScore(batches: try context.requiredBatches(for: criterionName), phase: context.phase)
    }
}

extension SNIPScore: Criterion {
    public static let criterionName = "snip"
    public static let summary = "SNIP |Σ_b ∂L/∂w ⊙ w|, normalised"
    public static func make(_ context: ScoringContext) throws -> SNIPScore {
        SNIPScore(batches: try context.requiredBatches(for: criterionName), phase: context.phase)
    }
}

extension L1FilterScore: Criterion {
    public static let criterionName = "l1-filter"
    public static let summary = "L1 norm of each output filter, on every weight of the filter"
    public static func make(_ context: ScoringContext) throws -> L1FilterScore { L1FilterScore() }
}
