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
    let training: TrainingConfig
    let data: PreparedData
    let loader: DataLoader
    let model: any Layer
    let parameters: [(String, Variable)]
    let prunable: [(String, Variable)]
    /// T, the iterations of one cycle.
    let total: Int
    /// Where metrics and logs go (the oracle points a copy at each trial's directory).
    var run: RunDirectory
    let say: (String) -> Void

    var batchesPerEpoch: Int { loader.batchesPerEpoch }
    var evalEvery: Int { max(1, training.evalEvery.iterations(perEpoch: batchesPerEpoch)) }
    /// The first 10,000 training examples: the train accuracy of the metrics rows.
    var trainProbe: Dataset { data.train.prefix(min(10_000, data.train.count)) }
    var allParameters: Int { parameters.reduce(0) { $0 + $1.1.value.count } }
    var shapes: [String: [Int]] { Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.value.shape) }) }

    /// Run r of `config` in `run`: its training config (seed + r, written to `run/<configFile>` once), data, freshly
    /// initialised model (or `--init` weights), prunable selection and training loader.
    init(_ config: IterativePruningConfig, index r: Int, run: RunDirectory, options: TrainingOptions,
         configFile: String = "config.json") throws {
        var tc = config.training
        tc.seed = tc.seed &+ UInt64(r)
        let quiet = options.quiet
        say = { s in if !quiet { print(s) }; try? run.log(s) }
        if try run.readJSON(TrainingConfig.self, from: configFile) == nil { try run.writeJSON(tc, to: configFile) }
        data = try prepareData(tc)
        var modelRNG = Generator(seed: tc.seed)
        model = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &modelRNG)
        if let path = tc.initFrom { say("loaded " + (try loadStateDict(model, from: path)).summary) }
        parameters = model.namedParameters
        prunable = config.selection.select(model)
        loader = DataLoader(dataset: data.train, batchSize: tc.batchSize, shuffle: true, seed: tc.seed,
                            augmentation: tc.augment ? .cifar : .none, mean: data.mean, std: data.std, prefetch: options.prefetch)
        total = tc.iterations ?? tc.epochs! * loader.batchesPerEpoch
        if case .rewindTo(let k) = config.retrain, k >= total {
            throw TrainingError("--retrain rewind:\(k) must rewind to an iteration before the cycle's end (\(total))")
        }
        training = tc
        self.run = run
    }
}

extension IterativePruning {
    /// Trains cycle m from `pos.iteration` to T at `learningRate(t)` (t counts from 0 every cycle), evaluating every
    /// `evalEvery` iterations and at T; `pos.best` keeps the evaluation with the best validation accuracy (earliest on
    /// ties: the early-stop record). `afterStep` runs after every step, `afterEvaluation` after every evaluation
    /// (checkpoint there), `endOfIteration` last in every iteration; each gets the position (and the optimizer) as it is. Metrics rows go to the run's metrics with step m·T + t and a `cycle` column.
    static func trainCycle(_ env: CycleEnvironment, model: any Layer, optimizer: inout any Optimizer, cycle m: Int,
                           position pos: inout Position, learningRate lr: (Int) -> Float,
                           afterStep: (Position) throws -> Void = { _ in },
                           afterEvaluation: (Position, any Optimizer) throws -> Void = { _, _ in },
                           endOfIteration: (Position) throws -> Void = { _ in }) throws {
        let bpe = env.batchesPerEpoch, evalEvery = env.evalEvery, total = env.total, trainProbe = env.trainProbe
        var t0 = monotonicSeconds()
        while pos.iteration < total {
            let epoch = pos.iteration / bpe
            for batch in env.loader.epoch(epoch, startingAt: pos.iteration % bpe) {
                let at = pos.iteration
                _ = try Trainer.step(model: model, optimizer: &optimizer, parameters: env.parameters, batch: batch,
                                     learningRate: lr(at)) { loss in
                    "the training loss became \(loss) at cycle \(m), iteration \(at); "
                        + "the last checkpoint in \(env.run.url.path) is intact. Try a smaller learning rate."
                }
                pos.iteration += 1
                let now = monotonicSeconds()
                pos.seconds += now - t0
                t0 = now
                try afterStep(pos)
                if pos.iteration % evalEvery == 0 || pos.iteration == total {
                    var row = Trainer.evaluationRow(model: model, data: env.data, trainProbe: trainProbe, lr: optimizer.learningRate)
                    row["cycle"] = Double(m)
                    if env.data.validation.count > 0, let v = row["val_acc"], v > pos.best.validationAccuracy {
                        pos.best = BestRecord(validationAccuracy: v, iteration: pos.iteration, testAccuracy: row["test_acc"] ?? .nan)
                    }
                    try env.run.appendMetrics(row, step: m * total + pos.iteration, epoch: Double(pos.iteration) / Double(bpe))
                    env.say(String(format: "cycle %d it %d  train acc %.2f%%  val acc %@  test acc %.2f%%  lr %.4g", m, pos.iteration,
                                   100 * row["train_acc"]!, row["val_acc"].map { String(format: "%.2f%%", 100 * $0) } ?? "–",
                                   100 * row["test_acc"]!, Double(optimizer.learningRate)))
                    try afterEvaluation(pos, optimizer)
                    t0 = monotonicSeconds()
                }
                try endOfIteration(pos)
                if pos.iteration >= total { break }
            }
        }
    }

    /// The record of a finished cycle: densities from the mask, the early-stop record, the final test accuracy.
    static func cycleRecord(_ env: CycleEnvironment, model: any Layer, cycle m: Int, mask: Mask, best: BestRecord,
                            maxLR: Double) -> CycleRecord {
        let finalTest = evaluate(model, on: env.data.test, mean: env.data.mean, std: env.data.std)
        let hasVal = env.data.validation.count > 0
        let all = env.allParameters
        return CycleRecord(
            cycle: m, percentRemaining: 100 * mask.density, remaining: mask.remaining, total: mask.total,
            percentRemainingAllParameters: 100 * Double(all - (mask.total - mask.remaining)) / Double(max(all, 1)),
            bestValidationAccuracy: hasVal ? best.validationAccuracy : nil,
            bestIteration: hasVal ? best.iteration : nil,
            testAccuracyAtBestValidation: hasVal ? best.testAccuracy : nil,
            finalTestAccuracy: finalTest.accuracy, maxLR: maxLR)
    }

    /// The pruning step after cycle m (Algorithm 1): score the trained weights by the criterion, remove `rate` of the
    /// remaining prunable weights (`allocation`), and reset the survivors as the retrain policy says. Returns the
    /// iteration the next cycle starts at (0, or K for `rewind:K`).
    static func pruneAndReset(_ config: IterativePruningConfig, _ env: CycleEnvironment, model: any Layer, mask: inout Mask,
                              snapshot: WeightSnapshot?, cycle m: Int) throws -> Int {
        let tc = env.training, prunable = env.prunable
        let scores: [String: Tensor]
        switch config.criterion {
        case .magnitude:
            scores = try MagnitudeScore().scores(model: model, parameters: prunable, mask: mask)
        case .gradient:
            // Batches from the scoring loader: a stream of its own per cycle (seeded by run seed and m).
            let scoreLoader = DataLoader(dataset: env.data.train, batchSize: tc.batchSize, shuffle: true,
                                         seed: tc.seed ^ 0x5C0_4E00 &+ UInt64(m), mean: env.data.mean, std: env.data.std, prefetch: 0)
            let batches = Array(scoreLoader.epoch(0).prefix(config.gradientBatches))
            scores = try GradientScore(batches: batches).scores(model: model, parameters: prunable, mask: mask)
        }
        mask = prune(scores: scores, mask: mask, fraction: config.rate, allocation: config.allocation, shapes: env.shapes)
        let inputShape = env.data.train.imageShape, classes = env.data.train.classes, model0 = tc.model
        let policy: RetrainPolicy
        if case .reinit(let s) = config.retrain { policy = .reinit(seed: s &+ tc.seed &+ UInt64(m)) } else { policy = config.retrain }
        let plan = policy.prepare(parameters: model.stateDict, mask: mask, snapshot: snapshot, reinitialized: { seed in
            var g = Generator(seed: seed)
            return (try? makeModel(model0, inputShape: inputShape, classes: classes, generator: &g))?.namedParameters ?? []
        })
        mask.apply(to: prunable)
        return plan.startIteration
    }
}
