import Foundation
import ShearsPrune

/// Every hyperparameter of `shears prune dynamic`: train a sparse network from scratch at constant sparsity, its mask
/// changed every `updateEvery` iterations by SET (Mocanu et al. 2018) or RigL (Evci et al. 2020).
public struct DynamicSparseConfig: RunConfiguration, Sendable {
    /// The model, data and training; `total` iterations = `--iterations` or `--epochs` × batches per epoch.
    public var training: TrainingConfig
    public var method: DynamicSparseMethod = .rigl
    /// s: the fraction of the prunable weights that are 0 throughout, in (0, 1).
    public var sparsity: Double = 0.9
    public var distribution: DensityDistribution = .erk
    /// ΔT: iterations between mask updates (RigL: 100).
    public var updateEvery: Int = 100
    /// α: the fraction of a layer's active weights replaced at the first update, in (0, 1] (RigL: 0.3).
    public var dropFraction: Double = 0.3
    public var dropSchedule: DropSchedule = .cosine
    /// No update at or after this fraction of the training, in (0, 1] (RigL: 0.75).
    public var endUpdate: Double = 0.75
    public var selection: PrunableSelection = PrunableSelection()

    public init() { training = TrainingConfig() }

    /// Checks the values; the message names the flag and the expected range.
    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if !(sparsity > 0 && sparsity < 1) { try fail("--sparsity must be in (0, 1) (the fraction of prunable weights that are 0), got \(sparsity)") }
        if !(1...1_000_000_000).contains(updateEvery) { try fail("--update-every (ΔT) must be between 1 and 10⁹ iterations, got \(updateEvery)") }
        if !(dropFraction > 0 && dropFraction <= 1) { try fail("--drop-fraction (α) must be in (0, 1], got \(dropFraction)") }
        if !(endUpdate > 0 && endUpdate <= 1) { try fail("--end-update must be in (0, 1] (a fraction of the training), got \(endUpdate)") }
    }
}

/// `summary.json` of a dynamic sparse training run: one point of accuracy against % of prunable weights remaining.
public struct DynamicSparseSummary: Codable, Equatable, Sendable {
    /// "set" or "rigl".
    public var method: String
    public var split: String
    /// 100 × kept / prunable weights, as the final mask measures it (constant through training).
    public var percentRemaining: Double
    public var remaining: Int
    public var total: Int
    /// Mask updates made (drop-and-grow steps).
    public var maskUpdates: Int
    public var testAccuracyFinal: Double
    public var bestValidationAccuracy: Double?
    public var testAccuracyAtBestValidation: Double?
    public var trainingSeconds: Double
}
