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
/// Temperature: the authors' code (and SynFlow's reimplementation of GraSP) divides the logits by T = 200 in both
/// passes, and the published results come from it; the paper's Eq. 8 has none. We follow the code (`temperature`,
/// default 200). It matters: LeNet-300-100 pruned at init to 90 % by global GraSP, then one epoch on 5,000 MNIST
/// images (lr 0.01, momentum 0.9), reached 23.8 % test accuracy at T = 1 and 70.6 % at T = 200 (SNIP: 86.2 %); at T = 1
/// the mask kept mostly negative fc2 weights.
///
/// Weights, batch-norm buffers (which move in the training phase) and any gradients the parameters held are restored.
public struct GraSPScore: Criterion {
    public static let criterionName = "grasp"
    public static let summary = "GraSP θ ⊙ Hg: keeps the weights whose removal most reduces gradient flow (at init)"

    public let batches: [Batch]
    public let lossOf: PruningLoss
    public let phase: LearningPhase

    /// `lossOf` nil: the cross-entropy of the logits divided by `temperature`.
    public init(batches: [Batch], phase: LearningPhase = .training, temperature: Float = 200, lossOf: PruningLoss? = nil) {
        precondition(!batches.isEmpty, "GraSPScore: needs at least one batch")
        precondition(temperature > 0 && temperature.isFinite, "GraSPScore: the temperature must be positive, got \(temperature)")
        self.batches = batches
        self.phase = phase
        self.lossOf = lossOf ?? { model, batch in
            softmaxCrossEntropy(logits: scale(model(Variable(batch.images)), by: 1 / temperature), labels: batch.labels)
        }
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
        preservingModelState(model) {
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
}
