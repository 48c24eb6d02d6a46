import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Anytime Progressive Pruning (Misra et al., APP; shared/spec/app.md §1.6) in the ALMA stream, with its two baselines
/// (Anytime OSP and the dense model, §2) as switches of the same loop:
///
/// ```
///  1. f ← model(seed);  opt ← SGD(f)                         (one optimizer for the whole stream)
///  2. δ ← linspace(1, τ, |S_B|)                               (ProgressiveDensitySchedule)
///  3. for t = 1 … |S_B|:
///  4.    Tr_t, Va_t ← replay-inclusive train / validation parts (AnytimeStream, replay full | none | buffer)
///  5.    if APP, or OSP and t = 1:                              (dense: never)
///  6.       π_t ← int(0.2·|M_t|) examples of Tr_t
///  7.       s ← score(f, π_t)                                    (SNIP |Σ_b g_b ⊙ w|, magnitude |w|, random)
///  8.       mask ← keep the top ⌈d_t·N⌉ (nested) | mask ⊙ 1[s > kth(s)] (code-faithful),
///           d_t = 0.8^δ_t (APP) or 0.8^τ (OSP)
///  9.    for e = 0 … E−1:  one pass over shuffle(Tr_t) with lr(t, e) (cyclic: restart per t | non-cyclic)
/// 10.       gap_e ← running train acc − acc(Va_t);  keep the best-validation weights (strict >)
/// 11.    f ← best-validation weights of megabatch t
/// 12.    CER_t ← Σ_j 1(f(x_j) ≠ y_j) over the test set        (Eq. 1; CER = Σ_t CER_t)
/// ```
///
/// Layout of the run directory: `config.json`, `megabatches.jsonl` (one `MegabatchRecord` per finished megabatch, with
/// its per-epoch curves), `metrics.jsonl/csv` (one row per epoch across the stream: step = global epoch, with
/// `megabatch`, `train_acc`, `val_acc`, `gap`, `lr`, `density`), `checkpoint.safetensors` (weights, buffers,
/// `optimizer/…`, `mask/<name>`, `best/<name>`, position in the metadata; written after the pruning step and after
/// every epoch), `log.txt`, and at the end `model.safetensors`, `mask.safetensors` and `summary.json`.
///
/// Resume: data order, pruning samples, random scores and fresh weights are pure functions of (seed, megabatch,
/// epoch), so re-running the same command continues from the last checkpoint and ends bit-identical to an
/// uninterrupted run.
public enum AnytimeProgressivePruning {
    public static func run(_ config: AnytimeConfig, in dir: RunDirectory,
                           options: TrainingOptions = TrainingOptions()) throws -> AnytimeSummary {
        try config.validate()
        Threads.set(options.threads)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "summary.json", summary: AnytimeSummary.self) { return done }
        let env = try AnytimeEnvironment(config, run: dir, options: options)                       // line 1
        var s = try start(env)
        var records = try readRecords(dir).filter { $0.megabatch < s.pos.megabatch }
        try writeRecords(records, to: dir)
        let overall = env.overallProgress()
        while s.pos.megabatch <= config.megabatches {                                               // line 3
            let t = s.pos.megabatch
            let (trainSet, validationSet) = env.sets(at: t)                                         // line 4
            if !s.pos.pruned { try pruneStep(env, &s) }                                             // lines 5–8
            overall.enter(before: env.iterationsBefore(megabatch: t))
            try trainMegabatch(env, &s, on: trainSet, validation: validationSet, options: options, overall: overall)  // lines 9–10
            s.best?.restore(into: env.model.stateDict)                                              // line 11
            records.append(try record(env, s, records: records, train: trainSet, validation: validationSet))   // line 12
            try writeRecords(records, to: dir)
            s.pos = AnytimePosition(megabatch: t + 1, epoch: 0, pruned: false, seconds: s.pos.seconds)
            s.best = nil
            try saveCheckpoint(env, s)
            try options.interruptAtEnd(ofStage: t)
        }
        return try finish(env, s, records: records)
    }

    /// Everything an anytime run carries between steps besides the weights.
    struct State {
        var mask: Mask
        var optimizer: any Optimizer
        var best: WeightSnapshot?
        var pos: AnytimePosition
    }

    /// Lines 5–8 at megabatch t: when the method prunes at t, score on the pruning sample π_t and prune to the target
    /// density; the same optimizer goes on (momentum carries across megabatches), its state re-masked.
    static func pruneStep(_ env: AnytimeEnvironment, _ s: inout State) throws {
        let c = env.config, t = s.pos.megabatch
        if let d = c.targetDensity(at: t) {
            let count = env.stream.pruneSampleCount(at: t, replay: c.replay, fraction: c.pruneFraction, size: c.pruneSampleSize)
            let sample = env.stream.pruneSample(at: t, replay: c.replay, count: count, draw: c.pruneSample)
            s.mask = try prunedMask(env, megabatch: t, density: d, sample: sample, mask: s.mask)
            s.mask.apply(to: env.prunable)
            let state = s.optimizer.state
            s.optimizer = masked(makeOptimizer(c.training), mask: s.mask)
            try s.optimizer.loadState(state)
            env.say(String(format: "megabatch %d: pruned to %.4f of %d prunable weights (target %.4f, |π| = %d)",
                           t, s.mask.density, s.mask.total, d, sample.count))
        }
        s.pos.pruned = true
        try saveCheckpoint(env, s)
    }

    /// Lines 9–10: E epochs over shuffle(Tr_t) at lr(t, e) in the one loop; after every epoch the generalisation gap
    /// (running train accuracy − accuracy on Va_t), the best-validation weights (strict >), a metrics row and a checkpoint.
    static func trainMegabatch(_ env: AnytimeEnvironment, _ s: inout State, on trainSet: Dataset, validation: Dataset,
                               options: TrainingOptions, overall: OverallProgress? = nil) throws {
        let c = env.config, tc = c.training, t = s.pos.megabatch, epochs = tc.epochs!
        let loader = DataLoader(dataset: trainSet, batchSize: tc.batchSize, shuffle: true, seed: anytimeSeed(tc.seed, tag: 0x0D, t),
                                augmentation: tc.augment ? .cifar : .none, mean: env.data.mean, std: env.data.std, prefetch: options.prefetch)
        let bpe = loader.batchesPerEpoch, run = env.run
        let loop = TrainLoop(model: env.model, parameters: env.parameters, loader: loader, total: epochs * bpe,
                             learningRate: { c.learningRate(megabatch: t, epoch: $0 / bpe) }) { loss, at in
            "the training loss became \(loss) at megabatch \(t), epoch \(at / bpe + 1), batch \(at % bpe + 1); "
                + "\(checkpointNote(run)). Try a smaller --lr (now \(tc.lr))."
        }
        var current = s
        let epochEnd = EpochEndHook(batchesPerEpoch: bpe) { loopState, trainAcc, trainLoss in
            current.optimizer = loopState.optimizer
            current.pos.seconds = loopState.position.seconds
            try endOfEpoch(env, &current, validation: validation, trainAccuracy: trainAcc, trainLoss: trainLoss)
        }
        var state = LoopState(position: LoopPosition(iteration: s.pos.epoch * bpe), optimizer: s.optimizer)
        state.position.seconds = s.pos.seconds
        let progress = ProgressHook(total: epochs * bpe, start: state.position, batchSize: tc.batchSize,
                                    terminal: options.quiet ? false : options.terminalProgress, label: "megabatch \(t)/\(c.megabatches)", overall: overall)
        try loop.run(&state, hooks: [progress] + options.interruptHooks(stage: t) + [epochEnd])
        s = current
    }

    /// Line 10 after epoch e: validation accuracy and gap, the best weights, the metrics row, the checkpoint.
    static func endOfEpoch(_ env: AnytimeEnvironment, _ s: inout State, validation: Dataset, trainAccuracy: Double,
                           trainLoss: Double) throws {
        let c = env.config, t = s.pos.megabatch, epochs = c.training.epochs!
        let lr = c.learningRate(megabatch: t, epoch: s.pos.epoch)
        let val = evaluate(env.model, on: validation, mean: env.data.mean, std: env.data.std)
        s.pos.epoch += 1
        if val.accuracy > s.pos.bestValidationAccuracy {
            s.pos.bestValidationAccuracy = val.accuracy
            s.pos.bestEpoch = s.pos.epoch
            s.best = WeightSnapshot(env.model.stateDict)
        }
        let row: [String: Double] = [
            "megabatch": Double(t), "epoch_in_megabatch": Double(s.pos.epoch), "lr": Double(lr),
            "train_acc": trainAccuracy, "train_loss": trainLoss, "val_acc": val.accuracy, "val_loss": val.loss,
            "gap": trainAccuracy - val.accuracy, "density": s.mask.total == 0 ? 1 : s.mask.density,
        ]
        let step = s.pos.globalEpoch(epochsPerMegabatch: epochs)
        try env.run.appendMetrics(row, step: step, epoch: Double(step))
        try saveCheckpoint(env, s)
        env.say(String(format: "megabatch %d epoch %d  train acc %.2f%%  val acc %.2f%%  gap %.2f  lr %.4g",
                       t, s.pos.epoch, 100 * trainAccuracy, 100 * val.accuracy, 100 * (trainAccuracy - val.accuracy), Double(lr)))
    }

    /// Line 12: the record of megabatch t with F_t's test errors and the CER so far.
    static func record(_ env: AnytimeEnvironment, _ s: State, records: [MegabatchRecord], train: Dataset,
                       validation: Dataset) throws -> MegabatchRecord {
        let c = env.config, t = s.pos.megabatch, mask = s.mask
        let errors = testErrors(env.model, on: env.data.test, mean: env.data.mean, std: env.data.std)
        let rows = try epochRows(env.run, megabatch: t)
        let prunedHere = c.targetDensity(at: t) != nil
        let dense = env.prunable.reduce(0) { $0 + $1.1.value.count }
        let count = prunedHere ? env.stream.pruneSampleCount(at: t, replay: c.replay, fraction: c.pruneFraction, size: c.pruneSampleSize) : 0
        let record = MegabatchRecord(
            megabatch: t, delta: c.method == .app ? c.densitySchedule.delta(at: t) : prunedHere ? c.tau : nil,
            targetDensity: c.targetDensity(at: t), density: mask.total == 0 ? 1 : mask.density,
            remaining: mask.total == 0 ? dense : mask.remaining, total: mask.total == 0 ? dense : mask.total,
            trainExamples: train.count, validationExamples: validation.count, pruneSample: count,
            bestValidationAccuracy: s.pos.bestValidationAccuracy, bestEpoch: s.pos.bestEpoch,
            testAccuracy: 1 - Double(errors) / Double(max(env.data.test.count, 1)), testErrors: errors,
            cumulativeErrors: cumulativeErrorRate(records.map(\.testErrors) + [errors]),
            trainAccuracy: rows.map { $0["train_acc"] ?? .nan }, validationAccuracy: rows.map { $0["val_acc"] ?? .nan },
            gap: rows.map { $0["gap"] ?? .nan }, learningRate: rows.map { $0["lr"] ?? .nan })
        env.say(String(format: "megabatch %d done: density %.4f, best val acc %.2f%% (epoch %d), test acc %.2f%%, %d test errors, CER %d",
                       t, record.density, 100 * record.bestValidationAccuracy, record.bestEpoch, 100 * record.testAccuracy,
                       errors, record.cumulativeErrors))
        return record
    }

    /// The end of the stream: model, mask and `summary.json`.
    static func finish(_ env: AnytimeEnvironment, _ s: State, records: [MegabatchRecord]) throws -> AnytimeSummary {
        let c = env.config, dir = env.run
        try saveStateDict(env.model, to: dir.path("model.safetensors"), metadata: modelMetadata(env.data))
        try SafetensorsFile.write(path: dir.path("mask.safetensors"), tensors: s.mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt"])
        let last = records.last!
        let gaps = records.flatMap(\.gap)
        let summary = AnytimeSummary(
            method: c.method, pruner: c.pruner, maskUpdate: c.maskUpdate, megabatches: c.megabatches,
            tau: c.tau, testExamples: env.data.test.count, finalTestAccuracy: last.testAccuracy,
            cer: cumulativeErrorRate(records.map(\.testErrors)), finalDensity: last.density,
            targetFinalDensity: c.method == .dense ? 1 : c.densitySchedule.finalDensity,
            finalGap: last.gap.last ?? .nan, meanGap: gaps.isEmpty ? .nan : gaps.reduce(0, +) / Double(gaps.count),
            trainingSeconds: s.pos.seconds, records: records)
        try dir.writeJSON(summary, to: "summary.json")
        env.say(String(format: "done: final test acc %.2f%%, CER %d, final density %.4f (target %.4f), final gap %.2f, mean gap %.2f",
                       100 * summary.finalTestAccuracy, summary.cer, summary.finalDensity, summary.targetFinalDensity,
                       100 * summary.finalGap, 100 * summary.meanGap))
        return summary
    }

    /// Lines 6–8: the mask after pruning at megabatch t to density `d` on the pruning sample (indices into the pool).
    static func prunedMask(_ env: AnytimeEnvironment, megabatch t: Int, density d: Double, sample: [Int], mask: Mask) throws -> Mask {
        let c = env.config, tc = c.training, data = env.data
        guard c.pruner != AnytimeConfig.densePruner else { return mask }
        let batches = {
            Array(DataLoader(dataset: data.train.subset(sample), batchSize: c.scoringBatchSize, shuffle: false,
                             seed: anytimeSeed(tc.seed, tag: 0x5C, t), augmentation: tc.augment ? .cifar : .none,
                             mean: data.mean, std: data.std, prefetch: 0).epoch(0))
        }
        let context = ScoringContext(batches: batches, seed: anytimeSeed(tc.seed, tag: 0x2A, t), phase: c.scoringBatchNorm.phase,
                                     inputShape: data.train.imageShape)
        switch c.maskUpdate {
        case .nested:
            let scores = try CriterionRegistry.make(c.pruner, context).scores(model: env.model, parameters: env.prunable, mask: mask)
            return pruneToDensity(scores: scores, mask: mask, density: d)
        case .codeFaithful:
            // Spec §1.4: from t = 2 on the code's mask model loads the old mask and the trained non-prunable parameters
            // but not the trained prunable weights, which keep a fresh default init (kaiming-uniform, a = √5).
            let saved = env.prunable.map { $0.1.value }
            defer { for ((_, p), v) in zip(env.prunable, saved) { p.value = v; p.grad = nil } }
            if t >= 2 {
                var g = Generator(seed: anytimeSeed(tc.seed, tag: 0xF5, t))
                for (_, p) in env.prunable { p.value = WeightInit.pytorchDefault.weight(p.shape, generator: &g) }
            }
            // The code's SNIP differentiates the mask itself (all positions, the old mask as c); others as registered.
            let scores = c.pruner == SNIPScore.criterionName
                ? maskGradientSaliency(model: env.model, parameters: env.prunable, mask: mask, batches: batches(), phase: c.scoringBatchNorm.phase)
                : try CriterionRegistry.make(c.pruner, context).scores(model: env.model, parameters: env.prunable, mask: mask)
            return mask.intersection(thresholdMask(scores: scores, density: d))
        }
    }
}
