import ShearsData
import ShearsNN
import ShearsTensor

/// GraSP (Wang, Zhang & Grosse 2020, "Picking winning tickets before training by preserving gradient flow", Eq. 8):
///
///     S(−θ) = −θ ⊙ H g,    g = ∇L(θ),  H = ∇²L(θ)
///
/// S(−θ)_q is the first-order change of the gradient norm ΔL = gᵀ g (Eq. 6–7) when weight q is removed; a large S
/// means removing the weight *increases* gradient flow, or reduces it least, so GraSP removes the weights with the
/// highest S and keeps the lowest. `PruningScore` keeps the highest scores and prunes the lowest, so this score is
/// the paper's S negated: **θ ⊙ H g** (higher = kept). Unlike magnitude-type scores it is signed and not
/// normalised: the authors' division by |Σ S| is a positive constant and does not change the ranking.
///
/// g is the *mean* gradient of `lossOf` over `batches` at the masked weights, restricted to the alive weights (a
/// pruned weight is absent from the network, so it is no direction of flow); H g is the mean over the batches of each
/// batch's Hessian-vector product with that same g, taken with respect to the scored `parameters` only (the
/// conv/linear weights, as the authors' code does), by `hessianVectorProduct`: a central difference of exact
/// gradients (DEVELOPERS.md, "Departures"), exact for a loss quadratic in θ, O(ε²) otherwise.
///
/// Temperature: the authors' code divides the logits by T = 200 in both passes; the paper's Eq. 8 has no
/// temperature, and we follow the paper (T = 1): the cross-entropy of the plain logits, as every other criterion here.
///
/// Weights, batch-norm buffers (which move in the training phase) and any gradients the parameters held are restored.
public struct GraSPScore: Criterion {
    public static let criterionName = "grasp"
    public static let summary = "GraSP θ ⊙ Hg: keeps the weights whose removal most reduces gradient flow (at init)"

    public let batches: [Batch]
    public let lossOf: PruningLoss
    public let phase: LearningPhase

    public init(batches: [Batch], phase: LearningPhase = .training, lossOf: @escaping PruningLoss = crossEntropyLoss) {
        precondition(!batches.isEmpty, "GraSPScore: needs at least one batch")
        self.batches = batches
        self.phase = phase
        self.lossOf = lossOf
    }

    public static func make(_ context: ScoringContext) throws -> GraSPScore {
        GraSPScore(batches: try context.requiredBatches(for: criterionName), phase: context.phase)
    }

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        let inverseCount = 1 / Float(batches.count)
        // g: the mean gradient at the masked weights, zero at pruned entries (accumulatedGradients restores the model).
        var g = accumulatedGradients(model: model, parameters: parameters, mask: mask, batches: batches, phase: phase, lossOf: lossOf)
        for (name, _) in parameters {
            g[name] = g[name]! * inverseCount
            if let m = mask[name] { Mask.zero(&g[name]!, where: m.contiguous(), name: name) }
        }
        let hg = meanHessianGradientProduct(model: model, parameters: parameters, mask: mask, vector: parameters.map { g[$0.0]! })
        var out: [String: Tensor] = [:]
        for ((name, p), h) in zip(parameters, hg) {
            out[name] = p.value.contiguous().zipMap(h.contiguous(), op: "GraSPScore") { w, hgw in w * hgw }
        }
        return out
    }

    /// (1/B) Σ_b H_b v at the masked weights, each term by `hessianVectorProduct`; the model is left as found.
    private func meanHessianGradientProduct(model: any Layer, parameters: [(String, Variable)], mask: Mask, vector: [Tensor]) -> [Tensor] {
        let all = model.namedParameters
        let savedValues = all.map { $0.1.value }
        let savedGrads = all.map { $0.1.grad }
        let savedBuffers = model.namedBuffers.map { $0.1.value }
        defer {
            for ((_, p), (v, gr)) in zip(all, zip(savedValues, savedGrads)) { p.value = v; p.grad = gr }
            for ((_, b), v) in zip(model.namedBuffers, savedBuffers) { b.value = v }
        }
        mask.apply(to: parameters)
        let variables = parameters.map(\.1)
        var total = vector.map { Tensor.zeros(like: $0) }
        for batch in batches {
            let hv = hessianVectorProduct(parameters: variables, vector: vector) {
                Context.with(phase) { lossOf(model, batch) }
            }
            for i in total.indices { total[i].addScaled(hv[i], alpha: 1 / Float(batches.count)) }
        }
        return total
    }
}
