import ShearsNN
import ShearsPrune

/// When the channels go: all at once, or in `steps` rounds with fine-tuning between them.
public enum StructuredSchedule: String, Codable, Sendable, CaseIterable {
    /// Prune to the ratio once, then fine-tune `finetuneEpochs`.
    case oneshot
    /// `steps` rounds of prune (cumulative ratio 1 − (1 − r)^(i/steps)) + fine-tune `finetuneEpochs` each.
    case iterative
    /// `steps` rounds spread evenly over `finetuneEpochs` in total (Zhu & Gupta-style gradual removal).
    case gradual
}

/// What the kept weights train from after each round of the iterative schedule.
public enum StructuredRetrain: String, Codable, Sendable, CaseIterable {
    /// On from the previous round's fine-tuned weights.
    case finetune
    /// From the starting model's values (weight rewinding, Renda et al. 2020, as `prune iterative --retrain rewind`):
    /// the channels are chosen on the fine-tuned weights, then the kept ones are reset to where the command began.
    case rewind
}

/// Everything `shears prune structured` does, as one Codable value (its `summary.json` repeats it).
public struct StructuredPruningConfig: Codable, Equatable, Sendable {
    /// Model, data, optimizer and seed of the fine-tuning (its epochs field is unused: see `finetuneEpochs`).
    public var training = TrainingConfig()
    /// A channel criterion's name (`CriterionRegistry.channelNames`: l1, l2, bn-scale, taylor, or a per-weight one).
    public var criterion = "l1"
    public var aggregation: GroupAggregation = .sum
    /// How each group's scores are scaled before a global ranking; nil (configs written before it) is `.raw`.
    public var normalization: GroupNormalization? = nil
    /// The fraction of prunable channels removed, in (0, 1).
    public var channelRatio = 0.5
    public var allocation: ChannelAllocation = .global
    public var roundTo = 1
    public var schedule: StructuredSchedule = .oneshot
    public var steps = 3
    /// nil (configs written before it): `.finetune`.
    public var retrain: StructuredRetrain? = nil
    public var finetuneEpochs = 1
    /// Batches whose gradients the Taylor criterion accumulates (and the batches of the data-driven per-weight criteria).
    public var taylorBatches = 4
    /// λ of network slimming's L1 penalty on γ during fine-tuning (0: off).
    public var batchNormPenalty: Float = 0
    /// Start from these weights (a model.safetensors, or a run directory holding one).
    public var from: String? = nil

    public init() {}

    public func validate() throws {
        try training.validate()   // the data flags (--dataset npz needs --data-path, …), batch, rates
        guard channelRatio > 0, channelRatio < 1, channelRatio.isFinite else {
            throw TrainingError("--channel-ratio must be in (0, 1) (the fraction of channels removed), got \(channelRatio)")
        }
        guard CriterionRegistry.isChannelCriterion(criterion) else {
            throw TrainingError("--criterion \(criterion) is not a channel criterion; expected one of \(CriterionRegistry.channelNames.joined(separator: ", "))")
        }
        guard (1...1024).contains(roundTo) else { throw TrainingError("--round-to must be between 1 and 1024, got \(roundTo)") }
        if retrain == .rewind && schedule != .iterative {
            throw TrainingError("--retrain rewind needs --schedule iterative (rounds with fine-tuning between them), got \(schedule.rawValue)")
        }
        guard (1...100).contains(steps) else { throw TrainingError("--steps must be between 1 and 100, got \(steps)") }
        guard (0...10_000).contains(finetuneEpochs) else { throw TrainingError("--finetune-epochs must be between 0 and 10000, got \(finetuneEpochs)") }
        guard (1...10_000).contains(taylorBatches) else { throw TrainingError("--taylor-batches must be between 1 and 10000, got \(taylorBatches)") }
        guard batchNormPenalty >= 0, batchNormPenalty.isFinite else {
            throw TrainingError("--bn-penalty must be a finite λ ≥ 0, got \(batchNormPenalty)")
        }
        guard training.batchSize >= 2 else { throw TrainingError("--batch-size must be at least 2 (batch norm), got \(training.batchSize)") }
        guard training.lr.isFinite, training.lr > 0 else { throw TrainingError("--lr must be a finite positive rate, got \(training.lr)") }
    }
}

/// Size and accuracy of one side (before / after) of a structured pruning.
public struct StructuredModelStats: Codable, Equatable, Sendable {
    public var parameters: Int
    public var macs: Int
    public var testAccuracy: Double
    public var testLoss: Double
    /// Output width of every conv / linear layer but the classifier.
    public var widths: [String: Int]
}

/// `summary.json` of `shears prune structured`.
public struct StructuredPruningSummary: Codable, Equatable, Sendable {
    public var config: StructuredPruningConfig
    public var before: StructuredModelStats
    /// The masked model after fine-tuning (dense shapes, removed channels 0). One shot: its test numbers are the
    /// compacted model's (the twin is that model written back; `maskedVersusCompacted` checks them on a test batch).
    public var masked: StructuredModelStats
    /// The compacted model (should equal `masked` in accuracy).
    public var after: StructuredModelStats
    /// max |masked − compacted| over the logits of one test batch (≤ 1e-5 expected).
    public var maskedVersusCompacted: Double
    public var finetuneIterations: Int
    public var seconds: Double
}
