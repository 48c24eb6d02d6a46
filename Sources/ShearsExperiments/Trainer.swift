import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsTensor

/// What a finished (or resumed-and-finished) run reports in `summary.json`.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var model: String
    public var dataset: String
    public var parameters: Int
    public var iterations: Int
    public var epochs: Double
    public var final: [String: EvaluationResult]
    /// Early stopping as the papers report it: the test accuracy at the evaluation with the best validation
    /// accuracy (nil when no validation set was held out).
    public var bestValidationAccuracy: Double?
    public var bestIteration: Int?
    public var testAccuracyAtBestValidation: Double?
    public var trainingSeconds: Double
    public var imagesPerSecond: Double
}

/// Options that change how a run executes but not what it computes.
public struct TrainingOptions {
    public var threads: Int = 2
    /// Stop (as if killed) right after this iteration's bookkeeping — for resume tests.
    public var stopAfterIteration: Int? = nil
    /// Iterative pruning and its oracle: stop (as if killed) right after cycle m's end-of-cycle checkpoint, or — with
    /// `stopAfterIteration` also set — after that iteration of cycle m. `Trainer.run` ignores it.
    public var stopAfterCycle: Int? = nil
    /// nil: decide from whether stdout is a terminal.
    public var terminalProgress: Bool? = nil
    public var quiet = false
    /// Batches the loader prepares ahead on its background thread (0: on demand). Results are identical.
    public var prefetch = 2
    public init() {}
}

/// Thrown when `stopAfterIteration` ends a run early.
public struct TrainingInterrupted: Error { public let iteration: Int }

/// The data of a run: train / validation / test and the normalisation statistics of the training set.
public struct PreparedData {
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    public var mean: [Float]?
    public var std: [Float]?
}

public func prepareData(_ config: TrainingConfig) throws -> PreparedData {
    var train: Dataset, test: Dataset
    if config.dataset == .synthetic {
        let all = makeSynthetic(count: 3000, classes: 10, imageShape: [1, 8, 8], seed: 0x5157_0000 &+ config.seed)
        train = all.subset(Array(0..<2400)); test = all.subset(Array(2400..<3000))
    } else {
        let dir = try config.dataDir ?? embeddedMNISTDirectory()
        train = try loadDataset(config.dataset, split: .train, directory: dir)
        test = try loadDataset(config.dataset, split: .test, directory: dir)
    }
    var g = Generator(seed: config.seed ^ 0x5EED_0F_DA7A)   // the split's own stream: independent of init and order
    var validation: Dataset
    switch config.split {
    case .official:
        if config.validation >= train.count {
            throw TrainingError("--validation \(config.validation) leaves no training data (\(train.count) training examples)")
        }
        (train, validation) = Splits.holdOut(train, validation: config.validation, generator: &g)
    case .pooled:
        (train, validation, test) = Splits.pooled(train: train, test: test, generator: &g)
    }
    if let n = config.trainSubset { train = train.prefix(min(n, train.count)) }
    let stats = config.normalize ? train.channelStatistics() : nil
    return PreparedData(train: train, validation: validation, test: test, mean: stats?.mean, std: stats?.std)
}

public func makeOptimizer(_ config: TrainingConfig) -> any Optimizer {
    switch config.optimizer {
    case .sgd: return SGD(learningRate: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov)
    case .adam: return Adam(learningRate: config.lr, weightDecay: config.weightDecay)
    case .rmsprop: return RMSprop(learningRate: config.lr, weightDecay: config.weightDecay, momentum: config.momentum)
    }
}

public func makeSchedule(_ config: TrainingConfig, iterationsPerEpoch bpe: Int, totalIterations: Int) -> any LRSchedule {
    switch config.schedule {
    case .constant: return ConstantLR(config.lr)
    case .step: return StepLR(base: config.lr, stepSize: max(1, config.stepSize!.iterations(perEpoch: bpe)), gamma: config.gamma)
    case .multistep: return MultiStepLR(base: config.lr, milestones: config.milestones.map { $0.iterations(perEpoch: bpe) }, gamma: config.gamma)
    case .cosine: return CosineLR(base: config.lr, totalIterations: totalIterations)
    case .onecycle: return OneCycleLR(maxLR: Double(config.lr), totalIterations: max(totalIterations, 2))
    }
}

/// Plain supervised training with periodic evaluation, checkpoints and exact resume — the loop the three
/// papers' protocols build on.
///
/// Resume: the run directory holds `config.json` and, after every evaluation, `checkpoint.safetensors`
/// (weights and buffers under their state_dict names, optimizer state under `optimizer/…`, the iteration and
/// the early-stop record in the metadata). Data order and augmentation are pure functions of (seed, epoch,
/// batch), so continuing from a checkpoint replays exactly the batches an uninterrupted run would have seen and
/// ends with bit-identical weights.
public enum Trainer {
    public static let checkpointName = "checkpoint.safetensors"

    public static func run(_ config: TrainingConfig, in run: RunDirectory, options: TrainingOptions = TrainingOptions()) throws -> TrainingSummary {
        try config.validate()
        Threads.set(options.threads)
        let progress = ProgressReporter(totalIterations: 0, startIteration: 0, forceMode: options.terminalProgress)
        func say(_ s: String) { if !options.quiet { progress.line(s) }; try? run.log(s) }

        if let saved = try run.readJSON(TrainingConfig.self, from: "config.json") {
            guard saved == config else {
                throw TrainingError("run directory \(run.url.path) holds a run with a different configuration; choose another --out (or delete it)")
            }
        } else {
            try run.writeJSON(config, to: "config.json")
        }
        if let done = try run.readJSON(TrainingSummary.self, from: "summary.json") {
            say("run in \(run.url.path) is already complete: test accuracy at best validation \(fmt(done.testAccuracyAtBestValidation))")
            return done
        }

        let data = try prepareData(config)
        var modelRNG = Generator(seed: config.seed)
        let model = try makeModel(config.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &modelRNG)
        if let path = config.initFrom { say("loaded " + (try loadStateDict(model, from: path)).summary) }
        var optimizer = makeOptimizer(config)
        let loader = DataLoader(dataset: data.train, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                                augmentation: config.augment ? .cifar : .none, mean: data.mean, std: data.std,
                                prefetch: options.prefetch)
        let bpe = loader.batchesPerEpoch
        let total = config.iterations ?? config.epochs! * bpe
        let schedule = makeSchedule(config, iterationsPerEpoch: bpe, totalIterations: total)
        let evalEvery = max(1, config.evalEvery.iterations(perEpoch: bpe))
        let trainProbe = data.train.prefix(min(10_000, data.train.count))
        let params = model.namedParameters

        var iteration = 0
        var best = BestRecord()
        var trainingSeconds = 0.0
        if run.fileExists(checkpointName) {
            (iteration, best, trainingSeconds) = try restore(model: model, optimizer: &optimizer, from: run)
            try truncateMetrics(in: run, after: iteration)
            say("resuming \(run.url.path) from iteration \(iteration) of \(total)")
        } else {
            say("training \(config.model.rawValue) (\(model.parameterCount) parameters) on \(config.dataset.rawValue): "
                + "\(data.train.count) train / \(data.validation.count) validation / \(data.test.count) test, "
                + "\(total) iterations of batch \(config.batchSize) → \(run.url.path)")
        }

        let bar = ProgressReporter(totalIterations: total, startIteration: iteration, forceMode: options.terminalProgress)
        var windowLoss = 0.0, windowCorrect = 0.0, windowSeen = 0
        while iteration < total {
            let epoch = iteration / bpe
            var t0 = monotonicSeconds()
            for batch in loader.epoch(epoch, startingAt: iteration % bpe) {
                let (lossValue, logits) = try step(model: model, optimizer: &optimizer, parameters: params, batch: batch,
                                                   learningRate: schedule.learningRate(iteration: iteration)) { loss in
                    "the training loss became \(loss) at iteration \(iteration) (epoch \(epoch)); "
                        + "the last checkpoint in \(run.url.path) is intact. Try a smaller --lr (now \(config.lr))."
                }
                iteration += 1
                windowLoss += Double(lossValue); windowSeen += batch.labels.count
                windowCorrect += accuracy(logits: logits, labels: batch.labels) * Double(batch.labels.count)
                let now = monotonicSeconds()
                trainingSeconds += now - t0
                t0 = now
                if !options.quiet {
                    bar.step(iteration: iteration, epoch: Double(iteration) / Double(bpe), loss: lossValue,
                             accuracy: windowCorrect / Double(max(windowSeen, 1)),
                             imagesPerSecond: Double(iteration * config.batchSize) / max(trainingSeconds, 1e-9))
                }
                if iteration % evalEvery == 0 || iteration == total {
                    let row = evaluationRow(model: model, data: data, trainProbe: trainProbe, lr: optimizer.learningRate)
                    if data.validation.count > 0, let v = row["val_acc"], v > best.validationAccuracy {
                        best = BestRecord(validationAccuracy: v, iteration: iteration, testAccuracy: row["test_acc"] ?? .nan)
                    }
                    try run.appendMetrics(row, step: iteration, epoch: Double(iteration) / Double(bpe))
                    try saveCheckpoint(model: model, optimizer: optimizer, iteration: iteration, best: best,
                                       trainingSeconds: trainingSeconds, config: config, to: run)
                    say(String(format: "it %d (ep %.2f)  train loss %.4f acc %.2f%%  val acc %@  test acc %.2f%%  lr %.4g",
                               iteration, Double(iteration) / Double(bpe), row["train_loss"]!, 100 * row["train_acc"]!,
                               row["val_acc"].map { String(format: "%.2f%%", 100 * $0) } ?? "–", 100 * row["test_acc"]!,
                               Double(optimizer.learningRate)))
                    windowLoss = 0; windowCorrect = 0; windowSeen = 0
                    t0 = monotonicSeconds()
                }
                if let stop = options.stopAfterIteration, iteration >= stop { throw TrainingInterrupted(iteration: iteration) }
                if iteration >= total { break }
            }
        }

        try saveStateDict(model, to: run.url.appendingPathComponent("model.safetensors").path, metadata: ["format": "pt"])
        let final = Dictionary(uniqueKeysWithValues: [("train", trainProbe), ("validation", data.validation), ("test", data.test)]
            .filter { $0.1.count > 0 }
            .map { ($0.0, evaluate(model, on: $0.1, mean: data.mean, std: data.std)) })
        let hasValidation = data.validation.count > 0
        let summary = TrainingSummary(
            model: config.model.rawValue, dataset: config.dataset.rawValue, parameters: model.parameterCount,
            iterations: total, epochs: Double(total) / Double(bpe), final: final,
            bestValidationAccuracy: hasValidation ? best.validationAccuracy : nil,
            bestIteration: hasValidation ? best.iteration : nil,
            testAccuracyAtBestValidation: hasValidation ? best.testAccuracy : nil,
            trainingSeconds: trainingSeconds,
            imagesPerSecond: Double(total * config.batchSize) / max(trainingSeconds, 1e-9))
        try run.writeJSON(summary, to: "summary.json")
        say("done: test accuracy \(fmt(final["test"]?.accuracy)) (at best validation: \(fmt(summary.testAccuracyAtBestValidation)), "
            + "iteration \(summary.bestIteration.map(String.init) ?? "–")); "
            + String(format: "%.1f s of training, %.0f img/s", trainingSeconds, summary.imagesPerSecond))
        return summary
    }

    /// One training step: forward, cross-entropy, backward, optimizer update at `learningRate`. A non-finite
    /// loss stops before the update with `message(loss)`, so the weights and the last checkpoint stay good.
    static func step(model: any Layer, optimizer: inout any Optimizer, parameters: [(String, Variable)], batch: Batch,
                     learningRate: Float, message: (Float) -> String) throws -> (loss: Float, logits: Tensor) {
        optimizer.learningRate = learningRate
        model.zeroGrad()
        let logits = model(Variable(batch.images))
        let loss = softmaxCrossEntropy(logits: logits, labels: batch.labels)
        let lossValue = loss.value.scalar
        guard lossValue.isFinite else { throw LossDiverged(loss: lossValue, description: message(lossValue)) }
        loss.backward()
        optimizer.step(parameters)
        return (lossValue, logits.value)
    }

    static func fmt(_ a: Double?) -> String { a.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }

    static func evaluationRow(model: any Layer, data: PreparedData, trainProbe: Dataset, lr: Float) -> [String: Double] {
        var row: [String: Double] = ["lr": Double(lr)]
        let tr = evaluate(model, on: trainProbe, mean: data.mean, std: data.std)
        row["train_loss"] = tr.loss; row["train_acc"] = tr.accuracy
        if data.validation.count > 0 {
            let v = evaluate(model, on: data.validation, mean: data.mean, std: data.std)
            row["val_loss"] = v.loss; row["val_acc"] = v.accuracy
        }
        let te = evaluate(model, on: data.test, mean: data.mean, std: data.std)
        row["test_loss"] = te.loss; row["test_acc"] = te.accuracy
        return row
    }
}

/// The early-stop record: the best validation accuracy so far, when, and the test accuracy then.
struct BestRecord {
    var validationAccuracy = -Double.infinity
    var iteration = 0
    var testAccuracy = Double.nan
}
