import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// What training one pruning cycle needs besides the weights, fixed for a run: shared by `IterativePruning` and
/// `SCycOracle`, so that the protocol and its oracle train, evaluate, record and prune in exactly the same way.
struct CycleEnvironment {
    let config: IterativePruningConfig
    let setup: TrainingSetup
    let prunable: [(String, Variable)]
    /// Where metrics and logs go (the oracle points a copy at each trial's directory).
    var run: RunDirectory
    let say: (String) -> Void
    /// The terminal's progress bar (nil: when stdout is a terminal) and where this run stands among the runs.
    let terminal: Bool?
    var label = ""
    /// The whole command's progress (every run and cycle, or every oracle trial), for the bar's overall ETA.
    var overall: OverallProgress?
    /// r, this run's index among the runs.
    let runIndex: Int

    var training: TrainingConfig { setup.config }
    var data: PreparedData { setup.data }
    var model: any Layer { setup.model }
    var parameters: [(String, Variable)] { setup.parameters }
    /// T, the iterations of one cycle.
    var total: Int { setup.total }
    var allParameters: Int { parameters.reduce(0) { $0 + $1.1.value.count } }
    var shapes: [String: [Int]] { Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.value.shape) }) }

    /// Run r of `config` in `run`: its training config (seed + r, written to `run/<configFile>` once), data, freshly
    /// initialised model (or `--init` weights), prunable selection and training loader.
    init(_ config: IterativePruningConfig, index r: Int, run: RunDirectory, options: TrainingOptions,
         configFile: String = "config.json") throws {
        var tc = config.training
        tc.seed = tc.seed &+ UInt64(r)
        say = sayer(run, options)
        if try run.readJSON(TrainingConfig.self, from: configFile) == nil { try run.writeJSON(tc, to: configFile) }
        setup = try TrainingSetup(tc, prefetch: options.prefetch, say: say)
        prunable = config.selection.select(setup.model)
        if case .rewindTo(let k) = config.retrain, k >= setup.total {
            throw TrainingError("--retrain rewind:\(k) must rewind to an iteration before the cycle's end (\(setup.total))")
        }
        self.config = config
        self.run = run
        terminal = options.quiet ? false : options.terminalProgress
        label = config.runs > 1 ? "run \(r + 1)/\(config.runs) · " : ""
        runIndex = r
    }

    /// Where cycle m's training starts: 0, or K after a rewind to iteration K.
    func cycleStart(_ m: Int) -> Int { m == 0 ? 0 : (config.retrain.snapshotIteration ?? 0) }
    /// The iterations cycle m trains (none for cycle 0 of a run that starts from a trained model).
    func cycleLength(_ m: Int) -> Int { m == 0 && config.skipFirstTraining ? 0 : total - cycleStart(m) }
    /// The iterations of one run, every cycle.
    var iterationsPerRun: Int { (0...config.cycles).reduce(0) { $0 + cycleLength($1) } }
    /// The iterations of the command before cycle m of this run: the earlier runs', then this run's earlier cycles'.
    func iterationsBefore(cycle m: Int) -> Int { runIndex * iterationsPerRun + (0..<m).reduce(0) { $0 + cycleLength($1) } }

    /// Trains cycle m from `state`'s iteration to T at `learningRate(t)` (t counts from 0 every cycle), evaluating
    /// every `--eval-every` and at T into the run's metrics (step m·T + t, a `cycle` column); hooks `before` run
    /// before the evaluation's, `after` after it (the protocol's checkpoint goes into `afterEvaluation`). Returns the test
    /// accuracy this process evaluated at T, if it did (the cycle's record then need not evaluate the same weights again).
    @discardableResult
    func trainCycle(_ m: Int, state: inout LoopState, learningRate: @escaping (Int) -> Float,
                    afterEvaluation: @escaping (LoopState) throws -> Void = { _ in },
                    before: [any TrainHook] = [], after: [any TrainHook] = []) throws -> Double? {
        let run = self.run, say = self.say, bpe = setup.batchesPerEpoch
        let loop = TrainLoop(model: model, parameters: parameters, loader: setup.loader, total: total, learningRate: learningRate) { loss, at in
            "the training loss became \(loss) at cycle \(m), iteration \(at); \(checkpointNote(run)). "
                + "Try a smaller learning rate."
        }
        let evaluation = EvaluationHook(data: data, run: run, every: setup.evalEvery, stepOffset: m * total,
                                        columns: { _ in ["cycle": Double(m)] }) { s, row in
            say(String(format: "cycle %d it %d (ep %.2f)  train acc %.2f%%  val acc %@  test acc %.2f%%  lr %.4g", m, s.iteration,
                       Double(s.iteration) / Double(bpe), 100 * row["train_acc"]!, percent(row["val_acc"]), 100 * row["test_acc"]!,
                       Double(s.optimizer.learningRate)))
            try afterEvaluation(s)
        }
        let progress = ProgressHook(total: total, start: state.position, batchSize: training.batchSize, terminal: terminal,
                                    label: "\(label)cycle \(m)/\(config.cycles)", overall: overall)
        try loop.run(&state, hooks: [progress] + before + [evaluation] + after)
        return evaluation.row(at: total)?["test_acc"]
    }

    /// The record of a finished cycle: densities from the mask, the early-stop record, the final test accuracy
    /// (`finalTest` when `trainCycle` evaluated it, else evaluated here).
    func cycleRecord(cycle m: Int, mask: Mask, best: BestRecord, maxLR: Double, finalTest: Double? = nil) -> CycleRecord {
        let finalTest = finalTest ?? evaluate(model, on: data.test, mean: data.mean, std: data.std).accuracy
        let hasVal = data.validation.count > 0
        let all = allParameters
        return CycleRecord(
            cycle: m, percentRemaining: 100 * mask.density, remaining: mask.remaining, total: mask.total,
            percentRemainingAllParameters: 100 * Double(all - (mask.total - mask.remaining)) / Double(max(all, 1)),
            bestValidationAccuracy: hasVal ? best.validationAccuracy : nil,
            bestIteration: hasVal ? best.iteration : nil,
            testAccuracyAtBestValidation: hasVal ? best.testAccuracy : nil,
            finalTestAccuracy: finalTest, maxLR: maxLR)
    }

    /// The criterion of the run for the pruning step after cycle m; scoring batches come from a loader of their own
    /// per cycle (seeded by the run seed and m), built only when the criterion uses data.
    func criterion(cycle m: Int) throws -> any PruningScore {
        try CriterionRegistry.make(config.criterion, scoringContext(training, data, batches: config.scoringBatches, event: UInt64(m)))
    }

    /// The pruning step after cycle m (Algorithm 1): score the trained weights by the criterion, remove `rate` of the
    /// remaining prunable weights (`allocation`), and reset the survivors as the retrain policy says. Returns the
    /// iteration the next cycle starts at (0, or K for `rewind:K`).
    func pruneAndReset(mask: inout Mask, snapshot: WeightSnapshot?, cycle m: Int) throws -> Int {
        let scores = try criterion(cycle: m).scores(model: model, parameters: prunable, mask: mask)
        mask = prune(scores: scores, mask: mask, fraction: config.rate, allocation: config.allocation, shapes: shapes)
        let inputShape = data.train.imageShape, classes = data.train.classes, model0 = training.model
        let policy: RetrainPolicy
        if case .reinit(let s) = config.retrain { policy = .reinit(seed: s &+ training.seed &+ UInt64(m)) } else { policy = config.retrain }
        let plan = policy.prepare(parameters: model.stateDict, mask: mask, snapshot: snapshot, reinitialized: { seed in
            var g = Generator(seed: seed)
            return (try? makeModel(model0, inputShape: inputShape, classes: classes, generator: &g))?.namedParameters ?? []
        })
        mask.apply(to: prunable)
        return plan.startIteration
    }
}

/// The scoring context of a pruning event of a run: `count` batches of the training set from a loader of their own
/// (seeded by the run seed and the event, built only when the criterion uses data), the random criterion's seed, and
/// the input shape of the data-free ones. Shared by iterative and one-shot pruning.
func scoringContext(_ tc: TrainingConfig, _ data: PreparedData, batches count: Int, event: UInt64) -> ScoringContext {
    ScoringContext(batches: {
        let loader = DataLoader(dataset: data.train, batchSize: tc.batchSize, shuffle: true, seed: tc.seed ^ 0x5C0_4E00 &+ event,
                                mean: data.mean, std: data.std, prefetch: 0)
        return Array(loader.epoch(0).prefix(count))
    }, seed: tc.seed ^ 0x2A_5C0E &+ event, phase: .training, inputShape: data.train.imageShape)
}
