import Foundation
import ShearsData
import ShearsDistributed
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsTensor

/// What one step produced: its loss, the logits (nil for steps that do not classify, e.g. a curve's) and the batch.
public struct StepOutcome {
    public let loss: Float
    public let logits: Tensor?
    public let batch: Batch
    /// The global batch's size and training accuracy when the step ran on one rank's shard of it (data-parallel);
    /// nil: `batch` is the whole batch and the accuracy is its logits'.
    public var global: (examples: Int, accuracy: Double)? = nil

    public init(loss: Float, logits: Tensor?, batch: Batch, global: (examples: Int, accuracy: Double)? = nil) {
        self.loss = loss; self.logits = logits; self.batch = batch; self.global = global
    }

    /// Examples the step trained on, over every rank.
    public var examples: Int { global?.examples ?? batch.labels.count }
    /// Training accuracy on those examples (nil for steps that do not classify).
    public var accuracy: Double? { global?.accuracy ?? logits.map { ShearsTensor.accuracy(logits: $0, labels: batch.labels) } }
}

/// The state a training carries from step to step: where it is and the optimizer (hooks may replace it, as gradual
/// magnitude pruning does when its mask changes).
public struct LoopState {
    public var position: LoopPosition
    public var optimizer: any Optimizer
    public var iteration: Int {
        get { position.iteration }
        set { position.iteration = newValue }
    }
    public init(position: LoopPosition = LoopPosition(), optimizer: any Optimizer) {
        self.position = position; self.optimizer = optimizer
    }
}

/// What happens around the steps of a training: evaluation and metrics, checkpoints, mask updates, snapshots,
/// progress, interrupts. Hooks run in the order given, `beforeStep` just before a step (after its batch is drawn),
/// `afterStep` after it, with the iteration already counting it.
public protocol TrainHook: AnyObject {
    func beforeStep(_ loop: TrainLoop, _ state: inout LoopState) throws
    func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws
}

extension TrainHook {
    public func beforeStep(_ loop: TrainLoop, _ state: inout LoopState) throws {}
    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {}
}

/// The one training loop: batches of `loader` from the state's iteration to `total`, each taken by `step` (the
/// standard forward → cross-entropy → backward → optimizer step unless a protocol brings its own, as mode
/// connectivity does) at `learningRate(iteration)`, with `hooks` around every step. Data order and augmentation are
/// pure functions of (seed, epoch, batch), so a loop started from a checkpoint's iteration replays exactly the batches
/// an uninterrupted run would have seen.
public struct TrainLoop {
    public typealias Step = (_ loop: TrainLoop, _ batch: Batch, _ iteration: Int, _ optimizer: inout any Optimizer) throws -> StepOutcome

    public let model: any Layer
    /// What the optimizer updates.
    public let parameters: [(String, Variable)]
    public let loader: DataLoader
    /// Iterations of this training.
    public let total: Int
    public let learningRate: (Int) -> Float
    /// The message of a diverged loss at an iteration (it says where, and that the last checkpoint is intact).
    public var divergence: (Float, Int) -> String
    public var step: Step?
    /// Set by `run` when this process is one rank of a data-parallel job (`DataParallelRun`); the standard step then
    /// trains on the rank's shard. A protocol with a step of its own must refuse to run data-parallel.
    public var dataParallel: DataParallel?

    public init(model: any Layer, parameters: [(String, Variable)], loader: DataLoader, total: Int,
                learningRate: @escaping (Int) -> Float, divergence: @escaping (Float, Int) -> String, step: Step? = nil) {
        self.model = model; self.parameters = parameters; self.loader = loader; self.total = total
        self.learningRate = learningRate; self.divergence = divergence; self.step = step
    }

    public var batchesPerEpoch: Int { loader.batchesPerEpoch }

    /// Trains from `state.iteration` to `total`.
    public func run(_ state: inout LoopState, hooks: [any TrainHook]) throws {
        var loop = self
        if loop.dataParallel == nil, state.iteration < total { loop.dataParallel = try joinDataParallel(at: state.iteration) }
        if state.iteration < total { loop.attachSparseKernels(&state) }
        defer { if SparseKernelsRun.mode != .off { SparseTraining.release(model) } }
        try loop.runSteps(&state, hooks: hooks)
        // Per-rank batch norm leaves each rank its own running statistics: rank 0's for every rank's model after a
        // training, as at every evaluation, so that what follows (evaluation, pruning, saving) sees one model.
        try loop.dataParallel?.broadcastBuffers(of: model)
    }

    private func runSteps(_ state: inout LoopState, hooks: [any TrainHook]) throws {
        let bpe = batchesPerEpoch
        var t0 = monotonicSeconds()
        while state.iteration < total {
            for batch in loader.epoch(state.iteration / bpe, startingAt: state.iteration % bpe) {
                for h in hooks { try h.beforeStep(self, &state) }
                let outcome = try (step ?? TrainLoop.standardStep)(self, batch, state.iteration, &state.optimizer)
                state.iteration += 1
                state.position.seconds += monotonicSeconds() - t0
                for h in hooks { try h.afterStep(self, &state, outcome) }
                t0 = monotonicSeconds()
                if state.iteration >= total { break }
            }
        }
    }

    /// Forward, cross-entropy, backward, optimizer update at the iteration's rate. A non-finite loss stops before
    /// the update (`LossDiverged`), so the weights and the last checkpoint stay good.
    public static func standardStep(_ loop: TrainLoop, _ batch: Batch, _ iteration: Int, _ optimizer: inout any Optimizer) throws -> StepOutcome {
        try standardStep(loop, batch, iteration, &optimizer, beforeUpdate: {})
    }

    /// The standard step with `beforeUpdate` run between the backward pass and the optimizer update: the parameters'
    /// gradients are then the plain backward's, not yet masked by a `MaskedOptimizer` (RigL reads the dense gradient there).
    public static func standardStep(_ loop: TrainLoop, _ batch: Batch, _ iteration: Int, _ optimizer: inout any Optimizer,
                                    beforeUpdate: () throws -> Void) throws -> StepOutcome {
        if let dp = loop.dataParallel { return try dataParallelStep(loop, dp, batch, iteration, &optimizer, beforeUpdate: beforeUpdate) }
        optimizer.learningRate = loop.learningRate(iteration)
        loop.model.zeroGrad()
        let logits = loop.model(Variable(batch.images))
        let loss = softmaxCrossEntropy(logits: logits, labels: batch.labels)
        let lossValue = loss.value.scalar
        guard lossValue.isFinite else { throw LossDiverged(loss: lossValue, description: loop.divergence(lossValue, iteration)) }
        loss.backward()
        try beforeUpdate()
        optimizer.step(loop.parameters)
        return StepOutcome(loss: lossValue, logits: logits.value, batch: batch)
    }
}

/// Thrown when a test's interrupt ends a run early, as if the process had been killed.
public struct TrainingInterrupted: Error { public let iteration: Int }

// MARK: the hooks every protocol uses

/// Evaluates every `every` iterations and at the end: train probe / validation / test loss and accuracy plus the
/// protocol's `columns`, the early-stop record (strictly better validation accuracy; earliest on ties), one metrics
/// row at `stepOffset + iteration`, then `after` (checkpoint, log line).
public final class EvaluationHook: TrainHook {
    let data: PreparedData
    let run: RunDirectory
    let every: Int
    let stepOffset: Int
    let columns: (LoopState) -> [String: Double]
    let after: (LoopState, [String: Double]) throws -> Void
    let trainProbe: Dataset
    /// The last row this hook evaluated, with its iteration: the end of a training reads its final accuracies here
    /// rather than evaluating the same weights again (a full pass over probe, validation and test — for a conv net as
    /// long as a fifth of an epoch's training). Only this process's evaluations: a resumed run that ends without one
    /// evaluates.
    public private(set) var last: (iteration: Int, row: [String: Double])?

    public init(data: PreparedData, run: RunDirectory, every: Int, stepOffset: Int = 0,
                columns: @escaping (LoopState) -> [String: Double] = { _ in [:] },
                after: @escaping (LoopState, [String: Double]) throws -> Void) {
        self.data = data; self.run = run; self.every = max(1, every); self.stepOffset = stepOffset
        self.columns = columns; self.after = after
        trainProbe = data.trainProbe
    }

    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        let it = state.iteration
        guard it % every == 0 || it == loop.total else { return }
        try loop.dataParallel?.broadcastBuffers(of: loop.model)   // every rank evaluates (and saves) rank 0's statistics
        var row = evaluationRow(model: loop.model, data: data, trainProbe: trainProbe, lr: state.optimizer.learningRate)
        row.merge(columns(state)) { _, b in b }
        last = (it, row)
        if data.validation.count > 0, let v = row["val_acc"], v > state.position.best.validationAccuracy {
            state.position.best = BestRecord(validationAccuracy: v, iteration: it, testAccuracy: row["test_acc"] ?? .nan)
        }
        try run.appendMetrics(row, step: stepOffset + it, epoch: Double(it) / Double(loop.batchesPerEpoch))
        try after(state, row)
    }

    /// The row evaluated at `iteration` when it was the last evaluation, else nil.
    public func row(at iteration: Int) -> [String: Double]? { last?.iteration == iteration ? last?.row : nil }
}

/// Runs `action` every `every` iterations and at the end (weight snapshots along training).
public final class PeriodicHook: TrainHook {
    let every: Int
    let action: (LoopState) throws -> Void
    public init(every: Int, action: @escaping (LoopState) throws -> Void) { self.every = max(1, every); self.action = action }
    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        if state.iteration % every == 0 || state.iteration == loop.total { try action(state) }
    }
}

/// A hook made of closures, for what only one protocol does.
public final class ClosureHook: TrainHook {
    let before: (TrainLoop, inout LoopState) throws -> Void
    let after: (TrainLoop, inout LoopState, StepOutcome) throws -> Void
    public init(before: @escaping (TrainLoop, inout LoopState) throws -> Void = { _, _ in },
                after: @escaping (TrainLoop, inout LoopState, StepOutcome) throws -> Void = { _, _, _ in }) {
        self.before = before; self.after = after
    }
    public func beforeStep(_ loop: TrainLoop, _ state: inout LoopState) throws { try before(loop, &state) }
    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws { try after(loop, &state, outcome) }
}

/// Stops the run as if killed once `when(iteration)` holds (tests of resume). Put it last: what the other hooks
/// wrote at that iteration (a checkpoint) is on disk.
public final class InterruptHook: TrainHook {
    let when: (Int) -> Bool
    public init(when: @escaping (Int) -> Bool) { self.when = when }
    public convenience init(atIteration n: Int) { self.init { $0 >= n } }
    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        if when(state.iteration) { throw TrainingInterrupted(iteration: state.iteration) }
    }
}

/// The terminal progress bar (silent when stdout is not a terminal) with the running train loss and accuracy.
public final class ProgressHook: TrainHook {
    let bar: ProgressReporter
    let batchSize: Int
    /// Where the training stands in its protocol ("run 2/3 · cycle 4/10"), shown before the bar.
    let label: String
    /// The whole command's progress, for its ETA (nil: this training is the whole command).
    let overall: OverallProgress?
    var seen = 0, correct = 0.0, startIteration: Int, startSeconds: Double
    public init(total: Int, start: LoopPosition, batchSize: Int, terminal: Bool?, label: String = "", overall: OverallProgress? = nil) {
        bar = ProgressReporter(totalIterations: total, startIteration: start.iteration, forceMode: terminal)
        self.batchSize = batchSize; self.label = label; self.overall = overall
        startIteration = start.iteration; startSeconds = start.seconds
    }
    public func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        overall?.stepped()
        guard bar.isTerminal else { return }
        let n = outcome.examples
        seen += n
        if let a = outcome.accuracy { correct += a * Double(n) }
        let images = Double((state.iteration - startIteration) * batchSize)
        let bpe = Double(loop.batchesPerEpoch)
        bar.step(iteration: state.iteration, epoch: Double(state.iteration) / bpe, loss: outcome.loss,
                 accuracy: correct / Double(max(seen, 1)), imagesPerSecond: images / max(state.position.seconds - startSeconds, 1e-9),
                 label: label, epochs: Double(loop.total) / bpe, overall: overall)
    }
}
