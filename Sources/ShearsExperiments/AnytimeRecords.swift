import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// One line of `megabatches.jsonl`: the outcome of megabatch t (APP spec §3).
public struct MegabatchRecord: Codable, Equatable, Sendable {
    public var megabatch: Int
    /// δ_t and 0.8^δ_t when the method pruned at t (nil otherwise).
    public var delta: Double?
    public var targetDensity: Double?
    /// The real density of the combined mask over the prunable weights (1 for the dense baseline).
    public var density: Double
    public var remaining: Int
    public var total: Int
    public var trainExamples: Int
    public var validationExamples: Int
    /// |π_t| (0 when nothing was pruned at t).
    public var pruneSample: Int
    public var bestValidationAccuracy: Double
    /// 1-based epoch of megabatch t whose weights were kept.
    public var bestEpoch: Int
    /// Test accuracy and errors of F_t, the best-validation model after megabatch t.
    public var testAccuracy: Double
    public var testErrors: Int
    /// CER up to t: Σ_{s ≤ t} testErrors_s (Eq. 1).
    public var cumulativeErrors: Int
    /// Per epoch of megabatch t: running train accuracy, validation accuracy, gap = train − validation (fractions).
    public var trainAccuracy: [Double]
    public var validationAccuracy: [Double]
    public var gap: [Double]
    public var learningRate: [Double]

    enum CodingKeys: String, CodingKey {
        case megabatch, delta, density, remaining, total, gap
        case targetDensity = "target_density"
        case trainExamples = "train_examples"
        case validationExamples = "validation_examples"
        case pruneSample = "prune_sample"
        case bestValidationAccuracy = "best_validation_accuracy"
        case bestEpoch = "best_epoch"
        case testAccuracy = "test_accuracy"
        case testErrors = "test_errors"
        case cumulativeErrors = "cumulative_errors"
        case trainAccuracy = "train_accuracy"
        case validationAccuracy = "validation_accuracy"
        case learningRate = "lr"
    }
}

/// `summary.json` of an anytime run.
public struct AnytimeSummary: Codable, Equatable, Sendable {
    public var method: AnytimeMethod
    public var pruner: String
    public var maskUpdate: AnytimeMaskUpdate
    public var megabatches: Int
    public var tau: Double
    public var testExamples: Int
    /// Test accuracy of the final model (best-validation weights of the last megabatch).
    public var finalTestAccuracy: Double
    /// Eq. 1: Σ_t Σ_j 1(F_t(x_j) ≠ y_j), a raw count (at most |S_B|·|T|).
    public var cer: Int
    public var finalDensity: Double
    /// 0.8^τ (1 for the dense baseline).
    public var targetFinalDensity: Double
    /// The gap at the last epoch of the last megabatch (what the APP logger reports), and its mean over every epoch.
    public var finalGap: Double
    public var meanGap: Double
    public var trainingSeconds: Double
    public var records: [MegabatchRecord]

    enum CodingKeys: String, CodingKey {
        case method, pruner, megabatches, tau, cer, records
        case maskUpdate = "mask_update"
        case testExamples = "test_examples"
        case finalTestAccuracy = "final_test_accuracy"
        case finalDensity = "final_density"
        case targetFinalDensity = "target_final_density"
        case finalGap = "final_gap"
        case meanGap = "mean_gap"
        case trainingSeconds = "training_seconds"
    }

    /// The generalisation-gap curve: one value per epoch across the whole stream.
    public var gapCurve: [Double] { records.flatMap(\.gap) }
}

/// Eq. 1 of the APP paper (CER): the number of test errors of F_t summed over the megabatches t.
public func cumulativeErrorRate(_ errorsPerMegabatch: [Int]) -> Int { errorsPerMegabatch.reduce(0, +) }

/// Σ_j 1(F(x_j) ≠ y_j) over `dataset` (inference mode), the inner sum of Eq. 1.
public func testErrors(_ model: any Layer, on dataset: Dataset, mean: [Float]?, std: [Float]?) -> Int {
    guard dataset.count > 0 else { return 0 }
    let r = evaluate(model, on: dataset, mean: mean, std: std)
    return dataset.count - Int((r.accuracy * Double(dataset.count)).rounded())
}

/// A seed for stream `tag` at megabatch t, derived from the run seed (every random choice flows from that one seed).
func anytimeSeed(_ seed: UInt64, tag: UInt64, _ t: Int) -> UInt64 {
    var g = Generator(seed: seed ^ (tag << 40) ^ UInt64(t) &* 0x9E37_79B9_7F4A_7C15)
    return g.next()
}

/// What an anytime run needs besides its position: config, data, stream, model, prunable tensors.
struct AnytimeEnvironment {
    let config: AnytimeConfig
    let data: PreparedData
    let stream: AnytimeStream
    let model: any Layer
    let parameters: [(String, Variable)]
    let prunable: [(String, Variable)]
    let run: RunDirectory
    let say: (String) -> Void

    init(_ config: AnytimeConfig, run: RunDirectory, options: TrainingOptions) throws {
        self.config = config
        let tc = config.training
        data = try prepareData(tc)
        stream = try AnytimeStream(poolCount: data.train.count, megabatches: config.megabatches, poolSize: config.poolSize,
                                   seed: tc.seed, shuffle: config.shufflePool)
        model = try TrainingSetup.initialModel(tc, data, say: { _ in })
        parameters = model.namedParameters
        prunable = config.selection.select(model)
        self.run = run
        say = sayer(run, options)
    }

    /// The iterations megabatch t trains: E epochs of ⌈|Tr_t| / B⌉ batches (the loader keeps the last, short batch).
    func iterations(megabatch t: Int) -> Int {
        let b = config.training.batchSize
        return config.training.epochs! * ((stream.trainIndices(at: t, replay: config.replay).count + b - 1) / b)
    }
    /// The iterations of the stream before megabatch t (t counts from 1).
    func iterationsBefore(megabatch t: Int) -> Int { (1..<max(t, 1)).reduce(0) { $0 + iterations(megabatch: $1) } }
    /// The whole stream's progress, for the bar's overall ETA.
    func overallProgress() -> OverallProgress { OverallProgress(total: iterationsBefore(megabatch: config.megabatches + 1)) }

    /// Tr_t and Va_t as datasets.
    func sets(at t: Int) -> (train: Dataset, validation: Dataset) {
        (data.train.subset(stream.trainIndices(at: t, replay: config.replay)),
         data.train.subset(stream.validationIndices(at: t, replay: config.replay)))
    }
}

/// Where an anytime run stands: megabatch t (1-based), epochs of t done, whether t's pruning step is done, and the
/// best-validation record of t so far.
struct AnytimePosition: Equatable {
    var megabatch = 1
    var epoch = 0
    var pruned = false
    var bestValidationAccuracy = -Double.infinity
    var bestEpoch = 0
    var seconds = 0.0

    /// Epochs finished over the whole stream (the `step` of metrics rows).
    func globalEpoch(epochsPerMegabatch e: Int) -> Int { (megabatch - 1) * e + epoch }
}

/// After every epoch (every `batchesPerEpoch` steps) hands the epoch's running train accuracy and mean loss to
/// `action`, then starts counting again: APP's line 10.
final class EpochEndHook: TrainHook {
    let batchesPerEpoch: Int
    let action: (LoopState, Double, Double) throws -> Void
    var seen = 0, correct = 0.0, lossSum = 0.0

    init(batchesPerEpoch: Int, action: @escaping (LoopState, Double, Double) throws -> Void) {
        self.batchesPerEpoch = max(1, batchesPerEpoch); self.action = action
    }

    func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        let n = outcome.examples
        seen += n
        lossSum += Double(outcome.loss) * Double(n)
        if let a = outcome.accuracy { correct += a * Double(n) }
        guard state.iteration % batchesPerEpoch == 0 else { return }
        try action(state, correct / Double(max(seen, 1)), lossSum / Double(max(seen, 1)))
        seen = 0; correct = 0; lossSum = 0
    }
}

extension AnytimeProgressivePruning {
    static let recordsFile = "megabatches.jsonl"
    static let bestPrefix = "best/"

    static func readRecords(_ run: RunDirectory) throws -> [MegabatchRecord] {
        try JSONLines.read(MegabatchRecord.self, from: run.path(recordsFile))
    }

    static func writeRecords(_ records: [MegabatchRecord], to run: RunDirectory) throws {
        try JSONLines.write(records, to: run.path(recordsFile))
    }

    /// The per-epoch metric rows of megabatch t, in order (from metrics.jsonl, which survives a resume).
    static func epochRows(_ run: RunDirectory, megabatch t: Int) throws -> [[String: Double]] {
        try JSONLines.numericRows(from: run.path(RunDirectory.metricsJSONL))
            .filter { $0["megabatch"] == Double(t) }
            .sorted { ($0["step"] ?? 0) < ($1["step"] ?? 0) }
    }

    // MARK: checkpoints

    /// Weights, optimizer, `mask/…`, the best-validation weights `best/…`, and the position in the stream.
    static func saveCheckpoint(_ env: AnytimeEnvironment, _ s: State) throws {
        var extra = ProtocolState(fields: ["megabatch": String(s.pos.megabatch), "epoch": String(s.pos.epoch),
                                           "pruned": s.pos.pruned ? "1" : "0"])
        extra.add(s.mask)
        extra.add(s.best, prefix: bestPrefix)
        var position = LoopPosition(iteration: s.pos.epoch)
        position.seconds = s.pos.seconds
        position.best = BestRecord(validationAccuracy: s.pos.bestValidationAccuracy, iteration: s.pos.bestEpoch, testAccuracy: .nan)
        try Checkpoint.save(to: env.run.checkpointPath, model: env.model, optimizer: s.optimizer, position: position, state: extra)
    }

    /// A fresh stream (dense mask, the optimizer of line 1) or the checkpoint's state; every mismatch is named.
    static func start(_ env: AnytimeEnvironment) throws -> State {
        let c = env.config, dir = env.run
        let mask = c.method == .dense ? Mask() : Mask.ones(for: env.prunable)
        var s = State(mask: mask, optimizer: masked(makeOptimizer(c.training), mask: mask), best: nil, pos: AnytimePosition())
        if dir.fileExists(Checkpoint.fileName) {
            let saved = try Checkpoint.load(dir.checkpointPath, into: env.model)
            s.mask = try saved.mask(like: mask, model: env.model)
            s.optimizer = masked(makeOptimizer(c.training), mask: s.mask)
            try saved.restore(&s.optimizer)
            s.best = try saved.snapshot(prefix: bestPrefix, model: env.model)
            let t = try saved.int("megabatch"), e = try saved.int("epoch")
            guard t >= 1, t <= c.megabatches + 1, e >= 0 else {
                throw TrainingError("checkpoint \(dir.checkpointPath): bad megabatch or epoch for a stream of \(c.megabatches) megabatches")
            }
            s.pos = AnytimePosition(megabatch: t, epoch: e, pruned: try saved.field("pruned") == "1",
                                    bestValidationAccuracy: saved.position.best.validationAccuracy,
                                    bestEpoch: saved.position.best.iteration, seconds: saved.position.seconds)
            env.say("resuming \(dir.url.path) at megabatch \(t), epoch \(e) of \(c.training.epochs!)")
        } else {
            env.say("anytime \(c.method.rawValue) (\(c.pruner), \(c.maskUpdate.rawValue)) of \(c.training.model.rawValue) on "
                    + "\(c.training.dataset.rawValue): \(c.megabatches) megabatches of \(env.stream.megabatchSize), replay \(c.replay), "
                    + "τ = \(c.tau), \(c.training.epochs!) epochs each → \(dir.url.path)")
        }
        try Checkpoint.truncateMetrics(in: dir, after: s.pos.globalEpoch(epochsPerMegabatch: c.training.epochs!))
        return s
    }
}
