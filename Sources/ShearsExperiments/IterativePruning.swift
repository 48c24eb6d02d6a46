import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// One line of `cycles.jsonl`: the outcome of training cycle m.
public struct CycleRecord: Codable, Equatable, Sendable {
    public var cycle: Int
    /// 100 · remaining / total over the prunable weights, from the mask.
    public var percentRemaining: Double
    public var remaining: Int
    public var total: Int
    /// 100 · nonzero-able parameters / all parameters (unpruned tensors count as dense): the paper's P_m (spec §2.6).
    public var percentRemainingAllParameters: Double
    public var bestValidationAccuracy: Double?
    public var bestIteration: Int?
    public var testAccuracyAtBestValidation: Double?
    public var finalTestAccuracy: Double
    /// The largest learning rate of the cycle (for S-Cyc: Eq. 2's max_lr(m)).
    public var maxLR: Double

    enum CodingKeys: String, CodingKey {
        case cycle, remaining, total
        case percentRemaining = "percent_remaining"
        case percentRemainingAllParameters = "percent_remaining_all_parameters"
        case bestValidationAccuracy = "best_validation_accuracy"
        case bestIteration = "best_iteration"
        case testAccuracyAtBestValidation = "test_accuracy_at_best_validation"
        case finalTestAccuracy = "final_test_accuracy"
        case maxLR = "max_lr"
    }
}

/// Mean and sample standard deviation over runs (std nil with a single run).
public struct MeanStd: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double?
    public init(_ xs: [Double]) {
        mean = xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
        if xs.count > 1 {
            let m = mean
            std = (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
        } else { std = nil }
    }
}

/// Per-cycle statistics over the runs.
public struct CycleStatistics: Codable, Equatable, Sendable {
    public var cycle: Int
    public var percentRemaining: MeanStd
    public var testAccuracyAtBestValidation: MeanStd
    public var finalTestAccuracy: MeanStd
    public var maxLR: Double

    enum CodingKeys: String, CodingKey {
        case cycle
        case percentRemaining = "percent_remaining"
        case testAccuracyAtBestValidation = "test_accuracy_at_best_validation"
        case finalTestAccuracy = "final_test_accuracy"
        case maxLR = "max_lr"
    }
}

/// `summary.json` of an iterative-pruning run.
public struct IterativePruningSummary: Codable, Equatable, Sendable {
    public var runs: Int
    public var cycles: [CycleStatistics]
    /// runs[r] = run r's cycle records.
    public var perRun: [[CycleRecord]]

    enum CodingKeys: String, CodingKey { case runs, cycles; case perRun = "per_run" }
}

/// The S-Cyc paper's iterative-pruning protocol (shared/spec/scyc.md §2, Algorithm 1): for m = 0 … L train (pruned
/// weights held at exactly 0 by `MaskedOptimizer`), record the early-stop test accuracy, and, if m < L, remove `rate`
/// of the remaining prunable weights by the criterion and reset as the retrain policy says.
///
/// Layout: `config.json` (the whole config) and `summary.json` at the top; per run `run_<r>/` with `config.json`
/// (that run's training config), `cycles.jsonl`, `sparsity/cycle_<m>.json`, `metrics.jsonl/csv` (step = m·T + t,
/// with a `cycle` column), `checkpoint.safetensors` (weights, buffers, `optimizer/…`, `mask/<name>`,
/// `rewind/<name>`, metadata cycle / iteration / best record), and at the end `model.safetensors` + `mask.safetensors`.
///
/// Each cycle starts a fresh optimizer (state reset, as OpenLTH does per level) and replays the same data order
/// (data order is a function of the run seed and the iteration within the cycle). `.reinit(seed: s)` draws the
/// survivors of cycle m + 1 from a model initialised with seed `s + run seed + m` (fresh for every cycle).
public enum IterativePruning {
    public static func run(_ config: IterativePruningConfig, in dir: RunDirectory,
                           options: TrainingOptions = TrainingOptions()) throws -> IterativePruningSummary {
        try config.validate()
        Threads.set(options.threads)
        if let saved = try dir.readJSON(IterativePruningConfig.self, from: "config.json") {
            guard saved == config else {
                throw TrainingError("run directory \(dir.url.path) holds a run with a different configuration; choose another --out (or delete it)")
            }
        } else {
            try dir.writeJSON(config, to: "config.json")
        }
        if let done = try dir.readJSON(IterativePruningSummary.self, from: "summary.json") { return done }
        var perRun: [[CycleRecord]] = []
        for r in 0..<config.runs {
            let sub = try RunDirectory(path: dir.path("run_\(r)"))
            perRun.append(try runOne(config, index: r, in: sub, options: options))
        }
        let cycles = (0...config.cycles).map { m -> CycleStatistics in
            let rows = perRun.compactMap { $0.first { $0.cycle == m } }
            return CycleStatistics(cycle: m, percentRemaining: MeanStd(rows.map(\.percentRemaining)),
                                   testAccuracyAtBestValidation: MeanStd(rows.compactMap(\.testAccuracyAtBestValidation)),
                                   finalTestAccuracy: MeanStd(rows.map(\.finalTestAccuracy)),
                                   maxLR: rows.first?.maxLR ?? .nan)
        }
        let summary = IterativePruningSummary(runs: config.runs, cycles: cycles, perRun: perRun)
        try dir.writeJSON(summary, to: "summary.json")
        if !options.quiet {
            for c in cycles {
                print(String(format: "cycle %d  %.2f%% remaining  test acc at best val %.2f%%%@", c.cycle, c.percentRemaining.mean,
                             100 * c.testAccuracyAtBestValidation.mean,
                             c.testAccuracyAtBestValidation.std.map { String(format: " ± %.2f", 100 * $0) } ?? ""))
            }
        }
        return summary
    }

    /// The state of one run between steps (what the checkpoint holds besides tensors).
    struct Position {
        var cycle = 0
        var iteration = 0
        var best = BestRecord()
        var seconds = 0.0
    }

    static func runOne(_ config: IterativePruningConfig, index r: Int, in run: RunDirectory, options: TrainingOptions) throws -> [CycleRecord] {
        var tc = config.training
        tc.seed = tc.seed &+ UInt64(r)
        func say(_ s: String) { if !options.quiet { print(s) }; try? run.log(s) }
        if try run.readJSON(TrainingConfig.self, from: "config.json") == nil { try run.writeJSON(tc, to: "config.json") }

        let data = try prepareData(tc)
        var modelRNG = Generator(seed: tc.seed)
        let model = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &modelRNG)
        if let path = tc.initFrom { try loadStateDict(model, from: path) }
        let params = model.namedParameters
        let prunable = config.selection.select(model)
        let allParameters = params.reduce(0) { $0 + $1.1.value.count }
        let shapes = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) })
        let loader = DataLoader(dataset: data.train, batchSize: tc.batchSize, shuffle: true, seed: tc.seed,
                                augmentation: tc.augment ? .cifar : .none, mean: data.mean, std: data.std,
                                prefetch: options.prefetch)
        let bpe = loader.batchesPerEpoch
        let total = tc.iterations ?? tc.epochs! * bpe
        if case .rewindTo(let k) = config.retrain, k >= total {
            throw TrainingError("--retrain rewind:\(k) must rewind to an iteration before the cycle's end (\(total))")
        }
        let schedule = config.makeCycleSchedule(totalIterations: total)
        let evalEvery = max(1, tc.evalEvery.iterations(perEpoch: bpe))
        let trainProbe = data.train.prefix(min(10_000, data.train.count))

        var mask = Mask.ones(for: prunable)
        var snapshot: WeightSnapshot? = nil
        var pos = Position()
        var optimizer = masked(makeOptimizer(tc), mask: mask)
        if run.fileExists(Trainer.checkpointName) {
            try restore(model: model, optimizer: &optimizer, mask: &mask, snapshot: &snapshot, position: &pos,
                        training: tc, from: run)
            try Trainer.truncateMetrics(in: run, after: pos.cycle * total + pos.iteration)
            say("resuming \(run.url.path) at cycle \(pos.cycle), iteration \(pos.iteration) of \(total)")
        } else {
            if config.retrain.snapshotIteration == 0 { snapshot = WeightSnapshot(model.stateDict) }
            say("iterative pruning of \(tc.model.rawValue) on \(tc.dataset.rawValue): \(config.cycles) pruning cycles at rate "
                + "\(config.rate), \(total) iterations per cycle → \(run.url.path)")
        }
        var records = try readRecords(run).filter { $0.cycle < pos.cycle }
        try writeRecords(records, to: run)

        func checkpoint() throws {
            try saveCheckpoint(model: model, optimizer: optimizer, mask: mask, snapshot: snapshot, position: pos, to: run)
        }

        while pos.cycle <= config.cycles {
            let m = pos.cycle
            var constantLR: Float? = nil
            if m > 0, case .fineTune(let lr) = config.retrain { constantLR = lr }
            func lr(_ t: Int) -> Float { constantLR ?? schedule.learningRate(iteration: t, cycle: m) }
            var t0 = monotonicSeconds()
            while pos.iteration < total {
                let epoch = pos.iteration / bpe
                for batch in loader.epoch(epoch, startingAt: pos.iteration % bpe) {
                    let at = pos.iteration
                    _ = try Trainer.step(model: model, optimizer: &optimizer, parameters: params, batch: batch,
                                         learningRate: lr(at)) { loss in
                        "the training loss became \(loss) at cycle \(m), iteration \(at); "
                            + "the last checkpoint in \(run.url.path) is intact. Try a smaller learning rate."
                    }
                    pos.iteration += 1
                    let now = monotonicSeconds()
                    pos.seconds += now - t0
                    t0 = now
                    if m == 0, snapshot == nil, let k = config.retrain.snapshotIteration, pos.iteration == k {
                        snapshot = WeightSnapshot(model.stateDict)
                    }
                    if pos.iteration % evalEvery == 0 || pos.iteration == total {
                        var row = Trainer.evaluationRow(model: model, data: data, trainProbe: trainProbe, lr: optimizer.learningRate)
                        row["cycle"] = Double(m)
                        if data.validation.count > 0, let v = row["val_acc"], v > pos.best.validationAccuracy {
                            pos.best = BestRecord(validationAccuracy: v, iteration: pos.iteration, testAccuracy: row["test_acc"] ?? .nan)
                        }
                        try run.appendMetrics(row, step: m * total + pos.iteration, epoch: Double(pos.iteration) / Double(bpe))
                        try checkpoint()
                        say(String(format: "cycle %d it %d  train acc %.2f%%  val acc %@  test acc %.2f%%  lr %.4g", m, pos.iteration,
                                   100 * row["train_acc"]!, row["val_acc"].map { String(format: "%.2f%%", 100 * $0) } ?? "–",
                                   100 * row["test_acc"]!, Double(optimizer.learningRate)))
                        t0 = monotonicSeconds()
                    }
                    if let stop = options.stopAfterIteration, pos.iteration >= stop, (options.stopAfterCycle ?? 0) == m {
                        throw TrainingInterrupted(iteration: pos.iteration)
                    }
                    if pos.iteration >= total { break }
                }
            }

            // End of cycle m: record.
            let finalTest = evaluate(model, on: data.test, mean: data.mean, std: data.std)
            let start = m == 0 ? 0 : (config.retrain.snapshotIteration.map { $0 } ?? 0)
            let maxLR: Double
            if config.schedule.kind == .scyc && constantLR == nil, let s = schedule as? SCycSchedule {
                maxLR = s.maxLR(cycle: m)
            } else {
                maxLR = (start..<max(start + 1, total)).reduce(0.0) { Swift.max($0, Double(lr($1))) }
            }
            let hasVal = data.validation.count > 0
            let record = CycleRecord(
                cycle: m, percentRemaining: 100 * mask.density, remaining: mask.remaining, total: mask.total,
                percentRemainingAllParameters: 100 * Double(allParameters - (mask.total - mask.remaining)) / Double(max(allParameters, 1)),
                bestValidationAccuracy: hasVal ? pos.best.validationAccuracy : nil,
                bestIteration: hasVal ? pos.best.iteration : nil,
                testAccuracyAtBestValidation: hasVal ? pos.best.testAccuracy : nil,
                finalTestAccuracy: finalTest.accuracy, maxLR: maxLR)
            records.append(record)
            try writeRecords(records, to: run)
            try run.writeJSON(SparsityReport(mask: mask, parameters: prunable), to: "sparsity/cycle_\(m).json")
            say(String(format: "cycle %d done: %.2f%% remaining, test acc at best val %@, final test acc %.2f%%, max_lr %.4g",
                       m, record.percentRemaining, Trainer.fmt(record.testAccuracyAtBestValidation), 100 * finalTest.accuracy, maxLR))

            // Prune and reset for the next cycle.
            var plan = RetrainPolicy.Plan(startIteration: 0)
            if m < config.cycles {
                let scores: [String: Tensor]
                switch config.criterion {
                case .magnitude:
                    scores = try MagnitudeScore().scores(model: model, parameters: prunable, mask: mask)
                case .gradient:
                    // Batches from the scoring loader: a stream of its own per cycle (seeded by run seed and m).
                    let scoreLoader = DataLoader(dataset: data.train, batchSize: tc.batchSize, shuffle: true,
                                                 seed: tc.seed ^ 0x5C0_4E00 &+ UInt64(m), mean: data.mean, std: data.std, prefetch: 0)
                    let batches = Array(scoreLoader.epoch(0).prefix(config.gradientBatches))
                    scores = try GradientScore(batches: batches).scores(model: model, parameters: prunable, mask: mask)
                }
                mask = prune(scores: scores, mask: mask, fraction: config.rate, allocation: config.allocation, shapes: shapes)
                let inputShape = data.train.imageShape, classes = data.train.classes, model0 = tc.model
                let policy: RetrainPolicy
                if case .reinit(let s) = config.retrain { policy = .reinit(seed: s &+ tc.seed &+ UInt64(m)) } else { policy = config.retrain }
                plan = policy.prepare(parameters: model.stateDict, mask: mask, snapshot: snapshot, reinitialized: { seed in
                    var g = Generator(seed: seed)
                    return (try? makeModel(model0, inputShape: inputShape, classes: classes, generator: &g))?.namedParameters ?? []
                })
                mask.apply(to: prunable)
            }
            pos.cycle = m + 1
            pos.iteration = plan.startIteration
            pos.best = BestRecord()
            optimizer = masked(makeOptimizer(tc), mask: mask)
            try checkpoint()
            if options.stopAfterIteration == nil, let stop = options.stopAfterCycle, stop == m {
                throw TrainingInterrupted(iteration: total)
            }
        }

        try saveStateDict(model, to: run.path("model.safetensors"), metadata: ["format": "pt"])
        try SafetensorsFile.write(path: run.path("mask.safetensors"), tensors: mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt"])
        return records
    }

    // MARK: records

    static let recordsFile = "cycles.jsonl"

    static func readRecords(_ run: RunDirectory) throws -> [CycleRecord] {
        guard let text = try? String(contentsOfFile: run.path(recordsFile), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(CycleRecord.self, from: Data($0.utf8)) }
    }

    static func writeRecords(_ records: [CycleRecord], to run: RunDirectory) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let lines = try records.map { String(decoding: try e.encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: run.path(recordsFile), atomically: true, encoding: .utf8)
    }

    /// Reads the final mask of a finished run directory (`run_<r>/mask.safetensors`).
    public static func finalMask(in run: RunDirectory) throws -> [String: Tensor] {
        try SafetensorsFile.read(path: run.path("mask.safetensors")).tensors
    }

    // MARK: checkpoints

    static let rewindPrefix = "rewind/"

    static func saveCheckpoint(model: any Layer, optimizer: any Optimizer, mask: Mask, snapshot: WeightSnapshot?,
                               position p: Position, to run: RunDirectory) throws {
        var (tensors, dtypes) = Trainer.checkpointTensors(model: model, optimizer: optimizer)
        for (key, t) in mask.checkpointEntries { tensors[key] = t.contiguous() }
        if let snapshot {
            for (name, t) in snapshot.entries {
                tensors[rewindPrefix + name] = t.contiguous()
                if name.hasSuffix("num_batches_tracked") { dtypes[rewindPrefix + name] = .I64 }
            }
        }
        let metadata: [String: String] = [
            "format": "pt",
            "cycle": String(p.cycle),
            "iteration": String(p.iteration),
            "best_validation_accuracy": String(p.best.validationAccuracy),
            "best_iteration": String(p.best.iteration),
            "test_accuracy_at_best_validation": String(p.best.testAccuracy),
            "training_seconds": String(p.seconds),
            "has_rewind": snapshot == nil ? "0" : "1",
        ]
        try SafetensorsFile.write(path: run.checkpointPath, tensors: tensors, dtypes: dtypes, metadata: metadata)
    }

    static func restore(model: any Layer, optimizer: inout any Optimizer, mask: inout Mask, snapshot: inout WeightSnapshot?,
                        position p: inout Position, training: TrainingConfig, from run: RunDirectory) throws {
        let file = try SafetensorsFile.read(path: run.checkpointPath)
        try Trainer.restoreModelState(model, from: file, path: run.checkpointPath)
        let restoredMask = try Mask(checkpointEntries: file.tensors)
        guard Set(restoredMask.names) == Set(mask.names) else {
            throw TrainingError("checkpoint \(run.checkpointPath): its mask covers \(restoredMask.names), the run prunes \(mask.names)")
        }
        try restoredMask.validate(against: model.namedParameters)
        mask = restoredMask
        func meta(_ k: String) throws -> String {
            guard let v = file.metadata[k] else { throw TrainingError("checkpoint \(run.checkpointPath) lacks the metadata entry '\(k)'") }
            return v
        }
        if try meta("has_rewind") == "1" {
            snapshot = WeightSnapshot(entries: model.stateDict.compactMap { name, _ in
                file.tensors[rewindPrefix + name].map { (name, $0) }
            })
        } else {
            snapshot = nil
        }
        optimizer = masked(makeOptimizer(training), mask: mask)
        var optState: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optimizer/") { optState[String(k.dropFirst("optimizer/".count))] = t }
        try optimizer.loadState(optState)
        guard let cycle = Int(try meta("cycle")), let iteration = Int(try meta("iteration")) else {
            throw TrainingError("checkpoint \(run.checkpointPath): bad cycle or iteration")
        }
        p.cycle = cycle
        p.iteration = iteration
        p.best = BestRecord(validationAccuracy: Double(try meta("best_validation_accuracy")) ?? -.infinity,
                            iteration: Int(try meta("best_iteration")) ?? 0,
                            testAccuracy: Double(try meta("test_accuracy_at_best_validation")) ?? .nan)
        p.seconds = Double(try meta("training_seconds")) ?? 0
    }
}
