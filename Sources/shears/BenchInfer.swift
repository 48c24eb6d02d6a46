import ArgumentParser
import Foundation
import ShearsIO
import ShearsNN
import ShearsPrune
import ShearsTensor

/// `shears bench infer`: dense against sparse inference of the same pruned weights.
///
/// The model is built from the seed (or loaded with `--weights`), every conv and linear weight is pruned to
/// `--sparsity` by **layerwise magnitude pruning** (ShearsPrune's `MagnitudeScore` + `Allocation.layerwise`:
/// each weight loses ⌈s·count⌉ of its smallest |w|), and the same random batch runs in the inference phase with
/// grad mode off — dense (no sparse forms attached), then sparse (after `SparseInference.prepare`, which attaches
/// a form only where it measured faster). The outputs must agree to 1e-4 of the output scale, or the command
/// fails with the numbers. Dense and sparse are timed interleaved in rounds; throughput is from the median.
///
/// `--conv-layers` times each distinct conv layer shape of the model on its own (dense oneDNN convolution
/// against the sparse convolution, best layout), one JSON line per shape; `--layer NAME` times one layer.
struct BenchInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Dense vs sparse inference of the same pruned weights; print one JSON line (one per layer with --conv-layers).")

    @Option(help: "Model.")
    var model: ModelName
    @Option(help: "Fraction of every conv / linear weight pruned (layerwise magnitude), in [0, 1).")
    var sparsity: Double
    @Option(help: "Images per forward.") var batchSize: Int = 1
    @Option(help: "Threads for oneDNN, OpenBLAS and the sparse kernels.") var threads: Int = 2
    @Option(help: "Timed forwards per side (per layer with --conv-layers / --layer).") var iterations: Int = 50
    @Option(help: "Timed repetitions per layer when choosing dense or sparse (SparseInference.prepare).")
    var repetitions: Int = 5
    @Option(help: "A safetensors state_dict to load before pruning (default: the seeded initialisation).")
    var weights: String?
    @Option(help: "Seed for the weights and the input batch.") var seed: UInt64 = 0
    @Flag(help: "Time each distinct conv layer shape on its own instead of the whole model.")
    var convLayers = false
    @Option(help: "Time only this layer (a weight's state_dict name, e.g. layer1.0.conv1.weight).")
    var layer: String?
    @Flag(help: "Print each step of the inference plans (dense and sparse) with its best time, to stderr.")
    var profile = false
    @Option(help: "Also write the pruned weights here (safetensors), for `shears export --format onnx` and the engines of bench/engines_infer.sh.")
    var saveWeights: String?

    func validate() throws {
        guard sparsity >= 0 && sparsity < 1 else { throw ValidationError("--sparsity must be in [0, 1), got \(sparsity)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be between 1 and 256, got \(threads)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        if convLayers && layer != nil { throw ValidationError("--conv-layers and --layer are alternatives; give one") }
        if let weights, !FileManager.default.fileExists(atPath: weights) {
            throw ValidationError("--weights: no file at '\(weights)' (expected a safetensors state_dict)")
        }
    }

    /// Per-image input shape the model zoo builds the model for: MNIST for the MLPs, CIFAR otherwise; an
    /// `onnx:PATH` model's own (`GraphModel.inputShape`, read when the model is built).
    var inputShape: [Int] {
        if let path = model.onnxPath { return (try? GraphModel(contentsOf: path).inputShape) ?? [] }
        return [.lenet300100, .mlp3x256].contains(model) ? [1, 28, 28] : [3, 32, 32]
    }

    func run() throws {
        Threads.set(threads)
        var g = Generator(seed: seed)
        // An onnx:PATH model takes the input and class count its graph declares.
        let net: any Layer
        if let path = model.onnxPath {
            net = try GraphModel(contentsOf: path)
            if let weights { try loadStateDict(net, from: weights) }
        } else if let weights {
            net = try loadModel(model, inputShape: inputShape, classes: 10, from: weights, generator: &g).model   // at its widths
        } else {
            net = try makeModel(model, inputShape: inputShape, classes: 10, generator: &g)
        }
        let prunable = PrunableSelection().select(net)
        let scores = try MagnitudeScore().scores(model: net, parameters: prunable, mask: Mask.ones(for: prunable))
        let mask = prune(scores: scores, mask: Mask.ones(for: prunable), fraction: sparsity, allocation: .layerwise,
                         shapes: Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.shape) }))
        mask.apply(to: prunable)
        if let saveWeights { try saveStateDict(net, to: saveWeights) }
        if convLayers || layer != nil {
            try benchLayers(net, generator: &g)
        } else {
            try benchModel(net, generator: &g)
        }
    }

    // MARK: whole model

    /// The whole model four ways, timed in interleaved rounds: the eager forward (each op on its own) and the
    /// inference plan (`InferencePlan`: batch norm folded, post-ops fused, buffers planned), each dense and with
    /// the sparse forms `SparseInference.prepare` chose. `dense_img_s` / `sparse_img_s` are the plan's: what
    /// `shears eval` and the evaluations during training run.
    func benchModel(_ net: any Layer, generator g: inout Generator) throws {
        let x = Variable(Tensor.normal([batchSize] + inputShape, generator: &g))
        func eager() -> Tensor { Context.with(.inference) { GradMode.withoutGrad { net(x).value } } }
        SparseInference.release(net)
        let dense = eager()
        let densePlan = try InferencePlan(net, batchSize: batchSize, inputShape: inputShape)
        let decisions = SparseInference.prepare(net, batchSize: batchSize, inputShape: inputShape, repetitions: repetitions, seed: seed)
        for d in decisions { log(d) }
        let sparsePlan = try InferencePlan(net, batchSize: batchSize, inputShape: inputShape)
        let forms = net.namedParameters.map { ($0.1, $0.1.inferenceForm) }
        let sparse = eager()
        try checkAgreement(dense, sparse, what: "\(model.rawValue) output (eager sparse)")
        try checkAgreement(dense, densePlan(x.value), what: "\(model.rawValue) output (plan, dense)")
        let planned = sparsePlan(x.value)
        try checkAgreement(dense, planned, what: "\(model.rawValue) output (plan, sparse)")
        for line in sparsePlan.summary { FileHandle.standardError.write(Data(("plan: " + line + "\n").utf8)) }
        if profile {
            for (name, plan) in [("dense", densePlan), ("sparse", sparsePlan)] {
                let steps = plan.profile(x.value)
                let total = steps.reduce(0) { $0 + $1.seconds }
                for (step, t) in steps {
                    FileHandle.standardError.write(Data(String(format: "profile %@: %8.1f µs  %@\n", name, t * 1e6, step).utf8))
                }
                FileHandle.standardError.write(Data(String(format: "profile %@: %8.1f µs  total\n", name, total * 1e6).utf8))
            }
        }

        let sides: [(String, () -> Void, () -> Void)] = [
            ("eager_dense", { SparseInference.release(net) }, { _ = eager() }),
            ("eager_sparse", { for (p, f) in forms { p.inferenceForm = f } }, { _ = eager() }),
            ("dense", {}, { _ = densePlan(x.value) }),
            ("sparse", {}, { _ = sparsePlan(x.value) }),
        ]
        let times = timeInterleaved(sides.map { ($0.1, $0.2) })
        var fields: [(String, String)] = [
            ("framework", "\"shears\""), ("model", "\"\(model.rawValue)\""), ("batch_size", "\(batchSize)"),
            ("sparsity", "\(sparsity)"), ("threads", "\(threads)"), ("blas", "\"\(BLASKernels.coreName)\""),
        ]
        for (side, t) in zip(sides, times) { fields.append(("\(side.0)_img_s", format(Double(batchSize) / t))) }
        fields += [
            ("speedup", String(format: "%.3f", times[2] / times[3])),
            ("plan_speedup_dense", String(format: "%.3f", times[0] / times[2])),
            ("max_abs_diff", String(format: "%.3g", dense.maxAbsDifference(planned))),
            ("layers_sparse", "\(decisions.filter(\.chosen).count)"), ("layers_total", "\(decisions.count)"),
        ]
        printJSON(fields)
    }

    // MARK: single layers

    func benchLayers(_ net: any Layer, generator g: inout Generator) throws {
        let names = Dictionary(net.namedParameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        let uses = SparseInference.traceWeightUses(net, batchSize: batchSize, inputShape: inputShape)
        func name(_ u: WeightUse) -> String { names[ObjectIdentifier(u.weight)] ?? u.op }
        var selected: [WeightUse]
        if let layer {
            selected = uses.filter { name($0) == layer }
            guard !selected.isEmpty else {
                throw ValidationError("--layer: \(model.rawValue) has no conv / linear weight named '\(layer)'; its weights are "
                    + uses.map(name).joined(separator: ", "))
            }
            selected = [selected[0]]
        } else {
            // One layer per distinct (input, weight, stride, padding): the issue's targets are per conv shape.
            var seen = Set<String>()
            selected = uses.filter { $0.op == "conv2d" && seen.insert("\($0.inputShape)|\($0.weight.shape)|\($0.stride)|\($0.padding)").inserted }
            guard !selected.isEmpty else { throw ValidationError("--conv-layers: \(model.rawValue) has no convolution layers") }
        }
        for use in selected {
            let x = Variable(Tensor.normal(use.inputShape, generator: &g).in(use.inputFormat))
            let form = SparseWeight(use.weight.value)
            func call() -> Tensor { GradMode.withoutGrad { SparseInference.apply(use, x).value } }
            // The faster sparse layout for this shape, as prepare would pick it.
            var method: SparseConvMethod?
            if use.op == "conv2d" {
                var best = Double.infinity
                for m in SparseConvMethod.allCases {
                    form.convMethod = m
                    use.weight.inferenceForm = form
                    _ = call()
                    var t = Double.infinity
                    for _ in 0..<repetitions { t = min(t, seconds { _ = call() }) }
                    if t < best { best = t; method = m }
                }
                form.convMethod = method
            }
            use.weight.inferenceForm = nil
            let dense = call()
            use.weight.inferenceForm = form
            let sparse = call()
            try checkAgreement(dense, sparse, what: name(use))
            let times = timeInterleaved([({ use.weight.inferenceForm = nil }, { _ = call() }),
                                         ({ use.weight.inferenceForm = form }, { _ = call() })])
            let (denseTime, sparseTime) = (times[0], times[1])
            use.weight.inferenceForm = nil
            printJSON([
                ("framework", "\"shears\""), ("model", "\"\(model.rawValue)\""), ("layer", "\"\(name(use))\""),
                ("input", "\(use.inputShape)"), ("weight", "\(use.weight.shape)"), ("stride", "\(use.stride)"),
                ("padding", "\(use.padding)"), ("batch_size", "\(batchSize)"), ("sparsity", "\(sparsity)"),
                ("threads", "\(threads)"),
                ("dense_us", String(format: "%.1f", denseTime * 1e6)), ("sparse_us", String(format: "%.1f", sparseTime * 1e6)),
                ("dense_img_s", format(Double(batchSize) / denseTime)), ("sparse_img_s", format(Double(batchSize) / sparseTime)),
                ("speedup", String(format: "%.3f", denseTime / sparseTime)),
                ("method", method.map { "\"\($0.rawValue)\"" } ?? "null"),
                ("max_abs_diff", String(format: "%.3g", dense.maxAbsDifference(sparse))),
            ])
        }
    }

    // MARK: helpers

    /// Median seconds per run for each side (`switch` puts the model in that state, `run` runs it), timed in 5
    /// interleaved rounds of `iterations / 5` (at least 1) runs per side, after one untimed run per side.
    func timeInterleaved(_ sides: [(switch: () -> Void, run: () -> Void)]) -> [Double] {
        let rounds = 5, perRound = max(1, iterations / rounds)
        var times = [[Double]](repeating: [], count: sides.count)
        for side in sides { side.switch(); side.run() }
        for _ in 0..<rounds {
            for (i, side) in sides.enumerated() {
                side.switch()
                for _ in 0..<perRound { times[i].append(seconds(side.run)) }
            }
        }
        return times.map(median)
    }

    /// Fails unless max |dense − sparse| ≤ 1e-4 · max(1, max |dense|).
    func checkAgreement(_ dense: Tensor, _ sparse: Tensor, what: String) throws {
        let diff = dense.maxAbsDifference(sparse)
        let scale = max(1, max(abs(dense.max()), abs(dense.min())))
        guard diff <= 1e-4 * scale, diff.isFinite else {
            throw ValidationError("bench infer: \(what) differs between dense and sparse by \(diff) (max |dense| \(scale), "
                + "allowed \(1e-4 * scale)); the sparse kernels disagree with the dense ones")
        }
    }

    func log(_ d: SparseLayerDecision) {
        let line = "\(d.name) \(d.weightShape) on \(d.inputShape): sparsity \(String(format: "%.3f", d.sparsity)), dense "
            + "\(String(format: "%.1f", d.denseMicroseconds)) µs, sparse \(String(format: "%.1f", d.sparseMicroseconds)) µs"
            + (d.method.map { " (\($0.rawValue))" } ?? "") + (d.chosen ? " → sparse" : " → dense")
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func printJSON(_ fields: [(String, String)]) {
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }

    func format(_ v: Double) -> String { String(format: "%.1f", v) }
    func seconds(_ body: () -> Void) -> Double { let t0 = monotonicSeconds(); body(); return monotonicSeconds() - t0 }
    func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
