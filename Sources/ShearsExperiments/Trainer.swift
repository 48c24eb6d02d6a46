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
    /// Stop as if killed at this point (tests of resume).
    public var interrupt: Interrupt? = nil
    /// nil: decide from whether stdout is a terminal.
    public var terminalProgress: Bool? = nil
    public var quiet = false
    /// Batches the loader prepares ahead on its background thread (0: on demand). Results are identical.
    public var prefetch = 2
    public init() {}

    /// An `InterruptHook` for stage `stage` of a protocol (cycle, megabatch, phase index; 0 for plain training), or
    /// none when the interrupt is elsewhere or falls at the stage's end.
    func interruptHooks(stage: Int) -> [any TrainHook] {
        guard let i = interrupt, i.stage == stage, let n = i.iteration else { return [] }
        return [InterruptHook(atIteration: n)]
    }

    /// Throws `TrainingInterrupted` when the interrupt falls at the end of `stage` (after its checkpoint).
    func interruptAtEnd(ofStage stage: Int) throws {
        if let i = interrupt, i.stage == stage, i.iteration == nil { throw TrainingInterrupted(iteration: -1) }
    }
}

/// Where a test stops a run as if the process had been killed: in stage `stage` of the protocol (the cycle of
/// iterative pruning and the oracle, the megabatch of APP, the phase index of gRDA — sgd 0, grda 1, gmp 2 —, the
/// step of mode connectivity — 0 curve training, 1 curve points, 2 plane points; 0 for plain training) right after
/// iteration `iteration`'s bookkeeping, or, with `iteration` nil, right after the stage's final checkpoint.
public struct Interrupt: Sendable, Equatable {
    public var stage: Int
    public var iteration: Int?
    public init(stage: Int = 0, iteration: Int? = nil) { self.stage = stage; self.iteration = iteration }
}

/// The data of a run: train / validation / test and the normalisation statistics of the training set.
public struct PreparedData {
    public var train: Dataset
    public var validation: Dataset
    public var test: Dataset
    public var mean: [Float]?
    public var std: [Float]?

    /// The first 10,000 training examples: what the train loss and accuracy of metrics rows are measured on.
    public var trainProbe: Dataset { train.prefix(min(10_000, train.count)) }
}

public func prepareData(_ config: TrainingConfig) throws -> PreparedData {
    var train: Dataset, test: Dataset
    if config.dataset == .synthetic {
        let all = makeSynthetic(count: 3000, classes: 10, imageShape: [1, 8, 8], seed: 0x5157_0000 &+ config.seed)
        train = all.subset(Array(0..<2400)); test = all.subset(Array(2400..<3000))
    } else {
        let pair = try loadDatasetPair(kind: config.dataset, dataDir: config.dataDir, dataPath: config.dataPath,
                                       options: config.external ?? ExternalDataOptions())
        (train, test) = (pair.train, pair.test)
    }
    if let p = config.pad, p > 0 { (train, test) = (train.padded(by: p), test.padded(by: p)) }
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


/// What every training of a run shares: its config, data, freshly initialised model (or `--init` weights) and the
/// training loader. Protocols build one per run (iterative pruning: per seed r).
public struct TrainingSetup {
    public let config: TrainingConfig
    public let data: PreparedData
    public let model: any Layer
    public let parameters: [(String, Variable)]
    public let loader: DataLoader
    /// Iterations of one training (`--iterations`, or `--epochs` × batches per epoch).
    public let total: Int

    public init(_ config: TrainingConfig, prefetch: Int, say: (String) -> Void) throws {
        self.config = config
        data = try prepareData(config)
        model = try Self.initialModel(config, data, say: say)
        parameters = model.namedParameters
        loader = DataLoader(dataset: data.train, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                            augmentation: config.augment ? .cifar : .none, mean: data.mean, std: data.std, prefetch: prefetch)
        total = config.iterations ?? config.epochs! * loader.batchesPerEpoch
    }

    /// The run's initial model again (the same seed, the same `--init` weights): w₀ for every phase of gRDA.
    public func freshModel(say: (String) -> Void) throws -> any Layer { try Self.initialModel(config, data, say: say) }

    /// The model drawn from the seed, or with `--init`'s values (at the widths its file records), read once.
    static func initialModel(_ config: TrainingConfig, _ data: PreparedData, say: (String) -> Void) throws -> any Layer {
        var modelRNG = Generator(seed: config.seed)
        let (shape, classes) = (data.train.imageShape, data.train.classes)
        guard let path = config.initFrom else { return try makeModel(config.model, inputShape: shape, classes: classes, generator: &modelRNG) }
        let loaded = try loadModel(config.model, inputShape: shape, classes: classes, from: path, generator: &modelRNG)
        say("loaded " + loaded.info.summary)
        return loaded.model
    }

    public var batchesPerEpoch: Int { loader.batchesPerEpoch }
    public var evalEvery: Int { max(1, config.evalEvery.iterations(perEpoch: batchesPerEpoch)) }

    /// `spec` (default: the config's) for one training of `total` iterations.
    public func schedule(_ spec: ScheduleSpec? = nil, pruningRate: Double? = nil) throws -> any LRSchedule {
        try ScheduleRegistry.make(spec ?? config.schedule, ScheduleContext(baseLR: config.lr, iterationsPerEpoch: batchesPerEpoch,
                                                                          totalIterations: total, pruningRate: pruningRate))
    }
}

/// One metrics row: the learning rate, train-probe, validation (when held out) and test loss and accuracy.
func evaluationRow(model: any Layer, data: PreparedData, trainProbe: Dataset, lr: Float) -> [String: Double] {
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

/// What a divergence message says of the run's checkpoint: that it is intact, or that none was written yet.
func checkpointNote(_ run: RunDirectory) -> String {
    run.fileExists(Checkpoint.fileName) ? "the last checkpoint in \(run.url.path) is intact" : "no checkpoint was written yet in \(run.url.path)"
}

/// A percentage with two decimals, "–" for nil.
func percent(_ a: Double?) -> String { a.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }

/// Prints (unless quiet) and logs to the run's log.txt.
func sayer(_ run: RunDirectory, _ options: TrainingOptions, prefix: String = "") -> (String) -> Void {
    let quiet = options.quiet
    // On a terminal a line may land while the progress bar is drawn (an evaluation mid-training): clear the bar's line
    // first, or the message would be glued to the bar's end; the bar redraws itself at the next step.
    let clearBar = isatty(STDOUT_FILENO) == 1 ? "\r\u{1B}[2K" : ""
    return { s in
        if !quiet { print(clearBar + prefix + s); fflush(stdout) }
        try? run.log(s)
    }
}

/// Plain supervised training with periodic evaluation, checkpoints and exact resume: one `TrainLoop` with the
/// evaluation, checkpoint, progress and interrupt hooks. The run directory holds `config.json`, `metrics.*`,
/// `log.txt`, `checkpoint.safetensors` after every evaluation, and at the end `model.safetensors` and `summary.json`.
public enum Trainer {
    public static func run(_ config: TrainingConfig, in run: RunDirectory, options: TrainingOptions = TrainingOptions()) throws -> TrainingSummary {
        try config.validate()
        Threads.set(options.threads)
        let say = sayer(run, options)
        if case .finished(let done) = try run.open(config: config, summaryFile: "summary.json", summary: TrainingSummary.self) {
            say("run in \(run.url.path) is already complete: test accuracy at best validation \(percent(done.testAccuracyAtBestValidation))")
            return done
        }
        let setup = try TrainingSetup(config, prefetch: options.prefetch, say: say)
        let model = setup.model, total = setup.total
        var state = LoopState(optimizer: makeOptimizer(config))
        if run.fileExists(Checkpoint.fileName) {
            let saved = try Checkpoint.load(run.checkpointPath, into: model)
            try saved.restore(&state.optimizer)
            state.position = saved.position
            say("resuming \(run.url.path) from iteration \(state.iteration) of \(total)")
        } else {
            say("training \(config.model.rawValue) (\(model.parameterCount) parameters) on \(config.dataset.rawValue) (\(config.split.rawValue) split): "
                + "\(setup.data.train.count) train / \(setup.data.validation.count) validation / \(setup.data.test.count) test, "
                + "\(total) iterations of batch \(config.batchSize) → \(run.url.path)")
        }
        try Checkpoint.truncateMetrics(in: run, after: state.iteration)
        let schedule = try setup.schedule()
        let loop = TrainLoop(model: model, parameters: setup.parameters, loader: setup.loader, total: total,
                             learningRate: { schedule.learningRate(iteration: $0) }) { loss, at in
            "the training loss became \(loss) at iteration \(at) (epoch \(at / setup.batchesPerEpoch)); "
                + checkpointNote(run) + ". Try a smaller --lr (now \(config.lr))."
        }
        let evaluation = EvaluationHook(data: setup.data, run: run, every: setup.evalEvery) { s, row in
            try Checkpoint.save(to: run.checkpointPath, model: model, optimizer: s.optimizer, position: s.position)
            say(String(format: "it %d (ep %.2f)  train loss %.4f acc %.2f%%  val acc %@  test acc %.2f%%  lr %.4g",
                       s.iteration, Double(s.iteration) / Double(setup.batchesPerEpoch), row["train_loss"]!, 100 * row["train_acc"]!,
                       percent(row["val_acc"]), 100 * row["test_acc"]!, Double(s.optimizer.learningRate)))
        }
        let progress = ProgressHook(total: total, start: state.position, batchSize: config.batchSize,
                                    terminal: options.quiet ? false : options.terminalProgress)
        try loop.run(&state, hooks: [progress, evaluation] + options.interruptHooks(stage: 0))
        return try finish(setup, state: state, in: run, say: say, evaluated: evaluation.row(at: total))
    }

    /// The end of a plain training: `model.safetensors` (with the normalisation in its metadata), the final
    /// evaluations (`evaluated`: the row the loop's last evaluation made of these weights, when there was one) and
    /// `summary.json`.
    static func finish(_ setup: TrainingSetup, state: LoopState, in run: RunDirectory, say: (String) -> Void,
                       evaluated: [String: Double]? = nil) throws -> TrainingSummary {
        let config = setup.config, data = setup.data, model = setup.model, total = setup.total
        try saveStateDict(model, to: run.path("model.safetensors"), metadata: modelMetadata(data))
        let final = Dictionary(uniqueKeysWithValues: [("train", data.trainProbe, "train"), ("validation", data.validation, "val"),
                                                      ("test", data.test, "test")]
            .filter { $0.1.count > 0 }
            .map { split, set, column in
                if let row = evaluated, let loss = row[column + "_loss"], let acc = row[column + "_acc"] {
                    return (split, EvaluationResult(loss: loss, accuracy: acc))
                }
                return (split, evaluate(model, on: set, mean: data.mean, std: data.std))
            })
        let hasValidation = data.validation.count > 0, best = state.position.best
        let summary = TrainingSummary(
            model: config.model.rawValue, dataset: config.dataset.rawValue, parameters: model.parameterCount,
            iterations: total, epochs: Double(total) / Double(setup.batchesPerEpoch), final: final,
            bestValidationAccuracy: hasValidation ? best.validationAccuracy : nil,
            bestIteration: hasValidation ? best.iteration : nil,
            testAccuracyAtBestValidation: hasValidation ? best.testAccuracy : nil,
            trainingSeconds: state.position.seconds,
            imagesPerSecond: Double(total * config.batchSize) / max(state.position.seconds, 1e-9))
        try run.writeJSON(summary, to: "summary.json")
        say("done: test accuracy \(percent(final["test"]?.accuracy)) on the \(config.split.rawValue) split's test set "
            + "(at best validation: \(percent(summary.testAccuracyAtBestValidation)), iteration \(summary.bestIteration.map(String.init) ?? "–")); "
            + String(format: "%.1f s of training, %.0f img/s", state.position.seconds, summary.imagesPerSecond))
        return summary
    }
}

/// The metadata of a saved model: PyTorch's format tag and the input normalisation the model was trained with
/// (`shears.mean` / `shears.std`, comma-separated per channel: what `shears export --format onnx` puts in `metadata_props`), so that a user loading it elsewhere need not guess.
public func modelMetadata(_ data: PreparedData) -> [String: String] {
    var m = ["format": "pt"]
    if let mean = data.mean, let std = data.std {
        m["shears.mean"] = mean.map { String($0) }.joined(separator: ",")
        m["shears.std"] = std.map { String($0) }.joined(separator: ",")
    }
    return m
}
