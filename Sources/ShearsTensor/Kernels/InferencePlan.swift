/// A model's forward compiled for inference at one input shape, from one traced forward (`OpTrace`):
/// - batch norm folded into the convolution or linear layer before it (W′ = W·s, b′ = (b − μ)·s + β);
/// - the ReLU and the residual add that follow a convolution fused into it as oneDNN post-ops;
/// - convolution weights reordered once into the kernel's layout; `forward_inference` primitives;
/// - every activation in a buffer assigned once: a buffer is reused as soon as its value is dead, and a
///   residual add writes over its other operand when that dies there; no allocation per call except where a
///   layer runs on the sparse kernels: a weight with a sparse form (`SparseInference.prepare`) runs sparse where
///   that measured faster than its fused dense step, on the traced shapes, when the plan was built, and only if the
///   whole forward measured faster with those sparse layers than without;
/// - outputs equal to the plain forward up to the rounding of the folding (tests: InferencePlanTests).
/// Any write to a weight, bias or batch-norm statistic the plan read (`Variable.version`) makes the next call
/// reload the plan's weights first. A forward with an op the plan does not know is refused with its name
/// (callers run the model itself then). Not thread-safe: one call at a time.
public final class InferencePlan {
    /// The input the plan was built for, batch included.
    public let inputShape: [Int]
    let inputFormat: MemoryFormat
    private var slots: [Tensor]
    private let steps: [any InferenceStep]
    private let outputSlot: Int
    private let tracked: [Variable]
    private var versions: [UInt64]

    /// How the plan picks kernels: by timing (a weight with a sparse form runs sparse where that beat its fused
    /// dense step; a linear layer runs on OpenBLAS or oneDNN's inner product, the faster), or one kind forced
    /// (tests of each step): every weight with a sparse form sparse, or every dense linear layer on one library.
    public enum KernelChoice: Sendable { case measured, sparse, blas, innerProduct }

    /// Traces `forward` (grad mode off; the caller sets the inference phase) on zeros of `inputShape` and
    /// compiles it. `parameters`: the model's parameters, whose sparse inference forms are candidates.
    public init(inputShape: [Int], parameters: [Variable], kernels choice: KernelChoice = .measured,
                forward: (Variable) -> Variable) throws {
        self.inputShape = inputShape
        // Sparse forms run without recording their inputs: trace the dense ops, keep the choice per weight.
        let sparse = Dictionary(parameters.compactMap { p in p.inferenceForm.map { (ObjectIdentifier(p), $0) } },
                                uniquingKeysWith: { a, _ in a })
        let detached = parameters.filter { $0.inferenceForm != nil }
        let forms = detached.map { $0.inferenceForm }
        for p in detached { p.inferenceForm = nil }
        defer { for (p, f) in zip(detached, forms) { p.inferenceForm = f } }
        let x = Variable(Tensor.zeros(inputShape))
        let (y, ops) = OpTrace.record { GradMode.withoutGrad { forward(x) } }
        inputFormat = x.value.format

        let graph = TracedGraph(input: x, output: y, ops: ops)
        var built = try graph.steps(sparse: sparse, choice: choice)
        // Per-layer timings do not see what a sparse step costs its neighbours (its own output tensor, the separate
        // post-op pass, colder caches): keep the sparse layers only if the whole forward is faster with them.
        if choice == .measured, built.contains(where: { $0.step is SparseStep }) {
            let dense = try graph.steps(sparse: [:], choice: choice)
            if graph.seconds(dense.map(\.step)) <= graph.seconds(built.map(\.step)) { built = dense }
        }
        steps = built.map(\.step)
        outputSlot = try graph.slot(of: y, "the output")
        slots = graph.plannedSlots(steps)
        tracked = built.flatMap(\.variables)
        versions = tracked.map(\.version)
        for s in steps { s.load() }
    }

    /// One line per step: what it fuses and which kernel runs it.
    public var summary: [String] { steps.map(\.summary) }

    /// How many activation buffers the plan allocated (the input, views and sparse kernels' outputs not counted).
    public var bufferCount: Int { Set(slots.filter { $0.count > 1 }.map { ObjectIdentifier($0.storage) }).count }

    /// Whether a weight the plan read was written since it loaded them.
    public var isStale: Bool { zip(tracked, versions).contains { $0.version != $1 } }

    /// Reloads every step's weights from the model.
    public func refresh() {
        for s in steps { s.load() }
        versions = tracked.map(\.version)
    }

    /// Each step's summary and its best time in seconds over `repetitions` calls on `x` (`bench infer --profile`).
    public func profile(_ x: Tensor, repetitions: Int = 20) -> [(step: String, seconds: Double)] {
        _ = self(x)
        var best = [Double](repeating: .infinity, count: steps.count)
        for _ in 0..<repetitions {
            slots[0] = x.in(inputFormat)
            for (i, s) in steps.enumerated() {
                let t0 = monotonicSeconds()
                s.run(&slots)
                best[i] = Swift.min(best[i], monotonicSeconds() - t0)
            }
        }
        return zip(steps, best).map { ($0.summary, $1) }
    }

    /// The model's output for `x` (shaped `inputShape`), in a tensor of its own.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape == inputShape, "InferencePlan: built for input \(inputShape), called with \(x.shape)")
        if isStale { refresh() }
        slots[0] = x.in(inputFormat)
        for s in steps { s.run(&slots) }
        let y = slots[outputSlot]
        let out = Tensor(uninitializedShape: y.shape, format: y.format)
        out.storage.pointer.update(from: y.storage.pointer, count: y.count)
        return out
    }
}

/// Why a forward cannot be planned.
public struct InferencePlanError: Error, CustomStringConvertible {
    public let description: String
}

/// The traced forward as slots (slot 0 the input, slot k + 1 the output of op k) and who reads each slot.
struct TracedGraph {
    let ops: [TracedOp]
    var slotOf: [ObjectIdentifier: Int]
    var values: [Variable]
    var consumers: [[Int]]
    var finalSlot = -1

    init(input: Variable, output: Variable, ops: [TracedOp]) {
        self.ops = ops
        slotOf = [ObjectIdentifier(input): 0]
        values = [input]
        for op in ops {
            slotOf[ObjectIdentifier(op.output)] = values.count
            values.append(op.output)
        }
        consumers = Array(repeating: [], count: values.count)
        for (k, op) in ops.enumerated() {
            for v in op.inputs { if let s = slotOf[ObjectIdentifier(v)], s <= k { consumers[s].append(k) } }
        }
        finalSlot = slotOf[ObjectIdentifier(output)] ?? -1
    }

    func slot(of v: Variable, _ what: String) throws -> Int {
        guard let s = slotOf[ObjectIdentifier(v)] else {
            throw InferencePlanError(description: "InferencePlan: \(what) is not computed from the input by a traced op")
        }
        return s
    }

    /// The activation slots op k reads, in its input order (parameters left out).
    func reads(_ k: Int) -> [Int] { ops[k].inputs.compactMap { slotOf[ObjectIdentifier($0)] }.filter { $0 <= k } }

    /// The op that alone reads `slot` (nil when several ops, or the caller, read it).
    func soleConsumer(_ slot: Int) -> Int? {
        consumers[slot].count == 1 && slot != finalSlot ? consumers[slot][0] : nil
    }

    struct Built { let step: any InferenceStep; let variables: [Variable] }

    /// The steps in execution order: each conv / linear with the batch norm, ReLUs and residual add that alone
    /// consume its result, the rest one step per op.
    func steps(sparse: [ObjectIdentifier: SparseWeight], choice: InferencePlan.KernelChoice) throws -> [Built] {
        var claimed = [Bool](repeating: false, count: ops.count)
        var placed: [(position: Int, built: Built)] = []
        for k in ops.indices where !claimed[k] {
            claimed[k] = true
            if ops[k].op == "conv2d" || ops[k].op == "linear" {
                placed.append(try chain(from: k, claimed: &claimed, sparse: sparse, choice: choice))
            } else {
                placed.append((k, try single(k)))
            }
        }
        return placed.sorted { $0.position < $1.position }.map(\.built)
    }

    /// Conv / linear op k, then what alone consumes it: a batch norm (folded), ReLUs and one residual add
    /// (post-ops). The fused step runs where the chain's last op ran, when the add's other operand exists.
    private func chain(from k: Int, claimed: inout [Bool], sparse: [ObjectIdentifier: SparseWeight],
                       choice: InferencePlan.KernelChoice) throws
        -> (position: Int, built: Built) {
        let op = ops[k]
        let weight = op.inputs[1], bias = op.inputs.count > 2 ? op.inputs[2] : nil
        var norm: FoldedWeights.Normalization?
        var post: [PostOp] = []
        var last = k, current = k + 1
        guard let input = reads(k).first else {
            throw InferencePlanError(description: "InferencePlan: the input of \(op.op) (op \(k)) is not computed from the model's input")
        }
        if let j = soleConsumer(current), !claimed[j], ops[j].op.hasPrefix("batchNorm"), reads(j).first == current,
           case .batchNorm(let mean, let variance, let eps) = ops[j].attributes {
            norm = .init(gamma: ops[j].inputs[1], beta: ops[j].inputs[2], mean: mean, variance: variance, eps: eps)
            if ops[j].op == "batchNormReLU" { post.append(.relu) }
            claimed[j] = true; last = j; current = j + 1
        }
        while let j = soleConsumer(current), !claimed[j] {
            let r = reads(j)
            if ops[j].op == "relu" {
                post.append(.relu)
            } else if ["add", "addReLU"].contains(ops[j].op), r.count == 2, !post.contains(where: { if case .sum = $0 { true } else { false } }),
                      let other = r.first(where: { $0 != current }) {
                post.append(.sum(other))
                if ops[j].op == "addReLU" { post.append(.relu) }
            } else {
                break
            }
            claimed[j] = true; last = j; current = j + 1
        }
        let source = FoldedWeights(weight: weight, bias: bias, norm: norm)
        let label = "op \(k)"
        let out = values[current].value
        var step: any InferenceStep
        if case .conv(let stride, let padding, let dilation, let groups) = op.attributes {
            let xv = values[input].value
            step = ConvStep(input: input, output: current, inputShape: xv.shape, inputFormat: xv.format, outputShape: out.shape,
                            source: source, stride: stride, padding: padding, dilation: dilation, groups: groups, post: post,
                            label: label)
        } else {
            // OpenBLAS or oneDNN's inner product, whichever measured faster on this shape.
            step = LinearStep(input: input, output: current, source: source, post: post, label: label)
            let ip = InnerProductStep(input: input, output: current, batch: values[input].value.shape[0], source: source,
                                      post: post, label: label)
            if choice == .innerProduct || (choice != .blas && seconds(ip) < seconds(step)) { step = ip }
        }
        if let form = sparse[ObjectIdentifier(weight)] {
            // The weight has a sparse form: keep the sparse kernel only where it beats this fused dense step.
            let conv: (Int, Int)? = if case .conv(let s, let p, _, _) = op.attributes { (s, p) } else { nil }
            let candidate = SparseStep(input: input, output: current, outputFormat: out.format, source: source,
                                       method: form.convMethod, conv: conv.map { (stride: $0.0, padding: $0.1) }, post: post,
                                       label: label)
            if choice == .sparse || seconds(candidate) < 0.9 * seconds(step) { step = candidate }   // its own output tensor and post-op passes cost beyond the timing
        }
        return (last, Built(step: step, variables: source.variables))
    }

    /// Best of 3 timed runs of `step` (after a warm-up) on the traced values.
    private func seconds(_ step: any InferenceStep) -> Double { seconds([step]) }

    /// Best of 3 timed runs of `steps` in order (after a warm-up) on the traced values.
    func seconds(_ steps: [any InferenceStep]) -> Double {
        for s in steps { s.load() }
        var slots = values.map(\.value)
        for s in steps { s.run(&slots) }
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = monotonicSeconds()
            for s in steps { s.run(&slots) }
            best = Swift.min(best, monotonicSeconds() - t0)
        }
        return best
    }

    /// A step for op k on its own.
    private func single(_ k: Int) throws -> Built {
        let op = ops[k], r = reads(k), out = k + 1
        switch (op.op, op.attributes) {
        case ("batchNorm", .batchNorm(let mean, let variance, let eps)), ("batchNormReLU", .batchNorm(let mean, let variance, let eps)):
            let norm = FoldedWeights.Normalization(gamma: op.inputs[1], beta: op.inputs[2], mean: mean, variance: variance, eps: eps)
            return Built(step: AffineStep(input: r[0], output: out, norm: norm, relu: op.op == "batchNormReLU"),
                         variables: [norm.gamma, norm.beta, norm.mean, norm.variance])
        case ("relu", _), ("add", _), ("addReLU", _):
            return Built(step: ElementwiseStep(op.op, reads: r, output: out), variables: [])
        case (_, .pool(let max, let kernel, let stride, let padding)):
            let x = values[r[0]].value
            return Built(step: PoolStep(input: r[0], output: out, inputShape: x.shape, outputShape: op.output.shape, format: x.format,
                                        max: max, kernel: kernel, stride: stride, padding: padding), variables: [])
        case ("flatten", _), ("reshape", _):
            let x = values[r[0]].value
            return Built(step: ReshapeStep(input: r[0], output: out, shape: op.output.shape,
                                           inputIsRowMajor: x.format == .contiguous || x.formatIsImmaterial), variables: [])
        default:
            throw InferencePlanError(description: "InferencePlan: no inference step for op '\(op.op)' (op \(k) of the forward); "
                + "the plan runs conv2d, linear, batchNorm, relu, add, pooling, flatten and reshape")
        }
    }

    /// The slots' tensors: each step's output in a buffer of the right shape and format, buffers shared between
    /// values of the same size whose lifetimes do not overlap (a tensor's element count is its storage's, so a
    /// buffer serves values of its own size only), a residual add's output over its other operand when that dies
    /// at the add, views over their input.
    func plannedSlots(_ steps: [any InferenceStep]) -> [Tensor] {
        var lastRead = [Int](repeating: -1, count: values.count)
        for (i, s) in steps.enumerated() { for r in s.reads { lastRead[r] = i } }
        if finalSlot >= 0 { lastRead[finalSlot] = Int.max }
        var storages: [TensorStorage] = [], free: [Int] = [], live: [Int] = []
        var storageOf = [Int](repeating: -1, count: values.count)   // -1: the caller's input or a step's own tensor
        func release(_ slot: Int) {
            let st = storageOf[slot]
            guard st >= 0 else { return }
            live[st] -= 1
            if live[st] == 0 { free.append(st) }
        }
        // r's buffer may take step s's output when r dies at s, nothing else lives in it, it is the same size, holds the
        // values in the output's layout, and s reads no other value from it (a conv must not write over its source).
        func canOverwrite(_ r: Int, by s: any InferenceStep, at i: Int) -> Bool {
            let st = storageOf[r], out = values[s.output].value, v = values[r].value
            return st >= 0 && live[st] == 1 && lastRead[r] == i && storages[st].count == out.count
                && (v.format == out.format || (v.formatIsImmaterial && out.formatIsImmaterial))
                && (s.reads[0] == r || storageOf[s.reads[0]] != st)
        }
        for (i, s) in steps.enumerated() {
            let needed = values[s.output].value.count
            switch s.placement {
            case .dynamic: break
            case .view:
                storageOf[s.output] = storageOf[s.reads[0]]
                if storageOf[s.output] >= 0 { live[storageOf[s.output]] += 1 }
            case .inPlace(let r) where canOverwrite(r, by: s, at: i):
                storageOf[s.output] = storageOf[r]
                live[storageOf[r]] += 1
            case .buffer, .inPlace:
                if let f = free.firstIndex(where: { storages[$0].count == needed }) {
                    storageOf[s.output] = free.remove(at: f)
                    live[storageOf[s.output]] = 1
                } else {
                    storageOf[s.output] = storages.count
                    storages.append(TensorStorage(count: needed)); live.append(1)
                }
            }
            for r in Set(s.reads) where lastRead[r] == i { release(r) }
        }
        // The others (the input, views, sparse steps' outputs) are set at every call; fused-away values are never used.
        return values.indices.map { slot in
            let v = values[slot].value
            guard storageOf[slot] >= 0 else { return Tensor(0) }
            return Tensor(shape: v.shape, format: v.format, storage: storages[storageOf[slot]])
        }
    }
}
