import Foundation
import ShearsPrune

/// Every hyperparameter of `shears prune dynamic`: train a sparse network from scratch at constant sparsity, its mask
/// changed every `updateEvery` iterations by SET (Mocanu et al. 2018) or RigL (Evci et al. 2020); or gradual magnitude
/// pruning (Zhu & Gupta 2017), dense at first and pruned to `sparsity` on the cubic schedule.
public struct DynamicSparseConfig: RunConfiguration, Sendable {
    /// The model, data and training; `total` iterations = `--iterations` or `--epochs` × batches per epoch.
    public var training: TrainingConfig
    public var method: DynamicSparseMethod = .rigl
    /// s: the fraction of the prunable weights that are 0 throughout (gmp: at the end), in (0, 1).
    public var sparsity: Double = 0.9
    public var distribution: DensityDistribution = .erk
    /// ΔT: iterations between mask updates (RigL: 100).
    public var updateEvery: Int = 100
    /// α: the fraction of a layer's active weights replaced at the first update, in (0, 1] (RigL: 0.3).
    public var dropFraction: Double = 0.3
    public var dropSchedule: DropSchedule = .cosine
    /// No update at or after this fraction of the training, in (0, 1] (RigL: 0.75).
    public var endUpdate: Double = 0.75
    /// gmp only: t₀, the start of the pruning schedule as a fraction of the training, in [0, endUpdate).
    public var beginUpdate: Double = 0.1
    public var selection: PrunableSelection = PrunableSelection()
    /// The scale of the kept weights at initialisation (SET, RigL): each unit's rescaled to its sparse fan-in (Evci et
    /// al. 2022; `SparseInitialisation`); nil keeps the dense initialisation's (absent from config.json).
    public var sparseInit: SparseInitialisation? = nil

    public init() { training = TrainingConfig() }

    /// Checks the values; the message names the flag and the expected range.
    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if !(sparsity > 0 && sparsity < 1) { try fail("--sparsity must be in (0, 1) (the fraction of prunable weights that are 0), got \(sparsity)") }
        if !(1...1_000_000_000).contains(updateEvery) { try fail("--update-every (ΔT) must be between 1 and 10⁹ iterations, got \(updateEvery)") }
        if !(dropFraction > 0 && dropFraction <= 1) { try fail("--drop-fraction (α) must be in (0, 1], got \(dropFraction)") }
        if !(endUpdate > 0 && endUpdate <= 1) { try fail("--end-update must be in (0, 1] (a fraction of the training), got \(endUpdate)") }
        if method == .gmp && !(beginUpdate >= 0 && beginUpdate < endUpdate) {
            try fail("--begin-update must be in [0, --end-update) (fractions of the training: 0 ≤ begin < end ≤ 1), got --begin-update \(beginUpdate) with --end-update \(endUpdate)")
        }
        if let sparseInit, method == .gmp, sparseInit != .dense {
            try fail("--sparse-init \(sparseInit.rawValue) applies to set and rigl, which start sparse; gmp starts dense (drop it)")
        }
    }
}

extension DynamicSparseConfig {
    /// Decodes every field; `beginUpdate`, added with gmp, and `sparseInit` may be absent: the config.json of a run
    /// written before them still reads (as the defaults, which is what those runs did), so `report`, `prune compare`
    /// and a re-run still open that directory.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        training = try c.decode(TrainingConfig.self, forKey: .training)
        method = try c.decode(DynamicSparseMethod.self, forKey: .method)
        sparsity = try c.decode(Double.self, forKey: .sparsity)
        distribution = try c.decode(DensityDistribution.self, forKey: .distribution)
        updateEvery = try c.decode(Int.self, forKey: .updateEvery)
        dropFraction = try c.decode(Double.self, forKey: .dropFraction)
        dropSchedule = try c.decode(DropSchedule.self, forKey: .dropSchedule)
        endUpdate = try c.decode(Double.self, forKey: .endUpdate)
        beginUpdate = try c.decodeIfPresent(Double.self, forKey: .beginUpdate) ?? beginUpdate
        selection = try c.decode(PrunableSelection.self, forKey: .selection)
        // "dense" is what nil means (a build of the flag's first day wrote it out): the same run either way.
        sparseInit = try c.decodeIfPresent(SparseInitialisation.self, forKey: .sparseInit).flatMap { $0 == .dense ? nil : $0 }
    }
}

/// `summary.json` of a dynamic sparse training run: one point of accuracy against % of prunable weights remaining.
public struct DynamicSparseSummary: Codable, Equatable, Sendable {
    /// "set", "rigl" or "gmp".
    public var method: String
    public var split: String
    /// 100 × kept / prunable weights, as the final mask measures it (SET, RigL: constant through training; gmp: the
    /// target, reached at the last pruning step).
    public var percentRemaining: Double
    public var remaining: Int
    public var total: Int
    /// Mask updates made (drop-and-grow steps; gmp: pruning steps after t₀).
    public var maskUpdates: Int
    public var testAccuracyFinal: Double
    public var bestValidationAccuracy: Double?
    public var testAccuracyAtBestValidation: Double?
    public var trainingSeconds: Double
}
