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
    public var pruner: AnytimePruner
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
        var g = Generator(seed: tc.seed)
        model = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        if let path = tc.initFrom { try loadStateDict(model, from: path) }
        parameters = model.namedParameters
        prunable = config.selection.select(model)
        self.run = run
        let quiet = options.quiet
        say = { line in
            if !quiet { print(line) }
            try? run.log(line)
        }
    }

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

extension AnytimeProgressivePruning {
    static let recordsFile = "megabatches.jsonl"
    static let bestPrefix = "best/"

    static func readRecords(_ run: RunDirectory) throws -> [MegabatchRecord] {
        guard let text = try? String(contentsOfFile: run.path(recordsFile), encoding: .utf8) else { return [] }
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try text.split(separator: "\n").map { line in
            do { return try d.decode(MegabatchRecord.self, from: Data(line.utf8)) } catch {
                throw TrainingError("\(run.path(recordsFile)) holds a line that is not a megabatch record: \(error)")
            }
        }
    }

    static func writeRecords(_ records: [MegabatchRecord], to run: RunDirectory) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let lines = try records.map { String(decoding: try e.encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: run.path(recordsFile), atomically: true, encoding: .utf8)
    }

    /// The per-epoch metric rows of megabatch t, in order (from metrics.jsonl, which survives a resume).
    static func epochRows(_ run: RunDirectory, megabatch t: Int) -> [[String: Double]] {
        guard let text = try? String(contentsOfFile: run.path(RunDirectory.metricsJSONL), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line -> [String: Double]? in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            var row: [String: Double] = [:]
            for (k, v) in obj { if let n = v as? NSNumber { row[k] = n.doubleValue } else if let s = v as? String, let d = Double(s) { row[k] = d } }
            return row["megabatch"] == Double(t) ? row : nil
        }.sorted { ($0["step"] ?? 0) < ($1["step"] ?? 0) }
    }

    // MARK: checkpoints

    static func saveCheckpoint(_ env: AnytimeEnvironment, optimizer: any Optimizer, mask: Mask, best: WeightSnapshot?,
                               position p: AnytimePosition) throws {
        var (tensors, dtypes) = Trainer.checkpointTensors(model: env.model, optimizer: optimizer)
        for (key, t) in mask.checkpointEntries { tensors[key] = t.contiguous() }
        if let best {
            for (name, t) in best.entries {
                tensors[bestPrefix + name] = t.contiguous()
                if name.hasSuffix("num_batches_tracked") { dtypes[bestPrefix + name] = .I64 }
            }
        }
        let metadata: [String: String] = [
            "format": "pt",
            "megabatch": String(p.megabatch),
            "epoch": String(p.epoch),
            "pruned": p.pruned ? "1" : "0",
            "best_validation_accuracy": String(p.bestValidationAccuracy),
            "best_epoch": String(p.bestEpoch),
            "has_best": best == nil ? "0" : "1",
            "training_seconds": String(p.seconds),
        ]
        try SafetensorsFile.write(path: env.run.checkpointPath, tensors: tensors, dtypes: dtypes, metadata: metadata)
    }

    /// Restores weights, mask (it must cover exactly the tensors this run masks), optimizer state, the best-validation
    /// snapshot and the position; every mismatch is named.
    static func restore(_ env: AnytimeEnvironment, optimizer: inout any Optimizer, mask: inout Mask, best: inout WeightSnapshot?,
                        position p: inout AnytimePosition) throws {
        let path = env.run.checkpointPath
        let file = try SafetensorsFile.read(path: path)
        func meta(_ k: String) throws -> String {
            guard let v = file.metadata[k] else {
                throw TrainingError("checkpoint \(path) lacks the metadata entry '\(k)': it was not written by an anytime run")
            }
            return v
        }
        try Trainer.restoreModelState(env.model, from: file, path: path)
        let restored = try Mask(checkpointEntries: file.tensors)
        guard Set(restored.names) == Set(mask.names) else {
            throw TrainingError("checkpoint \(path): its mask covers \(restored.names), this run masks \(mask.names)")
        }
        try restored.validate(against: env.model.namedParameters)
        mask = restored
        optimizer = masked(makeOptimizer(env.config.training), mask: mask)
        var optState: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optimizer/") { optState[String(k.dropFirst("optimizer/".count))] = t }
        try optimizer.loadState(optState)
        best = try meta("has_best") == "1" ? WeightSnapshot(entries: try env.model.stateDict.map { name, _ in
            guard let t = file.tensors[bestPrefix + name] else { throw TrainingError("checkpoint \(path) lacks \(bestPrefix + name)") }
            return (name, t)
        }) : nil
        guard let t = Int(try meta("megabatch")), let e = Int(try meta("epoch")), t >= 1, t <= env.config.megabatches + 1 else {
            throw TrainingError("checkpoint \(path): bad megabatch or epoch for a stream of \(env.config.megabatches) megabatches")
        }
        p.megabatch = t
        p.epoch = e
        p.pruned = try meta("pruned") == "1"
        p.bestValidationAccuracy = Double(try meta("best_validation_accuracy")) ?? -.infinity
        p.bestEpoch = Int(try meta("best_epoch")) ?? 0
        p.seconds = Double(try meta("training_seconds")) ?? 0
    }
}
