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
        if case .finished(let done) = try dir.open(config: config, summaryFile: "summary.json", summary: IterativePruningSummary.self) {
            return done
        }
        var perRun: [[CycleRecord]] = []
        let overall = OverallProgress(total: 0)
        for r in 0..<config.runs {
            perRun.append(try runOne(config, index: r, in: try RunDirectory(path: dir.path("run_\(r)")), options: options, overall: overall))
        }
        let summary = summarize(config, perRun)
        try dir.writeJSON(summary, to: "summary.json")
        let say = sayer(dir, options)
        for c in summary.cycles {
            say(String(format: "cycle %d  %.2f%% remaining  test acc at best val %.2f%%%@ (%@ split)", c.cycle, c.percentRemaining.mean,
                       100 * c.testAccuracyAtBestValidation.mean, c.testAccuracyAtBestValidation.std.map { String(format: " ± %.2f", 100 * $0) } ?? "",
                       config.training.split.rawValue))
        }
        return summary
    }

    /// Mean ± std over the runs, per cycle.
    static func summarize(_ config: IterativePruningConfig, _ perRun: [[CycleRecord]]) -> IterativePruningSummary {
        let cycles = (0...config.cycles).map { m -> CycleStatistics in
            let rows = perRun.compactMap { $0.first { $0.cycle == m } }
            return CycleStatistics(cycle: m, percentRemaining: MeanStd(rows.map(\.percentRemaining)),
                                   testAccuracyAtBestValidation: MeanStd(rows.compactMap(\.testAccuracyAtBestValidation)),
                                   finalTestAccuracy: MeanStd(rows.map(\.finalTestAccuracy)),
                                   maxLR: rows.first?.maxLR ?? .nan)
        }
        return IterativePruningSummary(runs: config.runs, cycles: cycles, perRun: perRun)
    }

    /// The state of one run between cycles, besides the weights: the cycle, the mask and the rewind snapshot.
    struct RunState {
        var cycle = 0
        var mask: Mask
        var snapshot: WeightSnapshot?
        var loop: LoopState
        /// The test accuracy this process evaluated at the end of the current cycle's training (not checkpointed).
        var finalTest: Double? = nil
    }

    /// Algorithm 1 for run r: for m = 0 … L: train; record; if m < L, prune and reset.
    static func runOne(_ config: IterativePruningConfig, index r: Int, in run: RunDirectory, options: TrainingOptions,
                       overall: OverallProgress? = nil) throws -> [CycleRecord] {
        var env = try CycleEnvironment(config, index: r, run: run, options: options)
        overall?.total = config.runs * env.iterationsPerRun
        env.overall = overall
        var s = try start(env, options: options)
        var records = try readRecords(run).filter { $0.cycle < s.cycle }
        try writeRecords(records, to: run)
        while s.cycle <= config.cycles {
            let m = s.cycle
            let maxLR = m == 0 && config.skipFirstTraining ? try evaluateTrained(env, &s) : try train(env, &s, options: options)   // train
            records.append(try record(env, s, maxLR: maxLR))                                   // record
            try writeRecords(records, to: run)
            let next = m < config.cycles ? try env.pruneAndReset(mask: &s.mask, snapshot: s.snapshot, cycle: m) : 0   // prune, reset
            s.cycle = m + 1
            var position = LoopPosition(iteration: next)
            position.seconds = s.loop.position.seconds
            s.loop = LoopState(position: position, optimizer: masked(makeOptimizer(env.training), mask: s.mask))
            try saveCheckpoint(env, s)
            try options.interruptAtEnd(ofStage: m)
        }
        try saveStateDict(env.model, to: run.path("model.safetensors"), metadata: modelMetadata(env.data))
        try SafetensorsFile.write(path: run.path("mask.safetensors"), tensors: s.mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt"])
        return records
    }

    /// A fresh run (dense mask, the rewind snapshot at iteration 0 when the policy rewinds there) or the checkpoint's.
    static func start(_ env: CycleEnvironment, options: TrainingOptions) throws -> RunState {
        let c = env.config, run = env.run
        var s = RunState(mask: Mask.ones(for: env.prunable), snapshot: nil,
                         loop: LoopState(optimizer: masked(makeOptimizer(env.training), mask: Mask.ones(for: env.prunable))))
        if run.fileExists(Checkpoint.fileName) {
            let saved = try Checkpoint.load(run.checkpointPath, into: env.model)
            s.cycle = try saved.int("cycle")
            s.mask = try saved.mask(like: s.mask, model: env.model)
            s.snapshot = try saved.snapshot(prefix: rewindPrefix, model: env.model)
            s.loop = LoopState(position: saved.position, optimizer: masked(makeOptimizer(env.training), mask: s.mask))
            try saved.restore(&s.loop.optimizer)
            env.say("resuming \(run.url.path) at cycle \(s.cycle), iteration \(s.loop.iteration) of \(env.total)")
        } else {
            if c.retrain.snapshotIteration == 0 { s.snapshot = WeightSnapshot(env.model.stateDict) }
            env.say("iterative pruning of \(env.training.model.rawValue) on \(env.training.dataset.rawValue) (\(env.training.split.rawValue) split): "
                    + "\(c.cycles) pruning cycles at rate \(c.rate) by \(c.criterion), \(env.total) iterations per cycle → \(run.url.path)")
        }
        try Checkpoint.truncateMetrics(in: run, after: s.cycle * env.total + s.loop.iteration)
        return s
    }

    /// Cycle m's training with its rate (the schedule restarted at 0, or fine-tuning's constant rate after cycle 0);
    /// the rewind snapshot is taken at iteration K of cycle 0. Returns the cycle's max_lr.
    static func train(_ env: CycleEnvironment, _ s: inout RunState, options: TrainingOptions) throws -> Double {
        let c = env.config, m = s.cycle, total = env.total
        let schedule = try env.setup.schedule(pruningRate: c.rate)
        var constantLR: Float? = nil
        if m > 0, case .fineTune(let lr) = c.retrain { constantLR = lr }
        let lr: (Int) -> Float = { t in constantLR ?? schedule.learningRate(iteration: t, cycle: m) }
        let model = env.model
        var snapshot = s.snapshot
        let rewindCapture = ClosureHook(after: { _, st, _ in
            if m == 0, snapshot == nil, let k = c.retrain.snapshotIteration, st.iteration == k { snapshot = WeightSnapshot(model.stateDict) }
        })
        let mask = s.mask, cycle = s.cycle
        env.overall?.enter(before: env.iterationsBefore(cycle: m), startingAt: env.cycleStart(m))
        s.finalTest = try env.trainCycle(m, state: &s.loop, learningRate: lr, afterEvaluation: { st in
            try saveCheckpoint(env, RunState(cycle: cycle, mask: mask, snapshot: snapshot, loop: st))
        }, before: [rewindCapture], after: options.interruptHooks(stage: m))
        s.snapshot = snapshot
        if let sc = schedule as? SCycSchedule, constantLR == nil { return sc.maxLR(cycle: m) }
        let start = m == 0 ? 0 : (c.retrain.snapshotIteration ?? 0)
        return (start..<max(start + 1, total)).reduce(0.0) { Swift.max($0, Double(lr($1))) }
    }

    /// Cycle 0 of a run that starts from a trained model: one evaluation row fills the early-stop record.
    static func evaluateTrained(_ env: CycleEnvironment, _ s: inout RunState) throws -> Double {
        let row = evaluationRow(model: env.model, data: env.data, trainProbe: env.data.trainProbe, lr: 0)
        if let v = row["val_acc"] { s.loop.position.best = BestRecord(validationAccuracy: v, iteration: 0, testAccuracy: row["test_acc"] ?? .nan) }
        try env.run.appendMetrics(row.merging(["cycle": 0]) { a, _ in a }, step: 0, epoch: 0)
        env.say(String(format: "cycle 0: the --init model as trained: val acc %@, test acc %.2f%%", percent(row["val_acc"]), 100 * row["test_acc"]!))
        return 0
    }

    /// Cycle m's record, its sparsity report and (with `--distributions`) the Fig. 1 probes.
    static func record(_ env: CycleEnvironment, _ s: RunState, maxLR: Double) throws -> CycleRecord {
        let m = s.cycle
        let record = env.cycleRecord(cycle: m, mask: s.mask, best: s.loop.position.best, maxLR: maxLR, finalTest: s.finalTest)
        try env.run.writeJSON(SparsityReport(mask: s.mask, parameters: env.prunable), to: "sparsity/cycle_\(m).json")
        try FileManager.default.createDirectory(atPath: env.run.path("cycle_\(m)"), withIntermediateDirectories: true)
        try saveStateDict(env.model, to: env.run.path("cycle_\(m)/model.safetensors"), metadata: modelMetadata(env.data))
        try SafetensorsFile.write(path: env.run.path("cycle_\(m)/mask.safetensors"), tensors: s.mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt", "cycle": String(m)])
        if let probe = env.config.distributions {
            try recordDistributions(env, options: probe, model: env.model, mask: s.mask, cycle: m, seed: env.training.seed)
        }
        env.say(String(format: "cycle %d done: %.2f%% remaining, test acc at best val %@, final test acc %.2f%%, max_lr %.4g",
                       m, record.percentRemaining, percent(record.testAccuracyAtBestValidation), 100 * record.finalTestAccuracy, maxLR))
        return record
    }

    // MARK: records

    static let recordsFile = "cycles.jsonl"

    static func readRecords(_ run: RunDirectory) throws -> [CycleRecord] {
        try JSONLines.read(CycleRecord.self, from: run.path(recordsFile))
    }

    static func writeRecords(_ records: [CycleRecord], to run: RunDirectory) throws {
        try JSONLines.write(records, to: run.path(recordsFile))
    }

    /// Reads the final mask of a finished run directory (`run_<r>/mask.safetensors`).
    public static func finalMask(in run: RunDirectory) throws -> [String: Tensor] {
        try SafetensorsFile.read(path: run.path("mask.safetensors")).tensors
    }

    // MARK: checkpoints

    static let rewindPrefix = "rewind/"

    /// The run's state: weights, optimizer, loop position, `mask/<name>`, `rewind/<name>` and the cycle.
    static func saveCheckpoint(_ env: CycleEnvironment, _ s: RunState) throws {
        var extra = ProtocolState(fields: ["cycle": String(s.cycle)])
        extra.add(s.mask)
        extra.add(s.snapshot, prefix: rewindPrefix)
        try Checkpoint.save(to: env.run.checkpointPath, model: env.model, optimizer: s.loop.optimizer, position: s.loop.position, state: extra)
    }
}
