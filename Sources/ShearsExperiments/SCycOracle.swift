import Foundation
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// The S-Cyc paper's oracle (spec §2.5, Table 3 and App. Tables 7–8): a greedy per-cycle grid search of the warmup
/// peak max_lr. At every cycle m, for every max_lr of the grid, train the cycle from the same starting point (the
/// pruned and reset weights, a fresh optimizer, the warmup schedule with that peak) and record the best validation
/// accuracy. The **well-tuned max_lr** is the argmax (the first of the grid on ties), the **feasible region** the grid
/// values within `tolerance` (absolute: 0.005 = 0.5 percentage points) of the best validation accuracy. The network
/// trained with the well-tuned max_lr is the one pruned for cycle m + 1 (greedy). Each cycle's S-Cyc max_lr (Eq. 2
/// with the config's l_min, l_amp, q, β and rate) is reported beside it.
public struct OracleConfig: Codable, Equatable, Sendable {
    /// The protocol: model, data, training per cycle, pruning, retrain policy; `schedule` gives the warmup shape
    /// (ramp b, drops c, d, e) and S-Cyc's (l_min, l_amp, q, β). `runs` must be 1 (the oracle is one greedy path).
    public var pruning: IterativePruningConfig
    /// The max_lr values tried at every cycle (positive, increasing).
    public var grid: [Double]
    /// Feasible: best validation accuracy − tolerance ≤ validation accuracy (accuracy as a fraction).
    public var tolerance: Double = 0.005

    public init(pruning: IterativePruningConfig, grid: [Double], tolerance: Double = 0.005) {
        self.pruning = pruning; self.grid = grid; self.tolerance = tolerance
    }

    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try pruning.validate()
        if grid.isEmpty { try fail("--grid needs at least one max_lr") }
        if grid.contains(where: { !($0 > 0) || !$0.isFinite }) { try fail("--grid values must be positive, got \(grid)") }
        if zip(grid, grid.dropFirst()).contains(where: { $0 >= $1 }) { try fail("--grid must be strictly increasing, got \(grid)") }
        if !(tolerance >= 0 && tolerance < 1) { try fail("--tolerance must be in [0, 1) (a fraction of accuracy), got \(tolerance)") }
        if pruning.runs != 1 { try fail("the oracle is one greedy path: --runs must be 1, got \(pruning.runs)") }
        if pruning.training.split == .official && pruning.training.validation == 0 {
            try fail("the oracle chooses max_lr by validation accuracy: use the pooled split or --validation > 0")
        }
        switch pruning.retrain {
        case .lrRewind, .rewindToInit, .reinit: break
        case .rewindTo, .fineTune:
            try fail("the oracle supports --retrain lr-rewind, rewind-init and reinit (rewind:K would need a snapshot from "
                     + "one trial of cycle 0, fine-tune has no schedule to tune)")
        }
    }

    /// S-Cyc's max_lr for cycle m from the pruning config's schedule parameters (Eq. 2; the `scyc` parameters of
    /// the schedule, their defaults when it is another one).
    public func sCycMaxLR(cycle m: Int) throws -> Double {
        var spec = pruning.training.schedule
        spec.name = SCycSchedule.scheduleName
        spec.parameters = spec.parameters.filter { k, _ in SCycSchedule.parameterHelp.contains { $0.key == k } }
        let s = try SCycSchedule.make(spec, ScheduleContext(baseLR: pruning.training.lr, iterationsPerEpoch: 1, totalIterations: 1,
                                                            pruningRate: pruning.rate))
        return s.maxLR(cycle: m)
    }

    /// The warmup of one trial: the schedule's ramp and drops with peak `peak` (in iterations of `context`).
    func trialSchedule(peak: Double, _ context: ScheduleContext) throws -> any LRSchedule {
        let p = pruning.training.schedule.parameters
        var spec = ScheduleSpec(WarmupLR.scheduleName, ["peak": .number(peak)])
        spec.parameters["warmup"] = p["warmup"]
        spec.parameters["drops"] = p["drops"]
        return try ScheduleRegistry.make(spec, context)
    }
}

/// One (cycle, max_lr) training of the grid.
/// A trial whose loss diverged (NaN or infinite) counts as a failed training: accuracies 0, `diverged` true.
public struct OracleTrial: Codable, Equatable, Sendable {
    public var cycle: Int
    public var percentRemaining: Double
    public var percentRemainingAllParameters: Double
    public var maxLR: Double
    public var bestValidationAccuracy: Double
    public var testAccuracyAtBestValidation: Double
    public var finalTestAccuracy: Double
    public var diverged: Bool

    public init(cycle: Int, percentRemaining: Double, percentRemainingAllParameters: Double, maxLR: Double,
                bestValidationAccuracy: Double, testAccuracyAtBestValidation: Double, finalTestAccuracy: Double, diverged: Bool) {
        self.cycle = cycle; self.percentRemaining = percentRemaining
        self.percentRemainingAllParameters = percentRemainingAllParameters; self.maxLR = maxLR
        self.bestValidationAccuracy = bestValidationAccuracy; self.testAccuracyAtBestValidation = testAccuracyAtBestValidation
        self.finalTestAccuracy = finalTestAccuracy; self.diverged = diverged
    }

    enum CodingKeys: String, CodingKey {
        case cycle, diverged
        case percentRemaining = "percent_remaining"
        case percentRemainingAllParameters = "percent_remaining_all_parameters"
        case maxLR = "max_lr"
        case bestValidationAccuracy = "best_validation_accuracy"
        case testAccuracyAtBestValidation = "test_accuracy_at_best_validation"
        case finalTestAccuracy = "final_test_accuracy"
    }
}

/// One column of Table 3.
public struct OracleCycle: Codable, Equatable, Sendable {
    public var cycle: Int
    public var percentRemaining: Double
    public var percentRemainingAllParameters: Double
    public var wellTunedMaxLR: Double
    public var bestValidationAccuracy: Double
    public var testAccuracyAtBestValidation: Double
    /// Every grid value within the tolerance, and their [min, max] (the printed region; it may have holes).
    public var feasible: [Double]
    public var feasibleRegion: [Double]
    public var sCycMaxLR: Double
    public var sCycInsideRegion: Bool

    enum CodingKeys: String, CodingKey {
        case cycle, feasible
        case percentRemaining = "percent_remaining"
        case percentRemainingAllParameters = "percent_remaining_all_parameters"
        case wellTunedMaxLR = "well_tuned_max_lr"
        case bestValidationAccuracy = "best_validation_accuracy"
        case testAccuracyAtBestValidation = "test_accuracy_at_best_validation"
        case feasibleRegion = "feasible_region"
        case sCycMaxLR = "scyc_max_lr"
        case sCycInsideRegion = "scyc_inside_region"
    }

    /// The well-tuned max_lr and feasible region of one cycle's trials (grid order; ties go to the first).
    public static func choose(cycle m: Int, trials: [OracleTrial], tolerance: Double) -> (best: OracleTrial, feasible: [Double]) {
        precondition(!trials.isEmpty, "OracleCycle.choose: no trials for cycle \(m)")
        var best = trials[0]
        for t in trials.dropFirst() where t.bestValidationAccuracy > best.bestValidationAccuracy { best = t }
        let feasible = trials.filter { $0.bestValidationAccuracy >= best.bestValidationAccuracy - tolerance }.map(\.maxLR)
        return (best, feasible)
    }
}

/// `oracle.json`.
public struct OracleSummary: Codable, Equatable, Sendable {
    public var cycles: [OracleCycle]
    public var trials: [OracleTrial]
}

/// Runs the trials of cycle `cycle` for the grid values `peaks` somewhere else (worker processes, a Slurm array), each
/// through `SCycOracle.runTrial`, and returns when all have ended.
public typealias OracleTrialRunner = (_ cycle: Int, _ peaks: [Double]) throws -> Void

public enum SCycOracle {
    static let trialsFile = "trials.jsonl", cycleStartFile = "cycle_start.safetensors", bestTrialFile = "best_trial.safetensors"

    /// Runs the oracle in `dir` (resumable: re-running the same command continues after the last finished trial; a
    /// trial cut short is retrained from the start of its cycle). Writes `trials.jsonl`, per trial
    /// `trials/cycle_<m>/max_lr_<v>/metrics.*`, and at the end `oracle.json`, `oracle.md` (Table 3's layout) and
    /// `oracle.svg` (max_lr vs % remaining: well-tuned, the feasible region's bounds and S-Cyc's Eq. 2).
    ///
    /// `trials`: where the trials of a cycle run — here, one after another (nil), or elsewhere (`--jobs`, `--slurm`):
    /// the runner is handed the cycle and its missing grid values, and each trial it runs (`runTrial`) leaves
    /// `trial.json` and `model.safetensors` in its directory, gathered here in grid order.
    public static func run(_ config: OracleConfig, in dir: RunDirectory, options: TrainingOptions = TrainingOptions(),
                           trials runner: OracleTrialRunner? = nil) throws -> OracleSummary {
        try config.validate()
        Threads.set(options.threads)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "oracle.json", summary: OracleSummary.self) { return done }

        let pc = config.pruning
        var env = try CycleEnvironment(pc, index: 0, run: dir, options: options, configFile: "training_config.json")
        env.overall = OverallProgress(total: (pc.cycles + 1) * config.grid.count * env.total)
        var (m, mask, snapshot) = try startOrResume(env, in: dir)
        var trials = try readTrials(dir)
        var cycles: [OracleCycle] = []
        for done in 0..<m { cycles.append(try column(config, cycle: done, trials: trials, dir: dir)) }
        while m <= pc.cycles {
            let missing = config.grid.filter { peak in !trials.contains(where: { $0.cycle == m && $0.maxLR == peak }) }
            if let runner, !missing.isEmpty {
                try runner(m, missing)
                for peak in missing { trials.append(try gatherTrial(env, cycle: m, peak: peak, previous: trials, in: dir)) }
            } else {
                let start = WeightSnapshot(env.model.stateDict)                               // the cycle's starting point
                for peak in missing {
                    start.restore(into: env.model.stateDict)
                    env.overall?.enter(before: (m * config.grid.count + config.grid.firstIndex(of: peak)!) * env.total)
                    trials.append(try trial(config, env, cycle: m, peak: peak, mask: mask, previous: trials, in: dir))
                }
            }
            let col = try column(config, cycle: m, trials: trials, dir: dir)
            cycles.append(col)
            env.say(String(format: "oracle cycle %d: well-tuned max_lr %.4g, feasible [%.4g, %.4g], S-Cyc %.4g%@", m, col.wellTunedMaxLR,
                           col.feasibleRegion[0], col.feasibleRegion[1], col.sCycMaxLR, col.sCycInsideRegion ? " (inside)" : " (outside)"))
            if m < pc.cycles {
                // Continue from the well-tuned trial's network (greedy), prune it and reset for cycle m + 1.
                let best = try SafetensorsFile.read(path: dir.path(bestTrialFile))
                guard best.metadata["cycle"] == String(m) else {
                    throw TrainingError("\(dir.path(bestTrialFile)) belongs to cycle \(best.metadata["cycle"] ?? "?"), expected \(m); delete the oracle directory and rerun")
                }
                try Checkpoint.restoreModelState(env.model, from: best, path: dir.path(bestTrialFile))
                _ = try env.pruneAndReset(mask: &mask, snapshot: snapshot, cycle: m)
                try saveCycleStart(env, mask: mask, snapshot: snapshot, cycle: m + 1, to: dir)
                try options.interruptAtEnd(ofStage: m)
            }
            m += 1
        }
        let summary = OracleSummary(cycles: cycles, trials: trials)
        try dir.writeJSON(summary, to: "oracle.json")   // oracle.md and oracle.svg: `OracleTables` (ShearsReport), from the CLI
        return summary
    }

    /// The oracle's starting point: cycle 0's dense network (with its rewind snapshot), or the saved start of the
    /// cycle it was in.
    static func startOrResume(_ env: CycleEnvironment, in dir: RunDirectory) throws -> (Int, Mask, WeightSnapshot?) {
        let pc = env.config
        if dir.fileExists(cycleStartFile) {
            let saved = try Checkpoint.load(dir.path(cycleStartFile), into: env.model)
            let m = try saved.int("cycle")
            env.say("resuming the oracle in \(dir.url.path) at cycle \(m)")
            return (m, try saved.mask(like: Mask.ones(for: env.prunable), model: env.model),
                    try saved.snapshot(prefix: IterativePruning.rewindPrefix, model: env.model))
        }
        let mask = Mask.ones(for: env.prunable)
        let snapshot: WeightSnapshot? = pc.retrain.snapshotIteration == 0 ? WeightSnapshot(env.model.stateDict) : nil
        try saveCycleStart(env, mask: mask, snapshot: snapshot, cycle: 0, to: dir)
        env.say("max_lr oracle for \(env.training.model.rawValue) on \(env.training.dataset.rawValue) (\(env.training.split.rawValue) split): "
                + "\(pc.cycles) pruning cycles at rate \(pc.rate), \(env.total) iterations per cycle → \(dir.url.path)")
        return (0, mask, snapshot)
    }

    /// One (cycle, max_lr) training from the cycle's start in its own directory; a diverged loss is a failed trial.
    /// Keeps the weights of the best trial so far of the cycle (the network the next cycle prunes).
    static func trial(_ config: OracleConfig, _ env: CycleEnvironment, cycle m: Int, peak: Double, mask: Mask,
                      previous: [OracleTrial], in dir: RunDirectory) throws -> OracleTrial {
        let trialPath = trialDirectory(dir, cycle: m, peak: peak)
        try? FileManager.default.removeItem(atPath: trialPath)   // a trial cut short starts over
        let trial = try trainTrial(config, env, cycle: m, peak: peak, mask: mask, in: try RunDirectory(path: trialPath))
        try keep(trial, env: env, previous: previous, in: dir) { try saveStateDict(env.model, to: $0, metadata: $1) }
        return trial
    }

    static func trialDirectory(_ dir: RunDirectory, cycle m: Int, peak: Double) -> String { dir.path("trials/cycle_\(m)/max_lr_\(peak)") }

    /// The oracle's record of a finished trial: `trials.jsonl`, and its weights as `best_trial.safetensors` when it is
    /// the cycle's best so far (`save(path, metadata)` writes them).
    static func keep(_ trial: OracleTrial, env: CycleEnvironment, previous: [OracleTrial], in dir: RunDirectory,
                     save: (String, [String: String]) throws -> Void) throws {
        let m = trial.cycle
        let previousBest = previous.filter { $0.cycle == m }.map(\.bestValidationAccuracy).max() ?? -.infinity
        if !trial.diverged, trial.bestValidationAccuracy > previousBest {
            try save(dir.path(bestTrialFile), ["format": "pt", "cycle": String(m), "max_lr": String(trial.maxLR)])
        }
        try JSONLines.append(trial, to: dir.path(trialsFile))
        env.say(String(format: "oracle cycle %d (%.2f%% remaining) max_lr %.4g: best val acc %.2f%%, test acc at best val %.2f%%",
                       m, trial.percentRemaining, trial.maxLR, 100 * trial.bestValidationAccuracy, 100 * trial.testAccuracyAtBestValidation))
    }

    /// A trial another process ran (`runTrial`), read from its directory and kept as `trial` keeps its own.
    static func gatherTrial(_ env: CycleEnvironment, cycle m: Int, peak: Double, previous: [OracleTrial], in dir: RunDirectory) throws -> OracleTrial {
        let trialDir = try RunDirectory(path: trialDirectory(dir, cycle: m, peak: peak))
        guard let trial = try trialDir.readJSON(OracleTrial.self, from: trialRecordFile) else {
            throw TrainingError("the oracle's trial of cycle \(m), max_lr \(peak) did not finish: no \(trialDir.path(trialRecordFile)) "
                + "(its log is in \(dir.path("trials/cycle_\(m)/pool/logs"))); run the same command again to retry it")
        }
        try keep(trial, env: env, previous: previous, in: dir) { path, metadata in
            let weights = try SafetensorsFile.read(path: trialDir.path("model.safetensors"))
            try SafetensorsFile.write(path: path, tensors: weights.tensors, dtypes: [:], metadata: metadata)
        }
        return trial
    }

    static let trialRecordFile = "trial.json"

    /// Runs one trial of the oracle in `dir` on its own — the work of one `--jobs` worker or Slurm array task
    /// (`shears prune oracle-trial`): the cycle's saved start (weights, mask), the trial's training in
    /// `trials/cycle_<m>/max_lr_<v>/` (emptied first but for its lock: a trial cut short starts over), and there
    /// `trial.json` and the trained `model.safetensors`. It writes nothing else of the oracle's directory.
    public static func runTrial(_ config: OracleConfig, in dir: RunDirectory, cycle m: Int, peak: Double,
                                options: TrainingOptions = TrainingOptions()) throws -> OracleTrial {
        try config.validate()
        guard config.grid.contains(peak) else { throw TrainingError("max_lr \(peak) is not on the oracle's grid \(config.grid)") }
        Threads.set(options.threads)
        let trialPath = trialDirectory(dir, cycle: m, peak: peak), fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: trialPath)) ?? [] where name != ".lock" {
            try fm.removeItem(atPath: (trialPath as NSString).appendingPathComponent(name))
        }
        let trialDir = try RunDirectory(path: trialPath)
        // The trial's own directory for its log and config: the oracle's directory is its parent's to write.
        let env = try CycleEnvironment(config.pruning, index: 0, run: trialDir, options: options, configFile: "training_config.json")
        guard dir.fileExists(cycleStartFile) else { throw TrainingError("\(dir.path(cycleStartFile)) is missing: the oracle has not started cycle \(m)") }
        let saved = try Checkpoint.load(dir.path(cycleStartFile), into: env.model)
        let current = try saved.int("cycle")
        guard current == m else {
            throw TrainingError("\(dir.path(cycleStartFile)) is the start of cycle \(current), not \(m): "
                + (current > m ? "the oracle has moved on" : "the oracle has not reached cycle \(m) yet"))
        }
        let mask = try saved.mask(like: Mask.ones(for: env.prunable), model: env.model)
        let trial = try trainTrial(config, env, cycle: m, peak: peak, mask: mask, in: trialDir)
        try saveStateDict(env.model, to: trialDir.path("model.safetensors"), metadata: ["format": "pt", "cycle": String(m), "max_lr": String(peak)])
        try trialDir.writeJSON(trial, to: trialRecordFile)
        return trial
    }

    /// The training of one trial in `trialDir`, from the model as it stands (the cycle's start) with a fresh optimizer.
    static func trainTrial(_ config: OracleConfig, _ env: CycleEnvironment, cycle m: Int, peak: Double, mask: Mask,
                           in trialDir: RunDirectory) throws -> OracleTrial {
        var trialEnv = env
        trialEnv.run = trialDir
        trialEnv.label = String(format: "max_lr %g · ", peak)
        let warmup = try config.trialSchedule(peak: peak, ScheduleContext(baseLR: env.training.lr, iterationsPerEpoch: env.setup.batchesPerEpoch,
                                                                          totalIterations: env.total))
        var state = LoopState(optimizer: masked(makeOptimizer(env.training), mask: mask))
        var diverged = false, finalTest: Double? = nil
        do {
            finalTest = try trialEnv.trainCycle(m, state: &state, learningRate: { warmup.learningRate(iteration: $0, cycle: m) })
        } catch let e as LossDiverged {
            diverged = true
            env.say("oracle cycle \(m) max_lr \(peak): \(e.description) — recorded as a failed trial")
        }
        let best = state.position.best
        let record = trialEnv.cycleRecord(cycle: m, mask: mask, best: best, maxLR: peak, finalTest: finalTest)
        let trial = OracleTrial(cycle: m, percentRemaining: record.percentRemaining,
                                percentRemainingAllParameters: record.percentRemainingAllParameters, maxLR: peak,
                                bestValidationAccuracy: diverged ? 0 : best.validationAccuracy,
                                testAccuracyAtBestValidation: diverged ? 0 : best.testAccuracy,
                                finalTestAccuracy: diverged ? 0 : record.finalTestAccuracy, diverged: diverged)
        return trial
    }

    /// Cycle m's column from its trials.
    static func column(_ config: OracleConfig, cycle m: Int, trials: [OracleTrial], dir: RunDirectory) throws -> OracleCycle {
        let mine = trials.filter { $0.cycle == m }.sorted { $0.maxLR < $1.maxLR }
        guard !mine.isEmpty else { throw TrainingError("\(dir.path(trialsFile)) has no trial of cycle \(m)") }
        let (best, feasible) = OracleCycle.choose(cycle: m, trials: mine, tolerance: config.tolerance)
        let sc = try config.sCycMaxLR(cycle: m)
        let region = [feasible.min()!, feasible.max()!]
        return OracleCycle(cycle: m, percentRemaining: best.percentRemaining,
                           percentRemainingAllParameters: best.percentRemainingAllParameters,
                           wellTunedMaxLR: best.maxLR, bestValidationAccuracy: best.bestValidationAccuracy,
                           testAccuracyAtBestValidation: best.testAccuracyAtBestValidation,
                           feasible: feasible, feasibleRegion: region, sCycMaxLR: sc,
                           sCycInsideRegion: sc >= region[0] * (1 - 1e-9) && sc <= region[1] * (1 + 1e-9))
    }

    // MARK: state

    static func readTrials(_ dir: RunDirectory) throws -> [OracleTrial] {
        try JSONLines.read(OracleTrial.self, from: dir.path(trialsFile))
    }

    static func saveCycleStart(_ env: CycleEnvironment, mask: Mask, snapshot: WeightSnapshot?, cycle m: Int, to dir: RunDirectory) throws {
        var extra = ProtocolState(fields: ["cycle": String(m)])
        extra.add(mask)
        extra.add(snapshot, prefix: IterativePruning.rewindPrefix)
        try Checkpoint.save(to: dir.path(cycleStartFile), model: env.model, optimizer: nil, position: LoopPosition(), state: extra)
    }
}
