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

    /// Where a test stops the run as if killed: right after `iteration`'s bookkeeping in `phase`.
    public struct Interrupt: Sendable {
        public var phase: Phase
        public var iteration: Int
        public init(phase: Phase, iteration: Int) { self.phase = phase; self.iteration = iteration }
    }

    public static func run(_ config: DirectionalPruningConfig, in dir: RunDirectory, options: TrainingOptions = TrainingOptions(),
                           interrupt: Interrupt? = nil) throws -> DirectionalPruningSummary {
        try config.validate()
        Threads.set(options.threads)
        if let saved = try dir.readJSON(DirectionalPruningConfig.self, from: "config.json") {
            guard saved == config else {
                throw TrainingError("run directory \(dir.url.path) holds a run with a different configuration; choose another --out (or delete it)")
            }
        } else {
            try dir.writeJSON(config, to: "config.json")
        }
        if let done = try dir.readJSON(DirectionalPruningSummary.self, from: "summary.json") { return done }

        let quiet = options.quiet
        let data = try prepareData(config.training)
        let tc = config.training
        let loader = DataLoader(dataset: data.train, batchSize: tc.batchSize, shuffle: true, seed: tc.seed,
                                augmentation: tc.augment ? .cifar : .none, mean: data.mean, std: data.std, prefetch: options.prefetch)
        let total = tc.iterations ?? tc.epochs! * loader.batchesPerEpoch

        var results: [DirectionalPhaseResult] = []
        var grdaResult: DirectionalPhaseResult?
        for phase in Phase.allCases {
            if phase == .sgd && !config.baseline { continue }
            if phase == .gmp && !config.gmp { continue }
            let sub = try RunDirectory(path: dir.path(phase.rawValue))
            let say: (String) -> Void = { s in if !quiet { print("[\(phase.rawValue)] " + s) }; try? sub.log(s) }
            let result: DirectionalPhaseResult
            if let done = try sub.readJSON(DirectionalPhaseResult.self, from: "result.json") {
                say("already complete: test accuracy \(Trainer.fmt(done.finalTestAccuracy)), sparsity \(percent(done.sparsity))")
                result = done
            } else {
                result = try trainPhase(phase, config: config, data: data, loader: loader, total: total, in: sub,
                                        gmpTarget: grdaResult, say: say, interrupt: interrupt)
            }
            if phase == .grda { grdaResult = result }
            results.append(result)
        }

        var modelRNG = Generator(seed: tc.seed)
        let probe = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &modelRNG)
        let summary = DirectionalPruningSummary(phases: results, parameters: probe.parameterCount,
                                                prunableWeights: PrunableSelection().select(probe).reduce(0) { $0 + $1.1.value.count })
        try writeReport(summary, config: config, in: dir, iterationsPerEpoch: loader.batchesPerEpoch)
        try dir.writeJSON(summary, to: "summary.json")
        if !quiet { print(markdownTable(summary)) }
        return summary
    }

    /// Trains one phase from w₀ (or its last checkpoint) to `total` iterations.
    static func trainPhase(_ phase: Phase, config: DirectionalPruningConfig, data: PreparedData, loader: DataLoader, total: Int,
                           in run: RunDirectory, gmpTarget grda: DirectionalPhaseResult?, say: (String) -> Void,
                           interrupt: Interrupt?) throws -> DirectionalPhaseResult {
        let tc = config.training
        // The phase's training config, so that `shears analyze hessian RUN/<phase>` can rebuild model and data.
        if try run.readJSON(TrainingConfig.self, from: "config.json") == nil { try run.writeJSON(tc, to: "config.json") }
        var modelRNG = Generator(seed: tc.seed)   // the same w₀ in every phase
        let model = try makeModel(tc.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &modelRNG)
        if let path = tc.initFrom { say("loaded " + (try loadStateDict(model, from: path)).summary) }
        let params = model.namedParameters
        let layerWeights = PrunableSelection().select(model)
        let layerWeightNames = Set(layerWeights.map(\.0))
        let bpe = loader.batchesPerEpoch
        let schedule = config.makeSchedule(iterationsPerEpoch: bpe, totalIterations: total)
        let evalEvery = max(1, tc.evalEvery.iterations(perEpoch: bpe))
        let snapshotEvery = config.snapshotEvery.map { max(1, $0.iterations(perEpoch: bpe)) }
        let trainProbe = data.train.prefix(min(10_000, data.train.count))

        // The optimizer of the phase; GMP also has its schedule and mask.
        var optimizer: any Optimizer
        var gmpSchedule: ZhuGuptaSchedule? = nil
        var mask = Mask.ones(for: layerWeights)
        var gmpTargetSparsity: Double? = nil
        switch phase {
        case .sgd:
            optimizer = SGD(learningRate: tc.lr)
        case .grda:
            let unthresholded = config.thresholdAllParameters ? Set<String>() : Set(params.map(\.0)).subtracting(layerWeightNames)
            optimizer = GRDA(learningRate: tc.lr, c: config.c, mu: config.mu, unthresholded: unthresholded)
        case .gmp:
            guard let grda else { throw TrainingError("gradual magnitude pruning needs the finished gRDA phase (its final sparsity)") }
            // The same number of nonzero parameters as gRDA: its zeros, all taken from the conv/linear weights.
            let zeros = Double(grda.layers.total - grda.layers.totalRemaining)
            let target = min(1, zeros / Double(max(mask.total, 1)))
            gmpTargetSparsity = target
            let s = config.makeGMPSchedule(totalIterations: total, finalSparsity: target)
            guard s.end <= total else {
                throw TrainingError("--gmp-steps \(config.gmpSteps) do not fit in \(total) iterations between --gmp-begin and --gmp-end")
            }
            gmpSchedule = s
            optimizer = MaskedOptimizer(SGD(learningRate: tc.lr), mask: mask)
        }

        var iteration = 0
        var best = BestRecord()
        var seconds = 0.0
        if run.fileExists(Trainer.checkpointName) {
            let file = try SafetensorsFile.read(path: run.checkpointPath)
            if let p = file.metadata["phase"], p != phase.rawValue {
                throw TrainingError("checkpoint \(run.checkpointPath) belongs to phase '\(p)', expected '\(phase.rawValue)'")
            }
            try Trainer.restoreModelState(model, from: file, path: run.checkpointPath)
            var state: [String: Tensor] = [:]
            for (k, t) in file.tensors where k.hasPrefix("optimizer/") { state[String(k.dropFirst("optimizer/".count))] = t }
            try optimizer.loadState(state)
            if phase == .gmp {
                let saved = try Mask(checkpointEntries: file.tensors)
                try saved.validate(against: layerWeights)
                guard Set(saved.names) == Set(mask.names) else {
                    throw TrainingError("checkpoint \(run.checkpointPath) holds masks for \(saved.names), expected \(mask.names)")
                }
                mask = saved
                optimizer = MaskedOptimizer(SGD(learningRate: tc.lr), mask: mask)
                try optimizer.loadState(state)
            }
            guard let it = file.metadata["iteration"].flatMap(Int.init) else {
                throw TrainingError("checkpoint \(run.checkpointPath) lacks its iteration")
            }
            iteration = it
            best = BestRecord(validationAccuracy: file.metadata["best_validation_accuracy"].flatMap(Double.init) ?? -.infinity,
                              iteration: file.metadata["best_iteration"].flatMap(Int.init) ?? 0,
                              testAccuracy: file.metadata["test_accuracy_at_best_validation"].flatMap(Double.init) ?? .nan)
            seconds = file.metadata["training_seconds"].flatMap(Double.init) ?? 0
            try Trainer.truncateMetrics(in: run, after: iteration)
            say("resuming from iteration \(iteration) of \(total)")
        } else {
            say("training \(tc.model.rawValue) (\(model.parameterCount) parameters) for \(total) iterations"
                + (phase == .grda ? String(format: " with gRDA c = %g, μ = %g", config.c, config.mu) : "")
                + (gmpTargetSparsity.map { String(format: " with GMP to %.2f%% sparsity of the conv/linear weights", 100 * $0) } ?? ""))
        }

        func checkpoint() throws {
            var (tensors, dtypes) = Trainer.checkpointTensors(model: model, optimizer: optimizer)
            if phase == .gmp { for (k, t) in mask.checkpointEntries { tensors[k] = t } }
            var metadata = ["format": "pt", "phase": phase.rawValue, "iteration": String(iteration),
                            "best_validation_accuracy": String(best.validationAccuracy), "best_iteration": String(best.iteration),
                            "test_accuracy_at_best_validation": String(best.testAccuracy), "training_seconds": String(seconds)]
            if let g = gmpTargetSparsity { metadata["gmp_target_sparsity"] = String(g) }
            try SafetensorsFile.write(path: run.checkpointPath, tensors: tensors, dtypes: dtypes, metadata: metadata)
        }

        var t0 = monotonicSeconds()
        while iteration < total {
            let epoch = iteration / bpe
            for batch in loader.epoch(epoch, startingAt: iteration % bpe) {
                if let s = gmpSchedule, s.isPruningStep(iteration) {
                    // Zhu & Gupta: the mask is updated before this step's forward pass.
                    mask = gradualMagnitudeStep(parameters: layerWeights, mask: mask, targetSparsity: s.sparsity(at: iteration),
                                                allocation: config.gmpAllocation)
                    mask.apply(to: layerWeights)
                    optimizer = MaskedOptimizer(SGD(learningRate: tc.lr), mask: mask)
                }
                let at = iteration
                _ = try Trainer.step(model: model, optimizer: &optimizer, parameters: params, batch: batch,
                                     learningRate: schedule.learningRate(iteration: at)) { loss in
                    "the training loss became \(loss) at iteration \(at) of the \(phase.rawValue) phase; the last checkpoint in "
                        + "\(run.url.path) is intact. Try a smaller --lr (now \(tc.lr))" + (phase == .grda ? " or a smaller --c." : ".")
                }
                iteration += 1
                let now = monotonicSeconds()
                seconds += now - t0
                t0 = now
                if let every = snapshotEvery, iteration % every == 0 || iteration == total {
                    // Written before the checkpoint, so a run killed in between rewrites the same file on resume.
                    try FileManager.default.createDirectory(atPath: run.path(DirectionalPruning.snapshotDirectory), withIntermediateDirectories: true)
                    try saveStateDict(model, to: run.path(DirectionalPruning.snapshotName(iteration)),
                                      metadata: ["format": "pt", "iteration": String(iteration)])
                }
                if iteration % evalEvery == 0 || iteration == total {
                    var row = Trainer.evaluationRow(model: model, data: data, trainProbe: trainProbe, lr: optimizer.learningRate)
                    let report = SparsityReport(mask: .nonzero(of: params), parameters: params)
                    row["sparsity"] = 1 - report.density
                    row["weight_sparsity"] = weightSparsity(report, names: layerWeightNames)
                    for r in report.rows { row["sparsity:\(r.name)"] = 1 - r.density }
                    if let g = optimizer as? GRDA, let first = params.first, let tau = g.thresholds[first.0] { row["threshold"] = tau }
                    if let s = gmpSchedule { row["gmp_target"] = s.sparsity(at: iteration - 1) }
                    if data.validation.count > 0, let v = row["val_acc"], v > best.validationAccuracy {
                        best = BestRecord(validationAccuracy: v, iteration: iteration, testAccuracy: row["test_acc"] ?? .nan)
                    }
                    try run.appendMetrics(row, step: iteration, epoch: Double(iteration) / Double(bpe))
                    try checkpoint()
                    say(String(format: "it %d (ep %.2f)  train loss %.4f  test acc %.2f%%  sparsity %.2f%% (weights %.2f%%)  lr %.4g",
                               iteration, Double(iteration) / Double(bpe), row["train_loss"]!, 100 * row["test_acc"]!,
                               100 * row["sparsity"]!, 100 * row["weight_sparsity"]!, Double(optimizer.learningRate)))
                    t0 = monotonicSeconds()
                }
                if let stop = interrupt, stop.phase == phase, iteration >= stop.iteration { throw TrainingInterrupted(iteration: iteration) }
                if iteration >= total { break }
            }
        }

        try saveStateDict(model, to: run.path("model.safetensors"), metadata: ["format": "pt"])
        let train = evaluate(model, on: trainProbe, mean: data.mean, std: data.std)
        let test = evaluate(model, on: data.test, mean: data.mean, std: data.std)
        let report = SparsityReport(mask: .nonzero(of: params), parameters: params)
        let hasVal = data.validation.count > 0
        let result = DirectionalPhaseResult(
            phase: phase.rawValue, iterations: total, finalTrainLoss: train.loss, finalTrainAccuracy: train.accuracy,
            finalTestLoss: test.loss, finalTestAccuracy: test.accuracy,
            bestValidationAccuracy: hasVal ? best.validationAccuracy : nil, bestIteration: hasVal ? best.iteration : nil,
            testAccuracyAtBestValidation: hasVal ? best.testAccuracy : nil,
            sparsity: 1 - report.density, weightSparsity: weightSparsity(report, names: layerWeightNames), layers: report,
            threshold: (optimizer as? GRDA).flatMap { g in params.first.flatMap { g.thresholds[$0.0] } },
            gmpTargetSparsity: gmpTargetSparsity, trainingSeconds: seconds)
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

    static func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }

    /// The comparison table: one row per phase.
    public static func markdownTable(_ s: DirectionalPruningSummary) -> String {
        var lines = ["| method | final test acc | test acc at best val | sparsity (all params) | sparsity (conv/fc weights) | final train loss |",
                     "|---|---:|---:|---:|---:|---:|"]
        for p in s.phases {
            lines.append("| \(p.phase) | \(percent(p.finalTestAccuracy)) | \(p.testAccuracyAtBestValidation.map(percent) ?? "–") | "
                         + "\(percent(p.sparsity)) | \(percent(p.weightSparsity)) | \(String(format: "%.4f", p.finalTrainLoss)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// `summary.md` (the table and gRDA's per-layer sparsity) and the curves, read back from each phase's metrics.
    static func writeReport(_ s: DirectionalPruningSummary, config: DirectionalPruningConfig, in dir: RunDirectory,
                            iterationsPerEpoch bpe: Int) throws {
        var md = ["# gRDA c = \(config.c), μ = \(config.mu), lr \(config.training.lr) (\(config.schedule.rawValue)), "
                  + "\(config.training.model.rawValue) on \(config.training.dataset.rawValue)", "", markdownTable(s), ""]
        for p in s.phases where p.phase != "sgd" {
            md += ["## \(p.phase): per-tensor density", "", p.layers.markdown, ""]
        }
        try (md.joined(separator: "\n")).write(toFile: dir.path("summary.md"), atomically: true, encoding: .utf8)
        func series(_ key: String, scale: Double = 100) -> [(name: String, points: [(Double, Double)])] {
            s.phases.map { p in
                let rows = readMetrics(dir.path("\(p.phase)/\(RunDirectory.metricsJSONL)"))
                return (p.phase, rows.compactMap { r in r[key].flatMap { v in r["epoch"].map { ($0, scale * v) } } })
            }
        }
        for (key, label, file) in [("test_acc", "test accuracy (%)", "curves_test_accuracy.svg"),
                                   ("sparsity", "sparsity, all parameters (%)", "curves_sparsity.svg"),
                                   ("train_loss", "train loss", "curves_train_loss.svg")] {
            let chart = SVGLineChart(title: "\(config.training.model.rawValue): \(label) (gRDA c = \(config.c), μ = \(config.mu))",
                                     xLabel: "epoch", yLabel: label, series: series(key, scale: key == "train_loss" ? 1 : 100))
            try chart.write(to: dir.path(file))
        }
    }

    /// The numeric fields of every line of a metrics.jsonl file.
    static func readMetrics(_ path: String) -> [[String: Double]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            var out: [String: Double] = [:]
            for (k, v) in obj { if let n = v as? NSNumber { out[k] = n.doubleValue } }
            return out
        }
    }
}
