import ShearsTensor

/// `--sparse-kernels`: whether pruned layers train on the sparse kernels — where measured faster, always, never.
public enum SparseKernelMode: String, Sendable, CaseIterable {
    case auto, on, off
}

/// What `SparseTraining.prepare` decided for one weight.
public struct SparseTrainingDecision: Sendable {
    /// The weight's state_dict name (`layer1.0.conv1.weight`).
    public let name: String
    public let weightShape: [Int]
    /// The input the layer sees at the prepared batch size ([N, in] or [N, C, H, W]).
    public let inputShape: [Int]
    /// Fraction of the weight's entries outside its structure (pruned).
    public let sparsity: Double
    /// Best of the timed repetitions of one forward + backward of the layer alone, in microseconds; nil where the
    /// mode did not time (`on`, `off`) or the weight has no structure to use (no mask entry).
    public let denseMicroseconds: Double?
    public let sparseMicroseconds: Double?
    /// Whether the sparse training form is attached.
    public let chosen: Bool
}

/// Sparse training for pruned models with a fixed mask: attaches a `SparseTrainingWeight` (the structure of the
/// mask; the values stay in the dense weight) to every linear / conv weight for which one forward + backward on
/// the sparse training kernels measured faster than on the dense ones at the batch size training runs at
/// (`auto`), to every masked one (`on`), or to none (`off`).
///
/// When to call it: whenever the mask changes and has been applied to the weights — at every pruning event (an
/// S-Cyc cycle start after pruning and rewinding, an APP megabatch, a GMP step) and, for gRDA, once its support
/// has been stable for a while, with `weightGradient: .dense` (gRDA's accumulator needs the gradient at pruned
/// entries; the forward and the backward to the input are exact while they stay 0). A form assumes the entries
/// outside it are 0: when gRDA brings one back, call `prepare` again before the next forward. Between calls the
/// forms survive every optimizer step.
/// Training results equal the dense masked path to float rounding (the sums run in another order), and are
/// bit-identical across thread counts, so exact resume holds as long as `prepare` makes the same decisions; with
/// `auto` they come from timings, so a resumed run re-decides and may differ in the last bits from the
/// uninterrupted one — use `on` or `off` where bit-identical resume matters, or store the decisions in the
/// checkpoint and re-apply them with `attach`.
public enum SparseTraining {
    /// Times (for `auto`) and attaches the sparse training forms; returns one decision per weight in the order the
    /// forward uses them. `masks` maps parameter names to 0/1 tensors (a `Mask`'s `tensors`); without it every
    /// linear / conv weight's own nonzeros are its structure. Runs one traced forward in the inference phase (batch
    /// statistics untouched); gradients the model holds are restored after timing. `weightGradient: .dense` keeps
    /// the dense weight gradient (gRDA: see `SparseTrainingWeight.WeightGradient`).
    @discardableResult
    public static func prepare(model: any Layer, masks: [String: Tensor]? = nil, batchSize: Int, inputShape: [Int],
                               mode: SparseKernelMode = .auto, weightGradient: SparseTrainingWeight.WeightGradient = .keptEntries,
                               repetitions: Int = 3, seed: UInt64 = 0) -> [SparseTrainingDecision] {
        release(model)
        let names = Dictionary(model.namedParameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        let uses = traceTrainingUses(model, batchSize: max(1, batchSize), inputShape: inputShape)
        var g = Generator(seed: seed)
        var decisions: [SparseTrainingDecision] = []
        var seen = Set<ObjectIdentifier>()
        for use in uses where seen.insert(ObjectIdentifier(use.weight)).inserted {
            let name = names[ObjectIdentifier(use.weight)] ?? use.op
            let keep: Tensor? = masks == nil ? use.weight.value : masks![name].flatMap { $0.shape == use.weight.shape ? $0 : nil }
            guard let keep, mode != .off else {
                decisions.append(SparseTrainingDecision(name: name, weightShape: use.weight.shape, inputShape: use.inputShape,
                                                        sparsity: keep.map { SparseTrainingWeight(keep: $0).sparsity } ?? 0,
                                                        denseMicroseconds: nil, sparseMicroseconds: nil, chosen: false))
                continue
            }
            let form = SparseTrainingWeight(keep: keep, weightGradient: weightGradient)
            var times: (dense: Double, sparse: Double)?
            if mode == .auto { times = time(use, form: form, repetitions: max(1, repetitions), generator: &g) }
            let chosen = mode == .on || times!.sparse < times!.dense
            use.weight.trainingForm = chosen ? form : nil
            decisions.append(SparseTrainingDecision(name: name, weightShape: use.weight.shape, inputShape: use.inputShape,
                                                    sparsity: form.sparsity, denseMicroseconds: times.map { $0.dense * 1e6 },
                                                    sparseMicroseconds: times.map { $0.sparse * 1e6 }, chosen: chosen))
        }
        return decisions
    }

    /// Attaches the forms of `decisions` that were chosen (from `masks`, or the weights' nonzeros) without timing:
    /// how a resumed run re-applies the decisions of the run it continues.
    public static func attach(model: any Layer, masks: [String: Tensor]? = nil, chosen: Set<String>,
                              weightGradient: SparseTrainingWeight.WeightGradient = .keptEntries) {
        release(model)
        for (name, p) in model.namedParameters where chosen.contains(name) && (p.value.rank == 2 || p.value.rank == 4) {
            let keep = masks == nil ? p.value : masks![name]
            if let keep, keep.shape == p.value.shape { p.trainingForm = SparseTrainingWeight(keep: keep, weightGradient: weightGradient) }
        }
    }

    /// Drops the forms of weights that now hold nonzeros outside their structure (gRDA brought pruned entries
    /// back) and returns their names; call it after every gRDA step while forms are attached (one pass over each
    /// such weight, less than gRDA's own dense update), and `prepare` again when it returns names.
    @discardableResult
    public static func releaseStale(_ model: any Layer) -> [String] {
        var stale: [String] = []
        for (name, p) in model.namedParameters {
            if let f = p.trainingForm, !f.holdsOnlyKeptEntries(p.value) {
                p.trainingForm = nil
                stale.append(name)
            }
        }
        return stale
    }

    /// Drops every sparse training form attached to `model`'s parameters (the dense kernels run again).
    public static func release(_ model: any Layer) {
        for (_, p) in model.namedParameters { p.trainingForm = nil }
    }

    /// The linear / conv weight uses of one taped forward of `model` (inference phase, so batch norm uses and
    /// keeps its running statistics), with whether each input needs a gradient.
    static func traceTrainingUses(_ model: any Layer, batchSize: Int, inputShape: [Int]) -> [WeightUse] {
        let x = Variable(Tensor.zeros([batchSize] + inputShape))
        return Context.with(.inference) { WeightUseRecorder.record { _ = model(x) }.1 }
    }

    /// Best-of-`repetitions` seconds of one forward + backward of `use` alone, dense and with `form` (interleaved,
    /// after a warm-up round). The weight's and bias' gradients are restored afterwards.
    static func time(_ use: WeightUse, form: SparseTrainingWeight, repetitions: Int,
                     generator g: inout Generator) -> (dense: Double, sparse: Double) {
        let saved = (use.weight.grad, use.bias?.grad)
        defer { use.weight.grad = saved.0; use.bias?.grad = saved.1 }
        let x = Variable(Tensor.normal(use.inputShape, generator: &g).in(use.inputFormat), requiresGrad: use.inputRequiresGrad)
        let gy = Tensor.normal(SparseInference.apply(use, Variable(x.value)).shape, generator: &g)
        func once(_ f: SparseTrainingWeight?) -> Double {
            use.weight.trainingForm = f
            x.grad = nil   // no accumulation pass in the timing
            use.weight.grad = nil
            use.bias?.grad = nil
            let t0 = monotonicSeconds()
            SparseInference.apply(use, x).backward(seed: gy)
            return monotonicSeconds() - t0
        }
        var best = (dense: Double.infinity, sparse: Double.infinity)
        for rep in 0...repetitions {   // round 0 warms up (oneDNN primitives, offsets)
            let d = once(nil), s = once(form)
            if rep > 0 { best = (min(best.dense, d), min(best.sparse, s)) }
        }
        use.weight.trainingForm = nil
        return best
    }
}
