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
        let env = try CycleEnvironment(config, index: r, run: run, options: options)
        let tc = env.training, model = env.model, prunable = env.prunable, total = env.total, say = env.say
        let schedule = config.makeCycleSchedule(totalIterations: total)

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
            try trainCycle(env, model: model, optimizer: &optimizer, cycle: m, position: &pos, learningRate: lr,
                           afterStep: { p in
                               if m == 0, snapshot == nil, let k = config.retrain.snapshotIteration, p.iteration == k {
                                   snapshot = WeightSnapshot(model.stateDict)
                               }
                           },
                           afterEvaluation: { p, o in
                               try saveCheckpoint(model: model, optimizer: o, mask: mask, snapshot: snapshot, position: p, to: run)
                           },
                           endOfIteration: { p in
                               if let stop = options.stopAfterIteration, p.iteration >= stop, (options.stopAfterCycle ?? 0) == m {
                                   throw TrainingInterrupted(iteration: p.iteration)
                               }
                           })

            // End of cycle m: record.
            let start = m == 0 ? 0 : (config.retrain.snapshotIteration.map { $0 } ?? 0)
            let maxLR: Double
            if config.schedule.kind == .scyc && constantLR == nil, let s = schedule as? SCycSchedule {
                maxLR = s.maxLR(cycle: m)
            } else {
                maxLR = (start..<max(start + 1, total)).reduce(0.0) { Swift.max($0, Double(lr($1))) }
            }
            let record = cycleRecord(env, model: model, cycle: m, mask: mask, best: pos.best, maxLR: maxLR)
            records.append(record)
            try writeRecords(records, to: run)
            try run.writeJSON(SparsityReport(mask: mask, parameters: prunable), to: "sparsity/cycle_\(m).json")
            if let probe = config.distributions {
                try recordDistributions(env, options: probe, model: model, mask: mask, cycle: m, seed: tc.seed)
            }
            say(String(format: "cycle %d done: %.2f%% remaining, test acc at best val %@, final test acc %.2f%%, max_lr %.4g",
                       m, record.percentRemaining, Trainer.fmt(record.testAccuracyAtBestValidation), 100 * record.finalTestAccuracy, maxLR))

            // Prune and reset for the next cycle.
            var startIteration = 0
            if m < config.cycles {
                startIteration = try pruneAndReset(config, env, model: model, mask: &mask, snapshot: snapshot, cycle: m)
            }
            pos.cycle = m + 1
            pos.iteration = startIteration
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

    /// The tensors of a pruning run's state: the model's state_dict, `optimizer/…` (when given), `mask/<name>` and
    /// `rewind/<name>` (when there is a snapshot).
    static func stateTensors(model: any Layer, optimizer: (any Optimizer)?, mask: Mask, snapshot: WeightSnapshot?)
        -> ([String: Tensor], [String: SafetensorsDType]) {
        var (tensors, dtypes) = Trainer.checkpointTensors(model: model, optimizer: optimizer)
        for (key, t) in mask.checkpointEntries { tensors[key] = t.contiguous() }
        if let snapshot {
            for (name, t) in snapshot.entries {
                tensors[rewindPrefix + name] = t.contiguous()
                if name.hasSuffix("num_batches_tracked") { dtypes[rewindPrefix + name] = .I64 }
            }
        }
        return (tensors, dtypes)
    }

    /// Restores what `stateTensors` wrote (but the optimizer): the model's state, the mask (it must cover the same
    /// tensors as `mask` and fit the model) and the rewind snapshot when `hasRewind`.
    static func restoreState(model: any Layer, mask: inout Mask, snapshot: inout WeightSnapshot?, hasRewind: Bool,
                             from file: SafetensorsFile, path: String) throws {
        try Trainer.restoreModelState(model, from: file, path: path)
        let restoredMask = try Mask(checkpointEntries: file.tensors)
        guard Set(restoredMask.names) == Set(mask.names) else {
            throw TrainingError("checkpoint \(path): its mask covers \(restoredMask.names), the run prunes \(mask.names)")
        }
        try restoredMask.validate(against: model.namedParameters)
        mask = restoredMask
        snapshot = hasRewind ? WeightSnapshot(entries: model.stateDict.compactMap { name, _ in
            file.tensors[rewindPrefix + name].map { (name, $0) }
        }) : nil
    }

    static func saveCheckpoint(model: any Layer, optimizer: any Optimizer, mask: Mask, snapshot: WeightSnapshot?,
                               position p: Position, to run: RunDirectory) throws {
        let (tensors, dtypes) = stateTensors(model: model, optimizer: optimizer, mask: mask, snapshot: snapshot)
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
        func meta(_ k: String) throws -> String {
            guard let v = file.metadata[k] else { throw TrainingError("checkpoint \(run.checkpointPath) lacks the metadata entry '\(k)'") }
            return v
        }
        try restoreState(model: model, mask: &mask, snapshot: &snapshot, hasRewind: try meta("has_rewind") == "1",
                         from: file, path: run.checkpointPath)
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
