import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Every hyperparameter of `shears prune oneshot`: prune a trained model (or, `atInit`, a fresh one) once to
/// `sparsity` by a registered criterion, then optionally train the sparse network with its mask held fixed.
public struct OneShotConfig: RunConfiguration, Sendable {
    /// The model, data and the (fine-)tuning; `initFrom` is the model pruned (nil with `atInit`).
    public var training: TrainingConfig
    /// Fraction of the prunable weights removed, in (0, 1).
    public var sparsity: Double = 0.9
    public var criterion: String = "magnitude"
    public var allocation: Allocation = .global
    public var selection: PrunableSelection = PrunableSelection()
    /// Training batches the data-driven criteria score on.
    public var scoringBatches: Int = 1
    /// Prune at initialisation (SNIP, GraSP, SynFlow's setting) instead of a trained model.
    public var atInit: Bool = false
    /// SynFlow's rounds when pruning at initialisation with `synflow` (Algorithm 1; 1 = one-shot).
    public var synflowRounds: Int = 100
    /// Epochs of training after pruning (0: evaluate only).
    public var finetuneEpochs: Int = 0
    /// With `atInit`: the scale of the kept weights, each unit's rescaled to its sparse fan-in (Evci et al. 2022;
    /// `SparseInitialisation`); nil keeps the dense initialisation's (absent from config.json, as before the flag).
    public var sparseInit: SparseInitialisation? = nil
    /// N:M semi-structured allocation of the criterion's scores instead of `sparsity` and `allocation`: in every run of
    /// M consecutive inputs of a prunable weight, the N highest-scoring are kept (`nmMask`); weights whose input
    /// dimension is not a multiple of M stay dense (said at the run's start). nil: unstructured.
    public var nm: NMPattern? = nil

    public init() {
        training = TrainingConfig()
        training.epochs = 1
    }

    public func validate() throws {
        func fail(_ m: String) throws -> Never { throw TrainingError(m) }
        try training.validate()
        if !(sparsity > 0 && sparsity < 1) { try fail("--sparsity must be in (0, 1), got \(sparsity)") }
        if !CriterionRegistry.isKnown(criterion) {
            try fail("--criterion \(criterion) is not a criterion; expected one of \(CriterionRegistry.names.joined(separator: ", "))")
        }
        if !(0...100_000).contains(finetuneEpochs) { try fail("--finetune-epochs must be between 0 and 100000, got \(finetuneEpochs)") }
        if !(1...100_000).contains(scoringBatches) { try fail("--scoring-batches must be between 1 and 100000, got \(scoringBatches)") }
        if !(1...10_000).contains(synflowRounds) { try fail("--synflow-rounds must be between 1 and 10000, got \(synflowRounds)") }
        if atInit == (training.initFrom != nil) {
            try fail(atInit ? "--at-init prunes a fresh model: drop --from" : "give --from RUN_DIR|model.safetensors (the model to prune), or --at-init")
        }
        if atInit && finetuneEpochs == 0 { try fail("--at-init needs --finetune-epochs > 0: the pruned initialisation must be trained") }
        if nm != nil && atInit && criterion == SynFlowScore.criterionName {
            try fail("--nm allocates one round of scores; SynFlow at initialisation prunes in rounds of its own: use another criterion or drop --at-init")
        }
        if let sparseInit, !atInit, sparseInit != .dense {
            try fail("--sparse-init \(sparseInit.rawValue) rescales an initialisation: it needs --at-init (a trained model keeps its weights)")
        }
    }
}

/// `summary.json` of a one-shot pruning run: before, right after pruning, after fine-tuning.
public struct OneShotSummary: Codable, Equatable, Sendable {
    public var split: String
    public var criterion: String
    public var percentRemaining: Double
    public var remaining: Int
    public var total: Int
    public var testAccuracyBefore: Double
    public var testAccuracyPruned: Double
    public var testAccuracyFinal: Double
    public var testAccuracyAtBestValidation: Double?
    public var trainingSeconds: Double
}

/// Prune once, then (optionally) train with the mask fixed, in the one loop: score → allocate → mask → train.
public enum OneShotPruning {
    public static func run(_ config: OneShotConfig, in dir: RunDirectory, options: TrainingOptions = TrainingOptions()) throws -> OneShotSummary {
        try config.validate()
        Threads.set(options.threads)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "summary.json", summary: OneShotSummary.self) { return done }
        let say = sayer(dir, options)
        let setup = try TrainingSetup(config.training, prefetch: options.prefetch, say: say)
        let data = setup.data, model = setup.model, prunable = config.selection.select(model)
        func test() -> Double { evaluate(model, on: data.test, mean: data.mean, std: data.std).accuracy }
        let saved = dir.fileExists(Checkpoint.fileName) ? try Checkpoint.load(dir.checkpointPath, into: model) : nil
        let before = try saved.map { Double(try $0.field("test_accuracy_before")) ?? .nan } ?? test()
        var mask = Mask.ones(for: prunable)
        if let saved { mask = try saved.mask(like: mask, model: model) } else { mask = try prune(config, setup, prunable: prunable, say: say) }
        mask.apply(to: prunable)
        if saved == nil { config.sparseInit?.apply(to: prunable, mask: mask) }   // a checkpoint's weights are scaled already
        let pruned = try saved.map { Double(try $0.field("test_accuracy_pruned")) ?? .nan } ?? test()
        say(String(format: "%@ pruned by %@ to %.2f%% of %d prunable weights: test accuracy %.2f%% → %.2f%% (%@ split)",
                   config.atInit ? "initialisation" : "model", config.criterion, 100 * mask.density, mask.total, 100 * before,
                   100 * pruned, config.training.split.rawValue))
        var state = LoopState(optimizer: masked(makeOptimizer(config.training), mask: mask))
        if let saved { state.position = saved.position; try saved.restore(&state.optimizer) }
        var extra = ProtocolState(fields: ["test_accuracy_before": String(before), "test_accuracy_pruned": String(pruned)])
        extra.add(mask)
        var evaluated: [String: Double]? = nil
        if config.finetuneEpochs > 0 { evaluated = try finetune(config, setup, state: &state, extra: extra, in: dir, options: options, say: say) }
        // An N:M model says so: `shears export` keeps the key (SparseStateDict.modelKeys).
        let nmKey = config.nm.map { [NMPattern.metadataKey: $0.description] } ?? [:]
        try saveStateDict(model, to: dir.path("model.safetensors"), metadata: modelMetadata(data).merging(nmKey) { $1 })
        try SafetensorsFile.write(path: dir.path("mask.safetensors"), tensors: mask.tensors.mapValues { $0.contiguous() }, dtypes: [:],
                                  metadata: ["format": "pt"])
        let best = state.position.best
        let summary = OneShotSummary(split: config.training.split.rawValue, criterion: config.criterion,
                                     percentRemaining: 100 * mask.density, remaining: mask.remaining, total: mask.total,
                                     testAccuracyBefore: before, testAccuracyPruned: pruned,
                                     testAccuracyFinal: config.finetuneEpochs == 0 ? pruned : evaluated?["test_acc"] ?? test(),
                                     testAccuracyAtBestValidation: data.validation.count > 0 && config.finetuneEpochs > 0 ? best.testAccuracy : nil,
                                     trainingSeconds: state.position.seconds)
        try dir.writeJSON(summary, to: "summary.json")
        say(String(format: "done: %.2f%% of the prunable weights remain; test accuracy %.2f%% before, %.2f%% pruned, %.2f%% final",
                   summary.percentRemaining, 100 * before, 100 * pruned, 100 * summary.testAccuracyFinal))
        return summary
    }

    /// The mask: `sparsity` of the prunable weights removed by the criterion (SynFlow at init: its iterative rounds), or
    /// the criterion's N:M pattern with `nm`.
    static func prune(_ config: OneShotConfig, _ setup: TrainingSetup, prunable: [(String, Variable)], say: (String) -> Void) throws -> Mask {
        let start = Mask.ones(for: prunable), data = setup.data, tc = config.training
        if config.atInit && config.criterion == SynFlowScore.criterionName {
            return try synFlowPrune(model: setup.model, parameters: prunable, mask: start, density: 1 - config.sparsity,
                                    rounds: config.synflowRounds, inputShape: data.train.imageShape)
        }
        let context = scoringContext(tc, data, batches: config.scoringBatches, event: 0)
        let scores = try CriterionRegistry.make(config.criterion, context).scores(model: setup.model, parameters: prunable, mask: start)
        if let nm = config.nm { return try nmAllocation(scores, pattern: nm, start: start, say: say) }
        let shapes = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.value.shape) })
        return ShearsPrune.prune(scores: scores, mask: start, fraction: config.sparsity, allocation: config.allocation, shapes: shapes)
    }

    /// The N:M mask of `scores` on every weight the pattern fits (a linear [out, in] or conv [O, C, KH, KW] whose input
    /// dimension is a multiple of M); the others (biases, a first conv's 3 input channels) stay dense, as NVIDIA's ASP
    /// leaves them, and are named.
    static func nmAllocation(_ scores: [String: Tensor], pattern: NMPattern, start: Mask, say: (String) -> Void) throws -> Mask {
        let fits = scores.filter { ($0.value.rank == 2 || $0.value.rank == 4) && $0.value.shape[1] % pattern.m == 0 }
        guard !fits.isEmpty else {
            throw TrainingError("--nm \(pattern): no prunable weight has an input dimension that is a multiple of \(pattern.m)")
        }
        let dense = scores.keys.filter { fits[$0] == nil }.sorted()
        if !dense.isEmpty { say("--nm \(pattern): left dense (input dimension not a multiple of \(pattern.m), or not a weight): \(dense.joined(separator: ", "))") }
        var mask = start
        for (name, t) in try nmMask(scores: fits, pattern: pattern).tensors { mask.tensors[name] = t }
        return mask
    }

    /// Fine-tuning with the mask fixed: the one loop with the evaluation hook, checkpointing the mask and the
    /// accuracies before and after pruning (a killed run resumes here).
    static func finetune(_ config: OneShotConfig, _ setup: TrainingSetup, state: inout LoopState, extra: ProtocolState,
                         in dir: RunDirectory, options: TrainingOptions, say: @escaping (String) -> Void) throws -> [String: Double]? {
        let bpe = setup.batchesPerEpoch, total = config.finetuneEpochs * bpe, model = setup.model
        let schedule = try ScheduleRegistry.make(config.training.schedule, ScheduleContext(baseLR: config.training.lr, iterationsPerEpoch: bpe,
                                                                                           totalIterations: total))
        let loop = TrainLoop(model: model, parameters: setup.parameters, loader: setup.loader, total: total,
                             learningRate: { schedule.learningRate(iteration: $0) }) { loss, at in
            "the fine-tuning loss became \(loss) at iteration \(at); \(checkpointNote(dir)). Try a smaller --lr (now \(config.training.lr))."
        }
        let evaluation = EvaluationHook(data: setup.data, run: dir, every: setup.evalEvery) { s, row in
            try Checkpoint.save(to: dir.checkpointPath, model: model, optimizer: s.optimizer, position: s.position, state: extra)
            say(String(format: "fine-tune it %d (ep %.2f)  train acc %.2f%%  val acc %@  test acc %.2f%%", s.iteration,
                       Double(s.iteration) / Double(bpe), 100 * row["train_acc"]!, percent(row["val_acc"]), 100 * row["test_acc"]!))
        }
        let progress = ProgressHook(total: total, start: state.position, batchSize: config.training.batchSize, terminal: options.terminalProgress)
        try loop.run(&state, hooks: [progress, evaluation] + options.interruptHooks(stage: 0))
        return evaluation.row(at: total)
    }
}
