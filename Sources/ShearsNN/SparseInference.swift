import ShearsTensor

/// What `SparseInference.prepare` decided for one weight: the shape it was timed on, both times, and whether
/// the sparse form was attached.
public struct SparseLayerDecision: Sendable {
    /// The weight's state_dict name (`layer1.0.conv1.weight`).
    public let name: String
    public let weightShape: [Int]
    /// The input the layer sees at the prepared batch size ([N, in] or [N, C, H, W]).
    public let inputShape: [Int]
    public let sparsity: Double
    /// Best of the timed repetitions, in microseconds.
    public let denseMicroseconds: Double
    public let sparseMicroseconds: Double
    /// For convolutions, the faster sparse input layout (nil for linear layers).
    public let method: SparseConvMethod?
    /// Whether the sparse form is attached (sparse measured faster than dense).
    public let chosen: Bool
}

/// Sparse inference for pruned models: attaches a CSR form to every linear / conv weight for which the sparse
/// kernel (ShearsTensor's Kernels/SparseKernels.swift) measured faster than the dense one at the batch size the
/// model will run at, and leaves the others dense.
///
/// Where sparse starts to win depends on the layer's shape, not just its sparsity (a 1×1 convolution on a 2×2
/// image has almost nothing to save, a 3×3 one on 32×32 images a lot), so the crossover is measured per layer
/// on its own input shape rather than set by a global threshold. The forms are used only while grad mode is off
/// (`GradMode.withoutGrad`), so training after `prepare` runs exactly as before; any write to a weight (an
/// optimizer step, a mask, loading a state dict) drops that weight's form, and `release` drops them all.
public enum SparseInference {
    /// Times every weight layer of `model` dense and sparse on inputs of `[batchSize] + inputShape` and attaches
    /// the sparse form where it is faster. Runs one traced forward (inference phase, no grad) to learn the
    /// shapes, then `repetitions` interleaved timings per layer (best of each). Returns one decision per
    /// weight, in the order the forward uses them.
    @discardableResult
    public static func prepare(_ model: any Layer, batchSize: Int, inputShape: [Int], repetitions: Int = 5,
                               seed: UInt64 = 0) -> [SparseLayerDecision] {
        precondition(batchSize >= 1, "SparseInference.prepare: batchSize must be at least 1, got \(batchSize)")
        precondition(repetitions >= 1, "SparseInference.prepare: repetitions must be at least 1, got \(repetitions)")
        release(model)
        let names = Dictionary(model.namedParameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        let uses = traceWeightUses(model, batchSize: batchSize, inputShape: inputShape)
        var g = Generator(seed: seed)
        var decisions: [SparseLayerDecision] = []
        var seen = Set<ObjectIdentifier>()
        for use in uses where seen.insert(ObjectIdentifier(use.weight)).inserted {
            let x = Variable(Tensor.normal(use.inputShape, generator: &g).in(use.inputFormat))
            let form = SparseWeight(use.weight.value)
            let methods: [SparseConvMethod?] = use.op == "conv2d" ? SparseConvMethod.allCases.map { $0 } : [nil]
            var dense = Double.infinity
            var sparse = [Double](repeating: .infinity, count: methods.count)
            GradMode.withoutGrad {
                for rep in 0...repetitions {   // round 0 warms up (oneDNN primitive creation, offsets)
                    use.weight.inferenceForm = nil
                    let t = seconds { _ = apply(use, x) }
                    if rep > 0 { dense = min(dense, t) }
                    for (i, m) in methods.enumerated() {
                        form.convMethod = m
                        use.weight.inferenceForm = form
                        let t = seconds { _ = apply(use, x) }
                        if rep > 0 { sparse[i] = min(sparse[i], t) }
                    }
                }
            }
            let best = sparse.indices.min { sparse[$0] < sparse[$1] }!
            let chosen = sparse[best] < dense
            form.convMethod = methods[best]
            use.weight.inferenceForm = chosen ? form : nil
            decisions.append(SparseLayerDecision(
                name: names[ObjectIdentifier(use.weight)] ?? use.op, weightShape: use.weight.shape, inputShape: use.inputShape,
                sparsity: form.csr.sparsity, denseMicroseconds: dense * 1e6, sparseMicroseconds: sparse[best] * 1e6,
                method: methods[best], chosen: chosen))
        }
        return decisions
    }

    /// Drops every sparse form attached to `model`'s parameters (the dense kernels run again).
    public static func release(_ model: any Layer) {
        for (_, p) in model.namedParameters { p.inferenceForm = nil }
    }

    /// The linear / conv weight uses of one forward of `model` on zeros shaped `[batchSize] + inputShape`, in the
    /// inference phase with grad mode off (batch-norm statistics are not touched).
    public static func traceWeightUses(_ model: any Layer, batchSize: Int, inputShape: [Int]) -> [WeightUse] {
        let x = Variable(Tensor.zeros([batchSize] + inputShape))
        return Context.with(.inference) {
            GradMode.withoutGrad { WeightUseRecorder.record { _ = model(x) }.1 }
        }
    }

    /// Runs the op of `use` on `x` with the use's own weight, bias and geometry.
    public static func apply(_ use: WeightUse, _ x: Variable) -> Variable {
        use.op == "conv2d"
            ? conv2d(x, weight: use.weight, bias: use.bias, stride: use.stride, padding: use.padding)
            : linear(x, weight: use.weight, bias: use.bias)
    }

    private static func seconds(_ body: () -> Void) -> Double {
        let t0 = monotonicSeconds()
        body()
        return monotonicSeconds() - t0
    }
}
