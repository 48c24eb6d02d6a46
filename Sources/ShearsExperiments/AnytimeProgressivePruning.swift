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
        if let saved = try dir.readJSON(AnytimeConfig.self, from: "config.json") {
            guard saved == config else {
                throw TrainingError("run directory \(dir.url.path) holds a run with a different configuration; choose another --out (or delete it)")
            }
        } else {
            try dir.writeJSON(config, to: "config.json")
        }
        if let done = try dir.readJSON(AnytimeSummary.self, from: "summary.json") { return done }

        // Line 1.
        let env = try AnytimeEnvironment(config, run: dir, options: options)
        let tc = config.training, epochs = tc.epochs!, model = env.model, say = env.say
        var mask = config.method == .dense ? Mask() : Mask.ones(for: env.prunable)
        var optimizer = masked(makeOptimizer(tc), mask: mask)
        var best: WeightSnapshot? = nil
        var pos = AnytimePosition()
        if dir.fileExists(Trainer.checkpointName) {
            try restore(env, optimizer: &optimizer, mask: &mask, best: &best, position: &pos)
            try Trainer.truncateMetrics(in: dir, after: pos.globalEpoch(epochsPerMegabatch: epochs))
            say("resuming \(dir.url.path) at megabatch \(pos.megabatch), epoch \(pos.epoch) of \(epochs)")
        } else {
            say("anytime \(config.method.rawValue) (\(config.pruner.rawValue), \(config.maskUpdate.rawValue)) of \(tc.model.rawValue) on "
                + "\(tc.dataset.rawValue): \(config.megabatches) megabatches of \(env.stream.megabatchSize), replay \(config.replay), "
                + "τ = \(config.tau), \(epochs) epochs each → \(dir.url.path)")
        }
        var records = try readRecords(dir).filter { $0.megabatch < pos.megabatch }
        try writeRecords(records, to: dir)
        func checkpoint() throws { try saveCheckpoint(env, optimizer: optimizer, mask: mask, best: best, position: pos) }

        // Line 3.
        while pos.megabatch <= config.megabatches {
            let t = pos.megabatch
            let (trainSet, validationSet) = env.sets(at: t)                                          // line 4
            let sampleCount = config.targetDensity(at: t) == nil ? 0
                : env.stream.pruneSampleCount(at: t, replay: config.replay, fraction: config.pruneFraction, size: config.pruneSampleSize)
            if !pos.pruned {
                if let d = config.targetDensity(at: t) {                                             // lines 5–8
                    let sample = env.stream.pruneSample(at: t, replay: config.replay, count: sampleCount, draw: config.pruneSample)
                    mask = try pruneStep(env, megabatch: t, density: d, sample: sample, mask: mask)
                    mask.apply(to: env.prunable)
                    // The same optimizer goes on (momentum carries across megabatches); its state is re-masked.
                    let state = optimizer.state
                    optimizer = masked(makeOptimizer(tc), mask: mask)
                    try optimizer.loadState(state)
                    say(String(format: "megabatch %d: pruned to %.4f of %d prunable weights (target %.4f, |π| = %d)",
                               t, mask.density, mask.total, d, sample.count))
                }
                pos.pruned = true
                try checkpoint()
            }

            let loader = DataLoader(dataset: trainSet, batchSize: tc.batchSize, shuffle: true,
                                    seed: anytimeSeed(tc.seed, tag: 0x0D, t), augmentation: tc.augment ? .cifar : .none,
                                    mean: env.data.mean, std: env.data.std, prefetch: options.prefetch)
            let bpe = loader.batchesPerEpoch
            while pos.epoch < epochs {                                                               // line 9
                let e = pos.epoch, lr = config.learningRate(megabatch: t, epoch: e)
                var seen = 0, correct = 0.0, lossSum = 0.0
                var t0 = monotonicSeconds()
                for (b, batch) in loader.epoch(e).enumerated() {
                    let (loss, logits) = try Trainer.step(model: model, optimizer: &optimizer, parameters: env.parameters,
                                                          batch: batch, learningRate: lr) { loss in
                        "the training loss became \(loss) at megabatch \(t), epoch \(e + 1), batch \(b + 1); the last "
                            + "checkpoint in \(dir.url.path) is intact. Try a smaller --lr (now \(tc.lr))."
                    }
                    seen += batch.labels.count
                    lossSum += Double(loss) * Double(batch.labels.count)
                    correct += accuracy(logits: logits, labels: batch.labels) * Double(batch.labels.count)
                    let now = monotonicSeconds()
                    pos.seconds += now - t0
                    t0 = now
                    if (options.stopAfterCycle ?? 1) == t, let stop = options.stopAfterIteration, e * bpe + b + 1 >= stop {
                        throw TrainingInterrupted(iteration: e * bpe + b + 1)
                    }
                }
                let trainAcc = correct / Double(max(seen, 1))                                       // line 10
                let val = evaluate(model, on: validationSet, mean: env.data.mean, std: env.data.std)
                pos.epoch += 1
                if val.accuracy > pos.bestValidationAccuracy {
                    pos.bestValidationAccuracy = val.accuracy
                    pos.bestEpoch = pos.epoch
                    best = WeightSnapshot(model.stateDict)
                }
                let row: [String: Double] = [
                    "megabatch": Double(t), "epoch_in_megabatch": Double(pos.epoch), "lr": Double(lr),
                    "train_acc": trainAcc, "train_loss": lossSum / Double(max(seen, 1)),
                    "val_acc": val.accuracy, "val_loss": val.loss, "gap": trainAcc - val.accuracy,
                    "density": mask.total == 0 ? 1 : mask.density,
                ]
                let step = pos.globalEpoch(epochsPerMegabatch: epochs)
                try dir.appendMetrics(row, step: step, epoch: Double(step))
                try checkpoint()
                say(String(format: "megabatch %d epoch %d  train acc %.2f%%  val acc %.2f%%  gap %.2f  lr %.4g",
                           t, pos.epoch, 100 * trainAcc, 100 * val.accuracy, 100 * (trainAcc - val.accuracy), Double(lr)))
            }

            best?.restore(into: model.stateDict)                                                      // line 11
            let errors = testErrors(model, on: env.data.test, mean: env.data.mean, std: env.data.std) // line 12
            let rows = epochRows(dir, megabatch: t)
            let prunedHere = config.targetDensity(at: t) != nil
            let record = MegabatchRecord(
                megabatch: t,
                delta: config.method == .app ? config.densitySchedule.delta(at: t) : prunedHere ? config.tau : nil,
                targetDensity: config.targetDensity(at: t),
                density: mask.total == 0 ? 1 : mask.density,
                remaining: mask.total == 0 ? env.prunable.reduce(0) { $0 + $1.1.value.count } : mask.remaining,
                total: mask.total == 0 ? env.prunable.reduce(0) { $0 + $1.1.value.count } : mask.total,
                trainExamples: trainSet.count, validationExamples: validationSet.count, pruneSample: sampleCount,
                bestValidationAccuracy: pos.bestValidationAccuracy, bestEpoch: pos.bestEpoch,
                testAccuracy: 1 - Double(errors) / Double(max(env.data.test.count, 1)), testErrors: errors,
                cumulativeErrors: cumulativeErrorRate(records.map(\.testErrors) + [errors]),
                trainAccuracy: rows.map { $0["train_acc"] ?? .nan }, validationAccuracy: rows.map { $0["val_acc"] ?? .nan },
                gap: rows.map { $0["gap"] ?? .nan }, learningRate: rows.map { $0["lr"] ?? .nan })
            records.append(record)
            try writeRecords(records, to: dir)
            say(String(format: "megabatch %d done: density %.4f, best val acc %.2f%% (epoch %d), test acc %.2f%%, %d test errors, CER %d",
                       t, record.density, 100 * record.bestValidationAccuracy, record.bestEpoch, 100 * record.testAccuracy,
                       errors, record.cumulativeErrors))
            pos = AnytimePosition(megabatch: t + 1, epoch: 0, pruned: false, seconds: pos.seconds)
            best = nil
            try checkpoint()
            if options.stopAfterIteration == nil, let stop = options.stopAfterCycle, stop == t {
                throw TrainingInterrupted(iteration: 0)
            }
        }

        try saveStateDict(model, to: dir.path("model.safetensors"), metadata: ["format": "pt"])
        try SafetensorsFile.write(path: dir.path("mask.safetensors"), tensors: mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt"])
        let last = records.last!
        let gaps = records.flatMap(\.gap)
        let summary = AnytimeSummary(
            method: config.method, pruner: config.pruner, maskUpdate: config.maskUpdate, megabatches: config.megabatches,
            tau: config.tau, testExamples: env.data.test.count, finalTestAccuracy: last.testAccuracy,
            cer: cumulativeErrorRate(records.map(\.testErrors)), finalDensity: last.density,
            targetFinalDensity: config.method == .dense ? 1 : config.densitySchedule.finalDensity,
            finalGap: last.gap.last ?? .nan, meanGap: gaps.isEmpty ? .nan : gaps.reduce(0, +) / Double(gaps.count),
            trainingSeconds: pos.seconds, records: records)
        try dir.writeJSON(summary, to: "summary.json")
        say(String(format: "done: final test acc %.2f%%, CER %d, final density %.4f (target %.4f), final gap %.2f, mean gap %.2f",
                   100 * summary.finalTestAccuracy, summary.cer, summary.finalDensity, summary.targetFinalDensity,
                   100 * summary.finalGap, 100 * summary.meanGap))
        return summary
    }

    /// Lines 6–8: the mask after pruning at megabatch t to density `d` on the pruning sample (indices into the pool).
    static func pruneStep(_ env: AnytimeEnvironment, megabatch t: Int, density d: Double, sample: [Int], mask: Mask) throws -> Mask {
        let c = env.config, tc = c.training
        let loader = DataLoader(dataset: env.data.train.subset(sample), batchSize: c.scoringBatchSize, shuffle: false,
                                seed: anytimeSeed(tc.seed, tag: 0x5C, t), augmentation: tc.augment ? .cifar : .none,
                                mean: env.data.mean, std: env.data.std, prefetch: 0)
        let batches = Array(loader.epoch(0))
        let phase = c.scoringBatchNorm.phase
        let random = RandomScore(seed: anytimeSeed(tc.seed, tag: 0x2A, t))
        switch c.maskUpdate {
        case .nested:
            let scores: [String: Tensor]
            switch c.pruner {
            case .snip: scores = try SNIPScore(batches: batches, phase: phase).scores(model: env.model, parameters: env.prunable, mask: mask)
            case .magnitude: scores = try MagnitudeScore().scores(model: env.model, parameters: env.prunable, mask: mask)
            case .random: scores = try random.scores(model: env.model, parameters: env.prunable, mask: mask)
            case .none: return mask
            }
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
            let scores: [String: Tensor]
            switch c.pruner {
            case .snip: scores = maskGradientSaliency(model: env.model, parameters: env.prunable, mask: mask, batches: batches, phase: phase)
            case .magnitude: scores = try MagnitudeScore().scores(model: env.model, parameters: env.prunable, mask: mask)
            case .random: scores = try random.scores(model: env.model, parameters: env.prunable, mask: mask)
            case .none: return mask
            }
            return mask.intersection(thresholdMask(scores: scores, density: d))
        }
    }
}
