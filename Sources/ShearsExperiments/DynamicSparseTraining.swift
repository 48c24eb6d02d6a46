import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Dynamic sparse training (SET, Mocanu et al. 2018; RigL, Evci et al. 2020), in the one loop:
///
///     mask ← random at the per-layer densities (uniform or ERK); w ← w ⊙ mask (--sparse-init fan-in: each unit's kept
///         weights × √(dense fan-in / kept fan-in), Evci et al. 2022)
///     for t = 1 … T:  SGD step on the masked network (pruned weights and their optimizer state stay 0)
///         if t mod ΔT = 0 and t < end_update · T:  per layer, k = round(f(t) · active)
///             drop the k active weights of smallest |w|; grow k inactive ones (SET: at random; RigL: largest |∂L/∂w|)
///             grown weights and their optimizer state start at 0
///
/// The sparsity is exactly constant. Gradual magnitude pruning (Zhu & Gupta 2017, `--method gmp`) runs in the same
/// loop with a different mask:
///
///     mask ← dense
///     for t = 1 … T:  SGD step on the masked network (the run's optimizer, momentum included)
///         if t = t₀ + kΔT, k = 1 … n (t₀ = ⌈begin_update · T⌉, t₀ + nΔT the last such t before end_update · T):
///             per layer, prune the alive weights of smallest |w| down to the counts of s_t = s_f·(1 − (1 − k/n)³)
///             (nested; the newly pruned weights' optimizer state set to 0)
///
/// so the last update reaches exactly the total count SET and RigL keep throughout (uniform: every layer's count).
/// Every selected layer is sparse, the first included (RigL's code keeps the first layer dense: pass
/// `--keep-first-layer`); with ERK a layer is dense only where ERK assigns it density 1. The mask
/// is checkpointed with the weights, and every random choice is a function of the seed and the iteration, so a killed
/// run re-run continues bit for bit.
public enum DynamicSparseTraining {
    public static func run(_ config: DynamicSparseConfig, in dir: RunDirectory, options: TrainingOptions = TrainingOptions()) throws -> DynamicSparseSummary {
        try config.validate()
        Threads.set(options.threads)
        let say = sayer(dir, options)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "summary.json", summary: DynamicSparseSummary.self) {
            say("run in \(dir.url.path) is already complete: test accuracy at best validation \(percent(done.testAccuracyAtBestValidation))")
            return done
        }
        let setup = try TrainingSetup(config.training, prefetch: options.prefetch, say: say)
        let model = setup.model, data = setup.data, total = setup.total
        let prunable = config.selection.select(model)
        guard !prunable.isEmpty else { throw TrainingError("prune dynamic: the model has no prunable weights with this selection") }
        var mask = initialMask(config, prunable: prunable)
        let updates = try DynamicSparsityHook(config: config, weights: prunable, mask: mask, total: total)
        var state = LoopState(optimizer: masked(makeOptimizer(config.training), mask: mask))
        if dir.fileExists(Checkpoint.fileName) {
            let saved = try Checkpoint.load(dir.checkpointPath, into: model)
            mask = try saved.mask(like: mask, model: model)
            state = LoopState(position: saved.position, optimizer: masked(makeOptimizer(config.training), mask: mask))
            try saved.restore(&state.optimizer)
            say("resuming \(dir.url.path) from iteration \(state.iteration) of \(total)")
        } else if let gmp = updates.gmpSchedule {
            say(String(format: "gmp: %@ dense → %.2f%% of %d prunable weights (%@) in %d pruning steps, every %d iterations from %d to %d of %d → %@",
                       config.training.model.rawValue, 100 * (1 - config.sparsity), mask.total, config.distribution.rawValue,
                       gmp.steps, gmp.frequency, gmp.begin + gmp.frequency, gmp.end, total, dir.url.path))
        } else {
            say(String(format: "%@: %@ at %.2f%% of %d prunable weights (%@), ΔT %d, α %g (%@) until %g of %d iterations → %@",
                       config.method.rawValue, config.training.model.rawValue, 100 * mask.density, mask.total, config.distribution.rawValue,
                       config.updateEvery, config.dropFraction, config.dropSchedule.rawValue, config.endUpdate, total, dir.url.path))
        }
        mask.apply(to: prunable)
        // Only on a fresh start: a resumed run's weights come from its checkpoint, already scaled.
        if state.iteration == 0 && !dir.fileExists(Checkpoint.fileName) { config.sparseInit?.apply(to: prunable, mask: mask) }
        try Checkpoint.truncateMetrics(in: dir, after: state.iteration)
        updates.mask = mask
        let evaluated = try train(config, setup, updates: updates, state: &state, in: dir, options: options, say: say)

        try saveStateDict(model, to: dir.path("model.safetensors"), metadata: modelMetadata(data))
        try SafetensorsFile.write(path: dir.path("mask.safetensors"), tensors: updates.mask.tensors.mapValues { $0.contiguous() },
                                  dtypes: [:], metadata: ["format": "pt"])
        let hasValidation = data.validation.count > 0, best = state.position.best
        let summary = DynamicSparseSummary(
            method: config.method.rawValue, split: config.training.split.rawValue, percentRemaining: 100 * updates.mask.density,
            remaining: updates.mask.remaining, total: updates.mask.total, maskUpdates: updates.updateCount(through: total),
            testAccuracyFinal: evaluated?["test_acc"] ?? evaluate(model, on: data.test, mean: data.mean, std: data.std).accuracy,
            bestValidationAccuracy: hasValidation ? best.validationAccuracy : nil,
            testAccuracyAtBestValidation: hasValidation ? best.testAccuracy : nil, trainingSeconds: state.position.seconds)
        try dir.writeJSON(summary, to: "summary.json")
        say(String(format: "done: %.2f%% of the prunable weights remain after %d mask updates; test accuracy %.2f%% (at best validation %@)",
                   summary.percentRemaining, summary.maskUpdates, 100 * summary.testAccuracyFinal, percent(summary.testAccuracyAtBestValidation)))
        return summary
    }

    /// The starting mask: the per-layer kept counts of the distribution, at positions drawn from the run's seed; gmp:
    /// every weight.
    public static func initialMask(_ config: DynamicSparseConfig, prunable: [(String, Variable)]) -> Mask {
        if config.method == .gmp { return Mask.ones(for: prunable) }
        let shapes = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) })
        let keep = dynamicKeepCounts(shapes: shapes, sparsity: config.sparsity, distribution: config.distribution)
        var g = Generator(seed: DynamicSparsityHook.seed(config.training.seed, iteration: 0))
        return randomMask(shapes: shapes, keep: keep, generator: &g)
    }

    /// The training: the standard step, which hands RigL the dense gradient before the optimizer masks it, the mask
    /// updates after the step, then evaluation with a checkpoint that holds the current mask. Returns the last
    /// iteration's evaluation row when this process made it.
    static func train(_ config: DynamicSparseConfig, _ setup: TrainingSetup, updates: DynamicSparsityHook, state: inout LoopState,
                      in dir: RunDirectory, options: TrainingOptions, say: @escaping (String) -> Void) throws -> [String: Double]? {
        let model = setup.model, bpe = setup.batchesPerEpoch, schedule = try setup.schedule()
        var loop = TrainLoop(model: model, parameters: setup.parameters, loader: setup.loader, total: setup.total,
                             learningRate: { schedule.learningRate(iteration: $0) }) { loss, at in
            "the training loss became \(loss) at iteration \(at) (epoch \(at / bpe)); \(checkpointNote(dir)). Try a smaller --lr (now \(config.training.lr))."
        }
        loop.step = { loop, batch, iteration, optimizer in
            try TrainLoop.standardStep(loop, batch, iteration, &optimizer) { updates.captureDenseGradients(atStep: iteration + 1) }
        }
        let evaluation = EvaluationHook(data: setup.data, run: dir, every: setup.evalEvery, columns: { s in
            ["percent_remaining": 100 * updates.mask.density, "mask_updates": Double(updates.updateCount(through: s.iteration))]
        }) { s, row in
            var extra = ProtocolState()
            extra.add(updates.mask)
            try Checkpoint.save(to: dir.checkpointPath, model: model, optimizer: s.optimizer, position: s.position, state: extra)
            say(String(format: "it %d (ep %.2f)  train loss %.4f acc %.2f%%  val acc %@  test acc %.2f%%  %d mask updates", s.iteration,
                       Double(s.iteration) / Double(bpe), row["train_loss"]!, 100 * row["train_acc"]!, percent(row["val_acc"]),
                       100 * row["test_acc"]!, updates.updateCount(through: s.iteration)))
        }
        let progress = ProgressHook(total: setup.total, start: state.position, batchSize: config.training.batchSize,
                                    terminal: options.quiet ? false : options.terminalProgress)
        // The mask update before the evaluation: the checkpoint of iteration t holds the mask that step t left.
        try loop.run(&state, hooks: [progress, updates, evaluation] + options.interruptHooks(stage: 0))
        return evaluation.row(at: setup.total)
    }
}

/// The mask updates of dynamic sparse training as a hook of the one loop: after step t (t counting it) when
/// t mod ΔT = 0 and t < end_update · T, drop and grow in every masked layer (`dynamicMaskUpdate`), set the new mask in
/// the `MaskedOptimizer` and zero the optimizer state of the grown connections. gmp: after each step of its Zhu–Gupta
/// schedule, prune by magnitude to the scheduled sparsity and zero the optimizer state of the newly pruned weights —
/// the run's optimizer is kept (unlike gRDA's `GradualMagnitudeHook`, which starts a momentum-free SGD).
final class DynamicSparsityHook: TrainHook {
    let config: DynamicSparseConfig
    let weights: [(String, Variable)]
    let total: Int
    /// The mask in force (set again by the protocol after a resume).
    var mask: Mask
    /// gmp's schedule in iterations (nil for SET and RigL).
    let gmpSchedule: ZhuGuptaSchedule?
    /// RigL's dense gradient of the step that ends at an update iteration, taken before the optimizer masks it.
    private var denseGradients: [String: Tensor]?

    init(config: DynamicSparseConfig, weights: [(String, Variable)], mask: Mask, total: Int) throws {
        self.config = config; self.weights = weights; self.mask = mask; self.total = total
        gmpSchedule = config.method == .gmp ? try Self.gmpSchedule(config, total: total) : nil
    }

    /// gmp's schedule: t₀ = ⌈begin · T⌉, steps every ΔT, the last, t₀ + nΔT, the latest such before T_end = end · T (as
    /// SET and RigL update only before T_end). The k-th step after t₀ prunes to s_f·(1 − (1 − k/n)³); t₀ itself would
    /// prune to s_i = 0, nothing, and is not counted. Throws, naming the flags, when no step fits.
    static func gmpSchedule(_ config: DynamicSparseConfig, total: Int) throws -> ZhuGuptaSchedule {
        // A tolerance on the products: 0.1 · 30 is 3.0000000000000004 in binary, whose ceiling would be 4.
        let begin = iteration(atFraction: config.beginUpdate, of: total)
        let last = iteration(atFraction: config.endUpdate, of: total) - 1
        let steps = (last - begin) / config.updateEvery
        guard last > begin, steps >= 1 else {
            throw TrainingError(String(format: "prune dynamic --method gmp: no pruning step fits between --begin-update %g (iteration %d) and --end-update %g (iteration %d) of %d iterations with --update-every %d; lower --update-every or widen the interval",
                                       config.beginUpdate, begin, config.endUpdate, last + 1, total, config.updateEvery))
        }
        return ZhuGuptaSchedule(initialSparsity: 0, finalSparsity: config.sparsity, begin: begin, frequency: config.updateEvery, steps: steps)
    }

    /// ⌈f · T⌉, the first iteration at or after the fraction f of the training. The product is taken with a tolerance:
    /// 0.55 · 100 is 55.00000000000001 in floating point, and must give 55, not 56.
    static func iteration(atFraction f: Double, of total: Int) -> Int {
        let x = f * Double(total)
        return Int((x - 1e-9 * max(1, x)).rounded(.up))
    }

    /// T_end = end_update · T (the cosine's period).
    var endIteration: Double { config.endUpdate * Double(total) }
    /// The first iteration without an update: ⌈T_end⌉.
    var endStep: Int { Self.iteration(atFraction: config.endUpdate, of: total) }

    func isUpdate(_ t: Int) -> Bool {
        if let gmp = gmpSchedule { return t > gmp.begin && gmp.isPruningStep(t) }
        return t > 0 && t % config.updateEvery == 0 && t < endStep
    }

    /// Updates made in iterations 1 … t: the multiples of ΔT up to t that lie before T_end (gmp: its steps after t₀).
    func updateCount(through t: Int) -> Int {
        if let gmp = gmpSchedule { return t <= gmp.begin ? 0 : min(gmp.steps, (t - gmp.begin) / gmp.frequency) }
        return max(0, min(t, endStep - 1)) / config.updateEvery
    }

    /// Called between backward and optimizer step of the step that makes the iteration count `t`.
    func captureDenseGradients(atStep t: Int) {
        guard config.method == .rigl, isUpdate(t) else { return }
        // Pruned weights are exactly 0, so the plain backward's gradient is ∂L/∂w of the dense weight. Tensors are
        // copy-on-write: the optimizer's in-place masking of `grad` leaves this copy intact.
        denseGradients = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, $0.1.grad ?? Tensor.zeros($0.1.shape)) })
    }

    func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        let t = state.iteration
        guard isUpdate(t) else { return }
        if let gmp = gmpSchedule { return try prune(to: gmp.sparsity(at: t), &state) }
        defer { denseGradients = nil }
        var g = Generator(seed: Self.seed(config.training.seed, iteration: t))
        let f = dropFraction(at: t, initial: config.dropFraction, schedule: config.dropSchedule, endIteration: endIteration)
        let (next, grown) = dynamicMaskUpdate(mask: mask, weights: weights, gradients: denseGradients, fraction: f,
                                              method: config.method, generator: &g)
        mask = next
        mask.apply(to: weights)          // the dropped weights become 0
        startAtZero(grown, in: weights)  // grown ones were pruned, hence 0 already; said here so that nothing relies on it
        try setMask(zeroingStateAt: grown, &state)
        refreshSparseKernels(loop.model, mask: mask, &state)   // the grown connections join the sparse layers' structure
    }

    /// Gives the optimizer the new mask and zeroes its state (momentum, moments) at `positions`: connections grown or
    /// pruned by this update start from none.
    private func setMask(zeroingStateAt positions: Mask, _ state: inout LoopState) throws {
        guard var optimizer = state.optimizer as? any MaskUpdatable else {
            throw TrainingError("prune dynamic: the optimizer does not take mask updates (expected a MaskedOptimizer)")
        }
        optimizer.mask = mask
        optimizer.zeroState(at: positions)
        state.optimizer = optimizer
    }

    /// gmp's step: prune by magnitude (nested) to `target`, tell the optimizer, and zero the optimizer state of the
    /// newly pruned weights now — `MaskedOptimizer` would do it at its next step, but the checkpoint written after this
    /// step would still carry their momentum.
    private func prune(to target: Double, _ state: inout LoopState) throws {
        let (next, pruned) = gradualMagnitudeUpdate(mask: mask, weights: weights, sparsity: target, distribution: config.distribution)
        mask = next
        mask.apply(to: weights)
        try setMask(zeroingStateAt: pruned, &state)
        // The early-stop record starts again at every step, so that the summary's accuracy at best validation is that
        // of a network at the final sparsity (chosen among the evaluations after the last step), not of a denser one.
        state.position.best = BestRecord()
    }

    /// The seed of the random choices at iteration t (0: the initial mask): SplitMix64's finaliser over (seed, tag, t),
    /// so that nearby seeds or iterations give unrelated streams and a resumed run redraws exactly what it drew before.
    static func seed(_ seed: UInt64, iteration t: Int) -> UInt64 {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return mix(mix(seed ^ 0x6479_6E61_6D69_63) ^ UInt64(t))   // tag: "dynamic"
    }
}
