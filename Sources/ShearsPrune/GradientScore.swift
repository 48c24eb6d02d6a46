import ShearsData
import ShearsNN
import ShearsTensor

/// The loss a gradient-based score differentiates: the model and one batch in, a scalar `Variable` out. A closure
/// keeps this target independent of the trainer.
public typealias PruningLoss = (any Layer, Batch) -> Variable

/// Mean softmax cross-entropy of the model's logits, the loss every paper here scores with.
public func crossEntropyLoss(_ model: any Layer, _ batch: Batch) -> Variable {
    softmaxCrossEntropy(logits: model(Variable(batch.images)), labels: batch.labels)
}

/// First-order Taylor score |w ⊙ ḡ| with ḡ the *mean* gradient of `lossOf` over `batches` (S-Cyc spec §4,
/// "Gradient-score details": ShrinkBench `GlobalMagGrad`/`LayerMagGrad` uses one batch in train mode; the
/// spec's proposal is the mean over a few batches). `phase` picks batch-norm behaviour: `.training` (batch
/// statistics, ShrinkBench parity) or `.inference` (running statistics, the spec's proposal).
///
/// The gradient is taken at the masked weights (pruned entries set to 0 for the pass). Weights, batch-norm
/// buffers and any gradients the parameters held before are restored afterwards.
public struct GradientScore: PruningScore {
    public let batches: [Batch]
    public let lossOf: PruningLoss
    public let phase: LearningPhase

    public init(batches: [Batch], phase: LearningPhase = .training, lossOf: @escaping PruningLoss = crossEntropyLoss) {
        precondition(!batches.isEmpty, "GradientScore: needs at least one batch")
        self.batches = batches
        self.phase = phase
        self.lossOf = lossOf
    }

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        let grads = accumulatedGradients(model: model, parameters: parameters, mask: mask, batches: batches,
                                         phase: phase, lossOf: lossOf)
        let inv = 1 / Float(batches.count)
        return Dictionary(uniqueKeysWithValues: parameters.map { name, p in
            (name, p.value.contiguous().zipMap(grads[name]!, op: "GradientScore") { w, g in abs(w * g * inv) })
        })
    }
}

/// SNIP (Lee et al. 2019, "SNIP: single-shot network pruning based on connection sensitivity", Eq. 6):
/// s_j = |∂L/∂c_j| / Σ_k |∂L/∂c_k| with c the mask, evaluated at c = current mask. For w_eff = c ⊙ w,
/// ∂L/∂c = (∂L/∂w_eff) ⊙ w, so s = |g ⊙ w| normalised by its sum over all scored tensors ("the mask trick").
/// Over several batches the gradients are *summed* before the absolute value, as the APP code does (app.md
/// §1.3 step 4: `backward()` per batch without zeroing); normalisation makes sum vs mean immaterial.
/// Usually taken at initialisation on one batch; train-mode batch norm by default (as the APP code).
public struct SNIPScore: PruningScore {
    public let batches: [Batch]
    public let lossOf: PruningLoss
    public let phase: LearningPhase

    public init(batches: [Batch], phase: LearningPhase = .training, lossOf: @escaping PruningLoss = crossEntropyLoss) {
        precondition(!batches.isEmpty, "SNIPScore: needs at least one batch")
        self.batches = batches
        self.phase = phase
        self.lossOf = lossOf
    }

    public init(batch: Batch, phase: LearningPhase = .training, lossOf: @escaping PruningLoss = crossEntropyLoss) {
        self.init(batches: [batch], phase: phase, lossOf: lossOf)
    }

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        let grads = accumulatedGradients(model: model, parameters: parameters, mask: mask, batches: batches,
                                         phase: phase, lossOf: lossOf)
        var raw: [String: Tensor] = [:]
        var total = 0.0
        for (name, p) in parameters {
            var s = p.value.contiguous().zipMap(grads[name]!, op: "SNIPScore") { w, g in abs(w * g) }
            if let m = mask[name] { s = s * m.contiguous() }   // c = 0 at pruned entries: no sensitivity
            total += Double(s.sum())
            raw[name] = s
        }
        guard total > 0 else { return raw }
        let inv = Float(1 / total)
        return raw.mapValues { $0 * inv }
    }
}

/// Σ_b ∂lossOf(model, b)/∂w for each of `parameters` (row-major), at the masked weights. Leaves the model as it
/// found it: weights, every buffer (batch-norm running statistics move in train mode) and prior gradients.
func accumulatedGradients(model: any Layer, parameters: [(String, Variable)], mask: Mask, batches: [Batch],
                          phase: LearningPhase, lossOf: PruningLoss) -> [String: Tensor] {
    preservingModelState(model) {
        for (_, p) in model.namedParameters { p.grad = nil }
        mask.apply(to: parameters)   // copy-on-write: the saved values are untouched
        Context.with(phase) {
            for batch in batches { lossOf(model, batch).backward() }
        }
        var out: [String: Tensor] = [:]
        for (name, p) in parameters { out[name] = p.grad?.contiguous() ?? Tensor.zeros(p.shape) }
        return out
    }
}

/// Runs `body`, then puts the model back as it found it: every parameter's value and gradient, and every buffer
/// (batch-norm running statistics move in the training phase). Scoring passes must leave no trace.
func preservingModelState<T>(_ model: any Layer, _ body: () throws -> T) rethrows -> T {
    let all = model.namedParameters, buffers = model.namedBuffers
    let savedValues = all.map { $0.1.value }, savedGrads = all.map { $0.1.grad }, savedBuffers = buffers.map { $0.1.value }
    defer {
        for ((_, p), (v, g)) in zip(all, zip(savedValues, savedGrads)) { p.value = v; p.grad = g }
        for ((_, b), v) in zip(buffers, savedBuffers) { b.value = v }
    }
    return try body()
}
