import Foundation
import ShearsAnalysis
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsTensor

/// Mode connectivity between two minima (the gRDA paper's §4.2 and Figures 5/11; Garipov et al. 2018's procedure;
/// spec §4a), in three steps that each resume where a killed run stopped:
///
/// 1. **Train the curve.** The quadratic Bézier curve φ_θ(t) = (1 − t)²·w_start + 2t(1 − t)·θ + t²·w_end
///    (`QuadraticBezier`; start = gRDA at t = 0, end = SGD at t = 1, both fixed) has its middle bend θ initialised at
///    (w_start + w_end)/2 — every parameter, batch-norm γ/β included — and trained by SGD: each minibatch draws one
///    t ~ U(0, 1), the network runs with weights φ_θ(t) and the gradient reaching θ is 2t(1 − t)·∂L/∂φ. Batch-norm
///    running statistics are shared across t while training (they are recomputed before every evaluation).
/// 2. **Evaluate along the curve** at t = linspace(0, 1, points): at each t the weights φ(t) are loaded, the batch-norm
///    statistics recomputed from the training data (`recomputeBatchNormStatistics`, a cumulative average), then train
///    loss / error and test loss / error measured.
/// 3. **Evaluate the plane** through the three bends (`WeightPlane`): a G×G grid α, β ∈ linspace(−m, 1 + m, G) at
///    w_start + α·dx·u + β·dy·v, each point measured like the curve's; the curve is projected into the plane.
///
/// Output: `connectivity.json` (`ConnectivityReport`), `middle.safetensors` (θ with PyTorch names), `curve_*.svg`,
/// `plane_train_loss.svg`, `plane_test_error.svg` (contours with the bends and the projected curve), `summary.md`.
/// Intermediate state: `checkpoint.safetensors` (θ, momentum, buffers, iteration), `curve_points.json`,
/// `plane_points.json`.
public enum ModeConnectivity {
    /// The stages an `Interrupt` names: curve training (at an iteration), curve points, plane points (after that
    /// many were measured).
    public enum Stage: Int { case training = 0, curve = 1, plane = 2 }

    public static func run(_ config: ConnectivityConfig, in dir: RunDirectory, options: TrainingOptions = TrainingOptions()) throws -> ConnectivityReport {
        try config.validate()
        guard !DataParallelRun.isParallel else {
            throw TrainingError("analyze connectivity runs in one process (its curve step draws t per minibatch and is not "
                + "data-parallel); start it without mpirun")
        }
        Threads.set(options.threads)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "connectivity.json", summary: ConnectivityReport.self) {
            return done
        }
        let say = sayer(dir, options)

        // The model once, and the three bends as tensors in its parameter order.
        let tc = config.training
        let data = try prepareData(tc)
        var g = Generator(seed: tc.seed)
        let model = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        let params = model.namedParameters
        let start = try bend(config.start, model: model)
        let end = try bend(config.end, model: model)
        let evalTrain = data.train.prefix(min(config.trainExamples ?? data.train.count, data.train.count))
        say("mode connectivity of \(tc.model.rawValue) (\(model.parameterCount) parameters): \(config.startLabel) \(config.start) "
            + "(t = 0) ↔ \(config.endLabel) \(config.end) (t = 1)")

        // 1. The middle bend.
        let (theta, lastEpochLoss, seconds) = try trainMiddle(config, model: model, params: params, start: start, end: end,
                                                             data: data, in: dir, options: options, say: say)

        // 2. Along the curve. 3. The plane, and the summaries.
        let points = PointMeasurer(model: model, params: params, data: data, evalTrain: evalTrain, batchSize: config.batchSize,
                                   run: dir, options: options, say: say, overall: OverallProgress(total: config.points + config.grid * config.grid))
        let curve = try measureCurve(config, start: start, middle: theta, end: end, points: points)
        var report = try planeAndReport(config, start: start, middle: theta, end: end, curve: curve, points: points)
        report.finalCurveTrainingLoss = lastEpochLoss
        report.trainingSeconds = seconds
        try dir.writeJSON(report, to: "connectivity.json")   // summary.md and the figures: ShearsReport, from the CLI
        say(summaryLine(report))
        return report
    }

    /// The measured curve: its t values, the record of its points, and every point's weights flattened (for the curve's
    /// projection onto the plane and its length).
    struct MeasuredCurve {
        let ts: [Double]
        let record: ConnectivityCurve
        let sampled: [[Float]]
    }

    /// `config.points` points φ(t), t = linspace(0, 1), each measured (resumably) by `points`.
    static func measureCurve(_ config: ConnectivityConfig, start: [Tensor], middle theta: [Tensor], end: [Tensor],
                             points: PointMeasurer) throws -> MeasuredCurve {
        let ts = (0..<config.points).map { Double($0) / Double(config.points - 1) }
        func curvePoint(_ t: Double) -> [Tensor] {
            (0..<start.count).map { QuadraticBezier.point(t, start: start[$0], middle: theta[$0], end: end[$0]) }
        }
        let measured = try points.measure(ts.count, file: "curve_points.json", stage: .curve, weights: { curvePoint(ts[$0]) }) { k, p in
            String(format: "t = %.4f  train loss %.4f  train error %.2f%%  test error %.2f%%", ts[k], p.trainLoss, 100 * p.trainError, 100 * p.testError)
        }
        var curve = ConnectivityCurve()
        for (t, p) in zip(ts, measured) { curve.append(t, p) }
        return MeasuredCurve(ts: ts, record: curve, sampled: ts.map { flatten(curvePoint($0)) })
    }

    /// The plane through the three bends (none when θ lies on the line between the ends, which only --grid 0 accepts),
    /// its G×G grid measured, and the report: min / max / mean / length-weighted mean along the curve, the barrier.
    static func planeAndReport(_ config: ConnectivityConfig, start: [Tensor], middle theta: [Tensor], end: [Tensor],
                             curve: MeasuredCurve, points: PointMeasurer) throws -> ConnectivityReport {
        let flatStart = flatten(start), flatMiddle = flatten(theta), flatEnd = flatten(end)
        let plane: WeightPlane?
        do { plane = try WeightPlane(start: flatStart, middle: flatMiddle, end: flatEnd) } catch let e as WeightPlane.PlaneError {
            // An untrained middle bend sits on the line between the ends: the curve is the segment, the plane undefined.
            guard config.grid == 0 else { throw TrainingError("\(e.description); train the middle bend (--epochs > 0) or pass --grid 0") }
            plane = nil
        }
        let distance = zip(flatEnd, flatStart).reduce(0.0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }.squareRoot()
        let middleXY = plane?.coordinates(of: flatMiddle) ?? (x: distance / 2, y: 0)
        var planeRecord: ConnectivityPlane? = nil
        if config.grid > 0, let plane {
            planeRecord = try measurePlane(plane, config: config, points: points, like: start, curve: curve.sampled, middle: middleXY)
        }
        let c = curve.record
        return ConnectivityReport(
            start: config.start, end: config.end, startLabel: config.startLabel, endLabel: config.endLabel, curve: c,
            plane: planeRecord, distance: distance, middle: [middleXY.x, middleXY.y],
            trainLoss: CurveStatistic(t: curve.ts, values: c.trainLoss,
                                      lengthWeighted: QuadraticBezier.lengthWeightedMean(values: c.trainLoss, points: curve.sampled)),
            testError: CurveStatistic(t: curve.ts, values: c.testError,
                                      lengthWeighted: QuadraticBezier.lengthWeightedMean(values: c.testError, points: curve.sampled)),
            finalCurveTrainingLoss: nil, trainingSeconds: 0)
    }

    /// The G×G grid of the plane, α, β ∈ linspace(−m, 1 + m, G) in units of the ends' distance and θ's height, row
    /// by row; with the bends and the curve projected into it.
    static func measurePlane(_ plane: WeightPlane, config: ConnectivityConfig, points: PointMeasurer, like start: [Tensor],
                             curve: [[Float]], middle: (x: Double, y: Double)) throws -> ConnectivityPlane {
        let G = config.grid
        let axis = (0..<G).map { -config.margin + (1 + 2 * config.margin) * Double($0) / Double(G - 1) }
        let xs = axis.map { $0 * plane.dx }, ys = axis.map { $0 * plane.dy }
        let measured = try points.measure(G * G, file: "plane_points.json", stage: .plane,
                                          weights: { k in unflatten(plane.point(x: xs[k % G], y: ys[k / G]), like: start) }) { k, p in
            String(format: "plane (%d, %d) of %d×%d: train loss %.4f  test error %.2f%%", k % G, k / G, G, G, p.trainLoss, 100 * p.testError)
        }
        func grid(_ f: (ConnectivityPoint) -> Double) -> [[Double]] { (0..<G).map { j in (0..<G).map { i in f(measured[j * G + i]) } } }
        let projected = curve.map { w -> [Double] in
            let c = plane.coordinates(of: w)
            return [c.x, c.y]
        }
        return ConnectivityPlane(xs: xs, ys: ys, trainLoss: grid(\.trainLoss), trainError: grid(\.trainError),
                                 testLoss: grid(\.testLoss), testError: grid(\.testError),
                                 bends: [[0, 0], [middle.x, middle.y], [plane.dx, 0]], curve: projected)
    }

    /// Trains θ (or resumes it from `checkpoint.safetensors`) in the one loop with the curve's own step; returns θ,
    /// the mean loss of its last epoch and the training time. With 0 epochs θ stays at the midpoint of the ends (the
    /// straight line's middle).
    static func trainMiddle(_ config: ConnectivityConfig, model: any Layer, params: [(String, Variable)], start: [Tensor],
                            end: [Tensor], data: PreparedData, in dir: RunDirectory, options: TrainingOptions,
                            say: @escaping (String) -> Void) throws -> ([Tensor], Double?, Double) {
        if dir.fileExists("middle.safetensors") {
            let file = try SafetensorsFile.read(path: dir.path("middle.safetensors"))
            try Checkpoint.restoreModelState(model, from: file, path: dir.path("middle.safetensors"))
            return (params.map { $0.1.value }, file.metadata["last_epoch_loss"].flatMap(Double.init),
                    file.metadata["training_seconds"].flatMap(Double.init) ?? 0)
        }
        let tc = config.training
        let loader = DataLoader(dataset: data.train, batchSize: config.batchSize, shuffle: true, seed: config.seed,
                                augmentation: tc.augment ? .cifar : .none, mean: data.mean, std: data.std, prefetch: options.prefetch)
        let bpe = loader.batchesPerEpoch, total = config.epochs * bpe
        let schedule = try ScheduleRegistry.make(config.schedule, ScheduleContext(baseLR: config.lr, iterationsPerEpoch: bpe,
                                                                                   totalIterations: max(total, bpe)))
        // θ lives in its own variables (named as the model's parameters), which the optimizer updates.
        let theta = params.enumerated().map { k, p in (p.0, Variable((start[k] + end[k]) * 0.5, requiresGrad: true)) }
        var state = LoopState(optimizer: SGD(learningRate: config.lr, momentum: config.momentum, weightDecay: config.weightDecay))
        let epochs = EpochLossHook(batchesPerEpoch: bpe)
        func save(_ s: LoopState, to name: String) throws {
            for ((_, p), (_, th)) in zip(params, theta) { p.value = th.value }   // the state_dict holds θ
            var extra = ProtocolState(fields: ["epoch_loss_sum": String(epochs.lossSum), "epoch_batches": String(epochs.batches)])
            if let l = epochs.lastEpochLoss { extra.fields["last_epoch_loss"] = l.description }
            try Checkpoint.save(to: dir.path(name), model: model, optimizer: name == Checkpoint.fileName ? s.optimizer : nil,
                                position: s.position, state: extra)
        }
        if dir.fileExists(Checkpoint.fileName) {
            try resumeMiddle(from: dir, model: model, params: params, theta: theta, state: &state, epochs: epochs)
            say("resuming the curve training at iteration \(state.iteration) of \(total)")
        } else if total > 0 {
            say("training the middle bend: \(config.epochs) epochs × \(bpe) iterations, lr \(config.lr) (\(config.schedule)), "
                + "momentum \(config.momentum), batch \(config.batchSize), one t ~ U(0, 1) per minibatch")
        }
        let loop = TrainLoop(model: model, parameters: theta, loader: loader, total: total,
                             learningRate: { schedule.learningRate(iteration: $0, cycle: 0) }, divergence: { loss, at in
            "the curve's training loss became \(loss) at iteration \(at) (t = \(curveT(seed: config.seed, iteration: at))); "
                + "\(checkpointNote(dir)). Try a smaller --lr (now \(config.lr))."
        }, step: { loop, batch, iteration, optimizer in
            try curveStep(loop, batch: batch, iteration: iteration, optimizer: &optimizer, seed: config.seed, start: start, end: end,
                          theta: theta, params: params)
        })
        let checkpoints = ClosureHook(after: { _, s, _ in
            if s.iteration % bpe == 0 || s.iteration == total {
                say(String(format: "curve epoch %d/%d: mean training loss %.4f (lr %.4g)", s.iteration / bpe, config.epochs,
                           epochs.lastEpochLoss ?? .nan, Double(s.optimizer.learningRate)))
                try save(s, to: Checkpoint.fileName)
            } else if let i = options.interrupt, i.stage == Stage.training.rawValue, let n = i.iteration, s.iteration >= n {
                try save(s, to: Checkpoint.fileName)
            }
        })
        let interrupt = options.interruptHooks(stage: Stage.training.rawValue)
        let progress = ProgressHook(total: total, start: state.position, batchSize: config.batchSize,
                                    terminal: options.quiet ? false : options.terminalProgress, label: "curve")
        try loop.run(&state, hooks: [progress, epochs, checkpoints] + interrupt)
        try save(state, to: "middle.safetensors")
        return (theta.map { $0.1.value }, epochs.lastEpochLoss, state.position.seconds)
    }

    /// The curve training's checkpoint back into θ (the state_dict holds it), the optimizer, the loop position and the
    /// running epoch loss.
    static func resumeMiddle(from dir: RunDirectory, model: any Layer, params: [(String, Variable)], theta: [(String, Variable)],
                             state: inout LoopState, epochs: EpochLossHook) throws {
        let saved = try Checkpoint.load(dir.checkpointPath, into: model)
        for ((_, p), (_, th)) in zip(params, theta) { th.value = p.value }
        try saved.restore(&state.optimizer)
        state.position = saved.position
        epochs.lossSum = Double(try saved.field("epoch_loss_sum")) ?? 0
        epochs.batches = try saved.int("epoch_batches")
        epochs.lastEpochLoss = saved.file.metadata["last_epoch_loss"].flatMap(Double.init)
    }

    /// One step of curve training: draw t, run the network at φ_θ(t), and step θ with ∂L/∂θ = 2t(1 − t)·∂L/∂φ(t).
    static func curveStep(_ loop: TrainLoop, batch: Batch, iteration: Int, optimizer: inout any Optimizer, seed: UInt64,
                          start: [Tensor], end: [Tensor], theta: [(String, Variable)], params: [(String, Variable)]) throws -> StepOutcome {
        let t = curveT(seed: seed, iteration: iteration)
        let (_, middleCoefficient, _) = QuadraticBezier.coefficients(t)
        for (k, (_, p)) in params.enumerated() { p.value = QuadraticBezier.point(t, start: start[k], middle: theta[k].1.value, end: end[k]) }
        loop.model.zeroGrad()
        let loss = softmaxCrossEntropy(logits: loop.model(Variable(batch.images)), labels: batch.labels)
        let lossValue = loss.value.scalar
        guard lossValue.isFinite else { throw LossDiverged(loss: lossValue, description: loop.divergence(lossValue, iteration)) }
        loss.backward()
        for (k, (_, p)) in params.enumerated() { theta[k].1.grad = p.grad.map { $0 * Float(middleCoefficient) } }
        optimizer.learningRate = loop.learningRate(iteration)
        optimizer.step(theta)
        for (_, th) in theta { th.zeroGrad() }
        return StepOutcome(loss: lossValue, logits: nil, batch: batch)
    }

    /// The t ~ U(0, 1) of a training iteration: a pure function of (seed, iteration), so a resumed run draws the same.
    public static func curveT(seed: UInt64, iteration: Int) -> Double {
        var g = Generator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(iteration + 1))
        return g.nextDouble()
    }

    /// Loads a bend's weights into `model` (strictly, by state_dict name) and returns its parameters in model order.
    static func bend(_ path: String, model: any Layer) throws -> [Tensor] {
        try loadStateDict(model, from: path)
        return model.namedParameters.map { $0.1.value.contiguous() }
    }

    static func flatten(_ tensors: [Tensor]) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
        for t in tensors { out += t.contiguous().scalars }
        return out
    }

    static func unflatten(_ flat: [Float], like shapes: [Tensor]) -> [Tensor] {
        var offset = 0
        return shapes.map { s in
            defer { offset += s.count }
            return Tensor(shape: s.shape, scalars: Array(flat[offset..<(offset + s.count)]))
        }
    }

    static func summaryLine(_ r: ConnectivityReport) -> String {
        String(format: "‖w_%@ − w_%@‖ = %.4g, middle bend at (%.4g, %.4g); train loss along the curve: %.4g (t=0) → max %.4g at t = %.3f → %.4g (t=1), "
               + "barrier %.4g; test error: %.2f%% → min %.2f%% at t = %.3f → %.2f%%",
               r.endLabel, r.startLabel, r.distance, r.middle[0], r.middle[1], r.trainLoss.start, r.trainLoss.max, r.trainLoss.argmaxT,
               r.trainLoss.end, r.trainLoss.barrier, 100 * r.testError.start, 100 * r.testError.min, r.testError.argminT,
               100 * r.testError.end)
    }
}

/// Recomputes every batch-norm layer's running statistics at the model's current weights: reset, then one pass over
/// `dataset` in order, in the training phase without a tape, each batch folded in with momentum b/(N_seen + b) — a
/// cumulative average over the data (Garipov et al.'s `bn_update`, PyTorch's `update_bn`). A model without batch norm
/// is left alone (no pass).
public func recomputeBatchNormStatistics(_ model: any Layer, on dataset: Dataset, batchSize: Int, mean: [Float]?, std: [Float]?) {
    let buffers = model.namedBuffers.filter { $0.0.hasSuffix("running_mean") || $0.0.hasSuffix("running_var") || $0.0.hasSuffix("num_batches_tracked") }
    guard !buffers.isEmpty, dataset.count > 0 else { return }
    for (name, b) in buffers {
        b.value = name.hasSuffix("running_var") ? Tensor.ones(b.value.shape) : Tensor.zeros(b.value.shape)
    }
    let loader = DataLoader(dataset: dataset, batchSize: batchSize, shuffle: false, seed: 0, mean: mean, std: std, prefetch: 0)
    var seen = 0
    Context.with(.training) {
        GradMode.withoutGrad {
            for batch in loader.epoch(0) {
                let b = batch.labels.count
                Context.batchNormMomentum = Float(b) / Float(seen + b)
                defer { Context.batchNormMomentum = nil }
                _ = model(Variable(batch.images))
                seen += b
            }
        }
    }
}

/// The mean training loss per epoch (over batches) of the curve training; its running sums are part of the
/// checkpoint so that a resumed run reports the same.
final class EpochLossHook: TrainHook {
    let batchesPerEpoch: Int
    var lossSum = 0.0, batches = 0
    var lastEpochLoss: Double?
    init(batchesPerEpoch: Int) { self.batchesPerEpoch = max(1, batchesPerEpoch) }
    func afterStep(_ loop: TrainLoop, _ state: inout LoopState, _ outcome: StepOutcome) throws {
        lossSum += Double(outcome.loss); batches += 1
        if state.iteration % batchesPerEpoch == 0 || state.iteration == loop.total {
            lastEpochLoss = lossSum / Double(max(batches, 1))
            lossSum = 0; batches = 0
        }
    }
}

/// Measures points of weight space — curve or plane — one after the other, each saved as it is done (`file`), so that a
/// killed run continues at the next point: at every point the weights are loaded, the batch-norm statistics recomputed
/// from the training data, then train and test loss and error measured.
struct PointMeasurer {
    let model: any Layer
    let params: [(String, Variable)]
    let data: PreparedData
    let evalTrain: Dataset
    let batchSize: Int
    let run: RunDirectory
    let options: TrainingOptions
    let say: (String) -> Void
    /// Every point of the curve and the plane, counted as one unit each, for the ETA on each line.
    let overall: OverallProgress

    func measure(_ count: Int, file: String, stage: ModeConnectivity.Stage, weights: (Int) -> [Tensor],
                 line: (Int, ConnectivityPoint) -> String) throws -> [ConnectivityPoint] {
        var points = try run.readJSON([ConnectivityPoint].self, from: file) ?? []
        if !points.isEmpty && points.count < count { say("resuming \(file) at point \(points.count + 1) of \(count)") }
        overall.enter(before: stage == .plane ? overall.total - count : 0)
        while points.count < count {
            let p = point(weights(points.count))
            overall.stepped()
            say(line(points.count, p) + String(format: "  [point %d/%d, ETA %@]", overall.offset + points.count + 1, overall.total,
                                               ProgressReporter.clock(overall.eta(at: points.count + 1))))
            points.append(p)
            try run.writeJSON(points, to: file)
            if let i = options.interrupt, i.stage == stage.rawValue, let n = i.iteration, points.count >= n {
                throw TrainingInterrupted(iteration: points.count)
            }
        }
        return points
    }

    func point(_ weights: [Tensor]) -> ConnectivityPoint {
        for ((_, p), w) in zip(params, weights) { p.value = w }
        recomputeBatchNormStatistics(model, on: evalTrain, batchSize: batchSize, mean: data.mean, std: data.std)
        let train = evaluate(model, on: evalTrain, mean: data.mean, std: data.std)
        let test = evaluate(model, on: data.test, mean: data.mean, std: data.std)
        return ConnectivityPoint(trainLoss: train.loss, trainError: 1 - train.accuracy, testLoss: test.loss, testError: 1 - test.accuracy)
    }
}
