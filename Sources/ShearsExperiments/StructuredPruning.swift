import Foundation
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// Structured pruning (`shears prune structured`): dependency groups traced from the model, a group criterion,
/// channel allocation, fine-tuning, and compaction into the dense model of the kept widths. One shot fine-tunes the
/// compacted model (and expands it back into the masked twin); the iterative and gradual schedules fine-tune the
/// masked model (its removed channels held at 0 by `MaskedOptimizer`) between rounds chosen on the original groups.
/// Writes `model.safetensors` (compacted, widths in its metadata), `masked.safetensors` (the masked twin at the
/// original widths) and `summary.json` to `directory`.
public enum StructuredPruning {
    public static let compactedName = "model.safetensors"
    public static let maskedName = "masked.safetensors"
    /// The compacted graph of an `onnx:PATH` model (its own model: the original graph no longer fits the weights).
    public static let compactedGraphName = "model.onnx"

    /// The dense model of the kept widths with the kept values: the zoo model of those widths, or for an ONNX graph
    /// the same graph with its initializers cut.
    static func compacted(_ model: any Layer, _ config: StructuredPruningConfig, data: PreparedData, groups: [DependencyGroup],
                          keep: ChannelSelection) throws -> (model: any Layer, widths: [String: Int]) {
        if let graph = model as? GraphModel {
            let values = compactedStateDict(model, groups: groups, keep: keep)
            return try compact(model, groups: groups, keep: keep) { _ in try graph.replacingValues(values) }
        }
        return try compact(model, name: config.training.model, inputShape: data.train.imageShape, classes: data.train.classes,
                           groups: groups, keep: keep)
    }

    /// The groups as `--explain` prints them: one header line per group, then its members by role.
    public static func explain(_ groups: [DependencyGroup]) -> String {
        var lines: [String] = []
        for (i, g) in groups.enumerated() {
            let state = g.fixedBecause.map { "fixed: \($0)" } ?? "prunable"
            lines.append("group \(i) \(g.name): \(g.channels) channels, \(state)")
            for role in [GroupMember.Role.producer, .normalization, .consumer] {
                let ms = g.members.filter { $0.role == role && !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var") }
                guard !ms.isEmpty else { continue }
                lines.append("  \(role.rawValue)s: " + ms.map { $0.block > 1 ? "\($0.name) (blocks of \($0.block))" : $0.name }
                    .joined(separator: ", "))
            }
        }
        let prunable = groups.filter(\.prunable)
        lines.append("\(prunable.count) prunable groups, \(prunable.reduce(0) { $0 + $1.channels }) prunable channels")
        return lines.joined(separator: "\n")
    }

    /// The model `config` starts from: the zoo model (widths from the file's metadata when `from` is a compacted
    /// model) with the file's values, or a fresh initialisation from the seed.
    public static func startingModel(_ config: StructuredPruningConfig, data: PreparedData) throws -> any Layer {
        let shape = data.train.imageShape, classes = data.train.classes
        guard let from = config.from else {
            var g = Generator(seed: config.training.seed)
            return try makeModel(config.training.model, inputShape: shape, classes: classes, generator: &g)
        }
        var isDirectory: ObjCBool = false
        let path = FileManager.default.fileExists(atPath: from, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (from as NSString).appendingPathComponent(compactedName) : from
        return try loadZooModel(config.training.model, inputShape: shape, classes: classes, from: path)
    }

    public static func run(_ config: StructuredPruningConfig, directory: String, threads: Int = 2,
                           say: (String) -> Void = { _ in }) throws -> StructuredPruningSummary {
        try config.validate()
        Threads.set(threads)
        let t0 = Date()
        let data = try prepareData(config.training)
        let shape = data.train.imageShape
        let model = try startingModel(config, data: data)
        let groups = try dependencyGroups(of: model, inputShape: shape)
        let before = stats(model, data: data)
        say("before: \(before.parameters) parameters, \(before.macs) MACs, test accuracy \(percent(before.testAccuracy))")
        let (keep, iterations, compactedEarly) = try pruneAndFinetune(model, groups: groups, config: config, data: data, say: say)
        let (small, widths) = try compactedEarly ?? compacted(model, config, data: data, groups: groups, keep: keep)
        let after = stats(small, data: data)
        // One shot's twin is the compacted model written back: its test evaluation (a pass of the full-width model)
        // would repeat `after`'s; `maskedVersusCompacted` checks the two on a test batch instead.
        let masked = stats(model, data: data, evaluation: compactedEarly == nil ? nil : (after.testAccuracy, after.testLoss))
        let difference = maxLogitDifference(model, small, data: data)
        try write(model: model, compacted: small, widths: widths, directory: directory, metadata: modelMetadata(data))
        if let graph = small as? GraphModel {
            // The compacted graph is a model of its own: `--model onnx:DIR/model.onnx` everywhere a model is named.
            let meta = modelMetadata(data).filter { $0.key == ONNXExport.meanKey || $0.key == ONNXExport.stdKey }
            try ONNXExport.write(try ONNXExport.model(graph, inputShape: graph.inputShape, classes: graph.outputShape[0], metadata: meta),
                                 to: (directory as NSString).appendingPathComponent(compactedGraphName))
            say("compacted ONNX graph: \((directory as NSString).appendingPathComponent(compactedGraphName))")
        }
        let summary = StructuredPruningSummary(config: config, before: before, masked: masked, after: after,
                                               maskedVersusCompacted: difference, finetuneIterations: iterations,
                                               seconds: Date().timeIntervalSince(t0))
        try JSONEncoder.sorted.encode(summary).write(to: URL(fileURLWithPath: directory).appendingPathComponent("summary.json"))
        say("after: \(after.parameters) parameters, \(after.macs) MACs, test accuracy \(percent(after.testAccuracy)) "
            + "(masked \(percent(masked.testAccuracy)); max |masked − compacted| logit \(difference))")
        return summary
    }

    /// The rounds of the schedule: choose channels, (rewind,) fine-tune. One shot fine-tunes the compacted model
    /// itself and returns it; the other schedules fine-tune the masked model between rounds chosen on the original
    /// groups. Returns the final selection and the fine-tuning steps taken.
    static func pruneAndFinetune(_ model: any Layer, groups: [DependencyGroup], config: StructuredPruningConfig,
                                 data: PreparedData, say: (String) -> Void)
        throws -> (keep: ChannelSelection, iterations: Int, compacted: (model: any Layer, widths: [String: Int])?) {
        var keep: ChannelSelection = [:]
        var iterations = 0
        var compactedEarly: (model: any Layer, widths: [String: Int])? = nil
        let start = config.retrain == .rewind ? WeightSnapshot(model.stateDict) : nil
        let rounds = config.schedule == .oneshot ? 1 : config.steps
        for round in 0..<rounds {
            let ratio = 1 - pow(1 - config.channelRatio, Double(round + 1) / Double(rounds))
            keep = try selectChannels(model, groups: groups, config: config, data: data, ratio: ratio, previous: keep, round: round)
            start?.restore(into: model.stateDict)   // rewind, then mask
            let n = finetuneIterations(config, data: data, rounds: rounds)
            if config.schedule == .oneshot {
                // One round: fine-tune the compacted model itself — what the masked model computes, at the compacted
                // model's cost (batch norm's statistics are per channel, so removed channels change nothing) — then
                // write its values back into the masked twin.
                let c = try compacted(model, config, data: data, groups: groups, keep: keep)
                let smallGroups = config.batchNormPenalty > 0 ? try dependencyGroups(of: c.model, inputShape: data.train.imageShape) : []
                iterations += try finetune(c.model, mask: Mask(), groups: smallGroups, config: config, data: data, iterations: n, round: round)
                try expand(c.model, into: model, groups: groups, keep: keep)
                compactedEarly = c
            } else {
                let mask = structuredMask(model, groups: groups, keep: keep)
                mask.apply(to: model.namedParameters)
                iterations += try finetune(model, mask: mask, groups: groups, config: config, data: data, iterations: n, round: round)
            }
            say("round \(round + 1)/\(rounds): \(String(format: "%.1f", 100 * ratio))% of channels removed, \(n) fine-tuning steps")
        }
        return (keep, iterations, compactedEarly)
    }

    /// One pruning round: the criterion's scores (removed channels ranked last), allocated to `ratio`.
    static func selectChannels(_ model: any Layer, groups: [DependencyGroup], config: StructuredPruningConfig,
                               data: PreparedData, ratio: Double, previous: ChannelSelection, round: Int) throws -> ChannelSelection {
        let context = scoringContext(config.training, data, batches: config.taylorBatches, event: UInt64(round))
        let criterion = try CriterionRegistry.makeChannel(config.criterion, model: model, groups: groups, context: context)
        if criterion.needsGradients { accumulateGradients(model, config: config, data: data) }
        defer { model.zeroGrad() }
        let values = Dictionary(model.namedParameters, uniquingKeysWith: { a, _ in a })
        var scores: [String: [Double]] = [:]
        for g in groups where g.prunable {
            var s = try criterion.channelScores(g, values: values, aggregation: config.aggregation)
            if let kept = previous[g.name].map(Set.init) { for c in s.indices where !kept.contains(c) { s[c] = -.infinity } }
            scores[g.name] = s
        }
        return try allocateChannels(groups: groups, scores: scores, ratio: ratio, allocation: config.allocation,
                                    roundTo: config.roundTo, normalization: config.normalization ?? .raw)
    }

    /// ∂L/∂w summed over `taylorBatches` training batches, in the inference phase (running statistics untouched).
    static func accumulateGradients(_ model: any Layer, config: StructuredPruningConfig, data: PreparedData) {
        model.zeroGrad()
        let loader = DataLoader(dataset: data.train, batchSize: config.training.batchSize, shuffle: true,
                                seed: config.training.seed ^ 0x7A71_0500, mean: data.mean, std: data.std, prefetch: 0)
        Context.with(.inference) {
            for batch in loader.epoch(0).prefix(config.taylorBatches) {
                softmaxCrossEntropy(logits: model(Variable(batch.images)), labels: batch.labels).backward()
            }
        }
    }

    static func finetuneIterations(_ config: StructuredPruningConfig, data: PreparedData, rounds: Int) -> Int {
        let perEpoch = max(1, (data.train.count + config.training.batchSize - 1) / config.training.batchSize)
        let total = config.finetuneEpochs * perEpoch
        return config.schedule == .gradual ? total / rounds : total
    }

    /// `iterations` steps of the one loop on the masked model (removed channels kept at exactly 0; network
    /// slimming's penalty on γ when `batchNormPenalty` > 0), constant rate, seeded order per round.
    static func finetune(_ model: any Layer, mask: Mask, groups: [DependencyGroup], config: StructuredPruningConfig,
                         data: PreparedData, iterations: Int, round: Int) throws -> Int {
        guard iterations > 0 else { return 0 }
        var base = makeOptimizer(config.training)
        if config.batchNormPenalty > 0 { base = withBatchNormL1Penalty(base, lambda: config.batchNormPenalty, groups: groups) }
        let loader = DataLoader(dataset: data.train, batchSize: config.training.batchSize, shuffle: true,
                                seed: config.training.seed &+ UInt64(round), augmentation: config.training.augment ? .cifar : .none,
                                mean: data.mean, std: data.std, prefetch: 2)
        let lr = config.training.lr
        let loop = TrainLoop(model: model, parameters: model.namedParameters, loader: loader, total: iterations,
                             learningRate: { _ in lr }) { loss, at in "fine-tuning diverged at step \(at): loss \(loss)" }
        var state = LoopState(optimizer: masked(base, mask: mask))
        try loop.run(&state, hooks: [])
        return state.iteration
    }

    // MARK: - measuring and writing

    /// Size and test numbers of `model`; `evaluation` (accuracy, loss) instead of evaluating it when given.
    static func stats(_ model: any Layer, data: PreparedData, evaluation: (Double, Double)? = nil) -> StructuredModelStats {
        let e = evaluation ?? { let r = evaluate(model, on: data.test, mean: data.mean, std: data.std); return (r.accuracy, r.loss) }()
        return StructuredModelStats(parameters: model.parameterCount,
                                    macs: countMACs(model, inputShape: data.train.imageShape).reduce(0) { $0 + $1.macs },
                                    testAccuracy: e.0, testLoss: e.1, widths: layerWidths(of: model))
    }

    static func maxLogitDifference(_ a: any Layer, _ b: any Layer, data: PreparedData) -> Double {
        let loader = DataLoader(dataset: data.test, batchSize: min(64, max(1, data.test.count)), shuffle: false, seed: 0,
                                mean: data.mean, std: data.std, prefetch: 0)
        guard let batch = loader.epoch(0).first(where: { _ in true }) else { return 0 }
        return Context.with(.inference) {
            GradMode.withoutGrad {
                Double(a(Variable(batch.images)).value.maxAbsDifference(b(Variable(batch.images)).value))
            }
        }
    }

    /// Both models, with their widths and `metadata` (the input normalisation, which `eval` and the ONNX export read).
    static func write(model: any Layer, compacted: any Layer, widths: [String: Int], directory: String, metadata: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dir = directory as NSString
        // An ONNX graph's widths are in its graph (model.onnx), not in a zoo definition: no widths key for it.
        func withWidths(_ w: [String: Int]) -> [String: String] {
            compacted is GraphModel ? metadata : metadata.merging([ModelWidthsMetadata.key: ModelWidthsMetadata.encode(w)]) { $1 }
        }
        try saveStateDict(compacted, to: dir.appendingPathComponent(compactedName), metadata: withWidths(widths))
        // The twin has the starting model's widths (nominal, or those of a model compacted before).
        try saveStateDict(model, to: dir.appendingPathComponent(maskedName), metadata: withWidths(layerWidths(of: model)))
    }

    static func percent(_ a: Double) -> String { String(format: "%.2f%%", 100 * a) }
}
