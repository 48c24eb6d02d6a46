import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// The outcome of one of the three trainings of a directional-pruning run.
public struct DirectionalPhaseResult: Codable, Equatable, Sendable {
    public var phase: String
    public var iterations: Int
    public var finalTrainLoss: Double
    public var finalTrainAccuracy: Double
    public var finalTestLoss: Double
    public var finalTestAccuracy: Double
    public var bestValidationAccuracy: Double?
    public var bestIteration: Int?
    public var testAccuracyAtBestValidation: Double?
    /// Exact zeros / all parameters (biases and batch norm included): the paper's global sparsity (spec §4c).
    public var sparsity: Double
    /// Exact zeros / conv and linear weights (the tensors of the paper's layerwise plot).
    public var weightSparsity: Double
    /// Per-tensor counts of nonzero weights, every parameter.
    public var layers: SparsityReport
    /// gRDA: the final soft threshold τ. GMP: the target sparsity of the prunable weights.
    public var threshold: Double?
    public var gmpTargetSparsity: Double?
    public var trainingSeconds: Double
}

/// `summary.json` of `shears prune grda`.
public struct DirectionalPruningSummary: Codable, Equatable, Sendable {
    public var phases: [DirectionalPhaseResult]
    public var parameters: Int
    public var prunableWeights: Int
}

/// The gRDA paper's protocol (shared/spec/grda.md; "Directional Pruning of Deep Neural Networks", NeurIPS 2020):
///
/// 1. **sgd** — the baseline: plain SGD (momentum 0, no weight decay) from the initial weights w₀;
/// 2. **grda** — `GRDA(c, μ)` from the *same* w₀, the same minibatch order and the same learning-rate schedule; the
///    sparsity comes from the soft threshold alone (no mask, no retraining);
/// 3. **gmp** — the comparison method: gradual magnitude pruning (Zhu & Gupta's cubic schedule, `ZhuGuptaSchedule`,
///    magnitude scores, nested masks held by `MaskedOptimizer` around SGD) of the conv/linear weights, again from w₀ with
///    the same order and schedule, to the same number of nonzero parameters gRDA ended with.
///
/// Every evaluation logs, beside losses and accuracies, `sparsity` (zeros / all parameters), `weight_sparsity` (zeros /
/// conv and linear weights) and `sparsity:<tensor>` for every parameter tensor, in each phase's `metrics.csv/jsonl`.
///
/// Layout: `config.json`, `summary.json`, `summary.md` and `curves_*.svg` at the top; per phase `sgd/`, `grda/`, `gmp/`
/// with `metrics.*`, `log.txt`, `checkpoint.safetensors` (weights, buffers, `optimizer/…` — for gRDA the accumulator,
/// step count and τ — `mask/…` for GMP; metadata: iteration, early-stop record), and at the end `model.safetensors`
/// and `result.json`. Re-running the same command skips finished phases and resumes an interrupted one from its last
/// checkpoint to the bit-identical result (data order is a pure function of seed and iteration).
public enum DirectionalPruning {
    public enum Phase: String, CaseIterable, Sendable { case sgd, grda, gmp }

    public static func run(_ config: DirectionalPruningConfig, in dir: RunDirectory,
                           options: TrainingOptions = TrainingOptions()) throws -> DirectionalPruningSummary {
        try config.validate()
        Threads.set(options.threads)
        if case .finished(let done) = try dir.open(config: config, summaryFile: "summary.json", summary: DirectionalPruningSummary.self) {
            return done
        }
        let setup = try TrainingSetup(config.training, prefetch: options.prefetch, say: sayer(dir, options))
        var results: [DirectionalPhaseResult] = []
        let phases = Phase.allCases.filter { ($0 != .sgd || config.baseline) && ($0 != .gmp || config.gmp) }
        let overall = OverallProgress(total: phases.count * setup.total)
        for (index, phase) in Phase.allCases.enumerated() where phases.contains(phase) {
            let sub = try RunDirectory(path: dir.path(phase.rawValue))
            let say = sayer(sub, options, prefix: "[\(phase.rawValue)] ")
            if let done = try sub.readJSON(DirectionalPhaseResult.self, from: "result.json") {
                say("already complete: test accuracy \(percent(done.finalTestAccuracy)), sparsity \(percent(done.sparsity))")
                results.append(done)
                continue
            }
            let plan = try PhasePlan(phase, config: config, setup: setup, grda: results.first { $0.phase == Phase.grda.rawValue }, say: say)
            overall.enter(before: results.count * setup.total)
            let progress = PhaseProgress(terminal: options.quiet ? false : options.terminalProgress, overall: overall,
                                    label: "phase \(results.count + 1)/\(phases.count) \(phase.rawValue)")
            results.append(try train(plan, config: config, setup: setup, in: sub, say: say,
                                     interrupt: options.interruptHooks(stage: index), progress: progress))
        }
        let probe = try setup.freshModel(say: { _ in })
        let summary = DirectionalPruningSummary(phases: results, parameters: probe.parameterCount,
                                                prunableWeights: PrunableSelection().select(probe).reduce(0) { $0 + $1.1.value.count })
        try dir.writeJSON(summary, to: "summary.json")   // summary.md and the curves: `DirectionalTables` (ShearsReport), from the CLI
        return summary
    }

    /// How a phase shows its progress: on a terminal or not, its label ("phase 2/3 grda") and the whole run's progress.
    struct PhaseProgress {
        let terminal: Bool?
        let overall: OverallProgress
        let label: String
    }

    /// One phase as a configuration of the one loop: the same w₀, order and schedule; what differs is the optimizer
    /// (SGD, gRDA, or SGD under a mask) and, for GMP, the hook that updates the mask on Zhu & Gupta's schedule.
    struct PhasePlan {
        let phase: Phase
        let model: any Layer
        let optimizer: any Optimizer
        let gmp: GradualMagnitudeHook?
        let description: String

        init(_ phase: Phase, config: DirectionalPruningConfig, setup: TrainingSetup, grda: DirectionalPhaseResult?,
             say: (String) -> Void) throws {
            self.phase = phase
            model = try setup.freshModel(say: say)   // the same w₀ in every phase
            let lr = setup.config.lr, params = model.namedParameters, weights = PrunableSelection().select(model)
            switch phase {
            case .sgd:
                optimizer = SGD(learningRate: lr); gmp = nil; description = ""
            case .grda:
                let unthresholded = config.thresholdAllParameters ? Set<String>() : Set(params.map(\.0)).subtracting(weights.map(\.0))
                optimizer = GRDA(learningRate: lr, c: config.c, mu: config.mu, unthresholded: unthresholded)
                gmp = nil; description = String(format: " with gRDA c = %g, μ = %g", config.c, config.mu)
            case .gmp:
                guard let grda else { throw TrainingError("gradual magnitude pruning needs the finished gRDA phase (its final sparsity)") }
                // The same number of nonzero parameters as gRDA: its zeros, all taken from the conv/linear weights.
                let mask = Mask.ones(for: weights)
                let target = min(1, Double(grda.layers.total - grda.layers.totalRemaining) / Double(max(mask.total, 1)))
                let s = config.makeGMPSchedule(totalIterations: setup.total, finalSparsity: target)
                guard s.end <= setup.total else {
                    throw TrainingError("--gmp-steps \(config.gmpSteps) do not fit in \(setup.total) iterations between --gmp-begin and --gmp-end")
                }
                let hook = GradualMagnitudeHook(schedule: s, weights: weights, mask: mask, allocation: config.gmpAllocation, lr: lr, target: target)
                optimizer = hook.optimizer(); gmp = hook
                description = String(format: " with GMP to %.2f%% sparsity of the conv/linear weights", 100 * target)
            }
        }

        /// The phase's checkpoint state: its name, and GMP's mask and target.
        var state: ProtocolState {
            var s = ProtocolState(fields: ["phase": phase.rawValue])
            if let gmp { s.add(gmp.mask); s.fields["gmp_target_sparsity"] = String(gmp.target) }
            return s
        }
    }

    /// Trains one phase from w₀ (or its last checkpoint) to the end: the evaluation hook logs the sparsity columns
    /// and checkpoints; `--snapshot-every` saves weights along training.
    static func train(_ plan: PhasePlan, config: DirectionalPruningConfig, setup: TrainingSetup, in run: RunDirectory,
                      say: @escaping (String) -> Void, interrupt: [any TrainHook], progress bar: PhaseProgress) throws -> DirectionalPhaseResult {
        let tc = setup.config, model = plan.model, phase = plan.phase, bpe = setup.batchesPerEpoch
        // The phase's training config, so that `shears analyze hessian RUN/<phase>` can rebuild model and data.
        if try run.readJSON(TrainingConfig.self, from: "config.json") == nil { try run.writeJSON(tc, to: "config.json") }
        var state = try start(plan, run: run, total: setup.total, say: say)
        let schedule = try setup.schedule()
        let loop = TrainLoop(model: model, parameters: model.namedParameters, loader: setup.loader, total: setup.total,
                             learningRate: { schedule.learningRate(iteration: $0) }) { loss, at in
            "the training loss became \(loss) at iteration \(at) of the \(phase.rawValue) phase; \(checkpointNote(run)). "
                + "Try a smaller --lr (now \(tc.lr))" + (phase == .grda ? " or a smaller --c." : ".")
        }
        var hooks: [any TrainHook] = plan.gmp.map { [$0] } ?? []
        if let every = config.snapshotEvery.map({ max(1, $0.iterations(perEpoch: bpe)) }) {
            // Written before the checkpoint, so a run killed in between rewrites the same file on resume.
            hooks.append(PeriodicHook(every: every) { s in
                try FileManager.default.createDirectory(atPath: run.path(snapshotDirectory), withIntermediateDirectories: true)
                try saveStateDict(model, to: run.path(snapshotName(s.iteration)), metadata: ["format": "pt", "iteration": String(s.iteration)])
            })
        }
        hooks.append(EvaluationHook(data: setup.data, run: run, every: setup.evalEvery, columns: { s in sparsityColumns(plan, s) }) { s, row in
            try Checkpoint.save(to: run.checkpointPath, model: model, optimizer: s.optimizer, position: s.position, state: plan.state)
            say(String(format: "it %d (ep %.2f)  train loss %.4f  test acc %.2f%%  sparsity %.2f%% (weights %.2f%%)  lr %.4g",
                       s.iteration, Double(s.iteration) / Double(bpe), row["train_loss"]!, 100 * row["test_acc"]!,
                       100 * row["sparsity"]!, 100 * row["weight_sparsity"]!, Double(s.optimizer.learningRate)))
        })
        let progress = ProgressHook(total: setup.total, start: state.position, batchSize: tc.batchSize, terminal: bar.terminal,
                                    label: bar.label, overall: bar.overall)
        try loop.run(&state, hooks: [progress] + hooks + interrupt)
        return try finish(plan, setup: setup, state: state, in: run, say: say)
    }

    /// A fresh phase, or its checkpoint (which must be this phase's; GMP's mask comes back into its hook).
    static func start(_ plan: PhasePlan, run: RunDirectory, total: Int, say: (String) -> Void) throws -> LoopState {
        var state = LoopState(optimizer: plan.optimizer)
        if run.fileExists(Checkpoint.fileName) {
            let saved = try Checkpoint.load(run.checkpointPath, into: plan.model)
            let p = try saved.field("phase")
            guard p == plan.phase.rawValue else { throw TrainingError("checkpoint \(run.checkpointPath) belongs to phase '\(p)', expected '\(plan.phase.rawValue)'") }
            if let gmp = plan.gmp {
                gmp.mask = try saved.mask(like: gmp.mask, model: plan.model)
                state.optimizer = gmp.optimizer()
            }
            try saved.restore(&state.optimizer)
            state.position = saved.position
            say("resuming from iteration \(state.iteration) of \(total)")
        } else {
            say("training \(plan.model.parameterCount) parameters for \(total) iterations" + plan.description)
        }
        try Checkpoint.truncateMetrics(in: run, after: state.iteration)
        return state
    }

    /// Beside losses and accuracies every row logs the sparsity of all parameters, of the conv/linear weights and of
    /// every tensor, gRDA's threshold τ and GMP's target.
    static func sparsityColumns(_ plan: PhasePlan, _ s: LoopState) -> [String: Double] {
        let params = plan.model.namedParameters
        let report = SparsityReport(mask: .nonzero(of: params), parameters: params)
        var row: [String: Double] = ["sparsity": 1 - report.density,
                                     "weight_sparsity": weightSparsity(report, names: Set(PrunableSelection().select(plan.model).map(\.0)))]
        for r in report.rows { row["sparsity:\(r.name)"] = 1 - r.density }
        if let g = s.optimizer as? GRDA, let first = params.first, let tau = g.thresholds[first.0] { row["threshold"] = tau }
        if let gmp = plan.gmp { row["gmp_target"] = gmp.schedule.sparsity(at: s.iteration - 1) }
        return row
    }

    /// The phase's end: `model.safetensors`, the final evaluations and `result.json`.
    static func finish(_ plan: PhasePlan, setup: TrainingSetup, state: LoopState, in run: RunDirectory,
                       say: (String) -> Void) throws -> DirectionalPhaseResult {
        let model = plan.model, data = setup.data, params = model.namedParameters
        try saveStateDict(model, to: run.path("model.safetensors"), metadata: modelMetadata(data))
        let train = evaluate(model, on: data.trainProbe, mean: data.mean, std: data.std)
        let test = evaluate(model, on: data.test, mean: data.mean, std: data.std)
        let report = SparsityReport(mask: .nonzero(of: params), parameters: params)
        let hasVal = data.validation.count > 0, best = state.position.best
        let names = Set(PrunableSelection().select(model).map(\.0))
        let result = DirectionalPhaseResult(
            phase: plan.phase.rawValue, iterations: setup.total, finalTrainLoss: train.loss, finalTrainAccuracy: train.accuracy,
            finalTestLoss: test.loss, finalTestAccuracy: test.accuracy,
            bestValidationAccuracy: hasVal ? best.validationAccuracy : nil, bestIteration: hasVal ? best.iteration : nil,
            testAccuracyAtBestValidation: hasVal ? best.testAccuracy : nil,
            sparsity: 1 - report.density, weightSparsity: weightSparsity(report, names: names), layers: report,
            threshold: (state.optimizer as? GRDA).flatMap { g in params.first.flatMap { g.thresholds[$0.0] } },
            gmpTargetSparsity: plan.gmp?.target, trainingSeconds: state.position.seconds)
        try run.writeJSON(result, to: "result.json")
        say(String(format: "done: test accuracy %.2f%%, sparsity %.2f%% of all parameters (%.2f%% of conv/linear weights)",
                   100 * test.accuracy, 100 * result.sparsity, 100 * result.weightSparsity))
        return result
    }

    /// Where `--snapshot-every` puts a phase's weights along training.
    public static let snapshotDirectory = "snapshots"
    public static func snapshotName(_ iteration: Int) -> String { "\(snapshotDirectory)/it_\(iteration).safetensors" }

    /// The iterations of the snapshots in a phase directory, ascending.
    public static func snapshotIterations(in phaseDirectory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: phaseDirectory + "/" + snapshotDirectory)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("it_"), n.hasSuffix(".safetensors") else { return nil }
            return Int(n.dropFirst(3).dropLast(".safetensors".count))
        }.sorted()
    }

    static func weightSparsity(_ report: SparsityReport, names: Set<String>) -> Double {
        let rows = report.rows.filter { names.contains($0.name) }
        let total = rows.reduce(0) { $0 + $1.total }
        return total == 0 ? 0 : 1 - Double(rows.reduce(0) { $0 + $1.remaining }) / Double(total)
    }
}
