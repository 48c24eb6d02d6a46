import Foundation
import ShearsNN
import ShearsTensor

/// SynFlow (Tanaka, Kunin, Yamins & Ganguli 2020, "Pruning neural networks without any data by iteratively
/// conserving synaptic flow", Eq. 1 and Algorithm 1): data-free. Every parameter and buffer is replaced by its
/// absolute value, an all-ones input of one example's shape goes through the network in inference mode (batch norm
/// on its running statistics, as the authors' code scores in eval mode), R = 1ᵀ f(1; |θ|) is the summed output, and
/// the score is S(θ) = |θ| ⊙ ∂R/∂θ — the total flow through each weight. Pruned weights are 0 and score 0. The
/// network is restored afterwards (values, buffers, gradients).
///
/// The paper's point is to apply it *iteratively* at initialisation (`synFlowPrune`: 100 rounds by default, an
/// exponential density schedule), which avoids layer collapse; a single call is one round.
///
/// Float32 only: R is a sum over all input–output paths of products of |θ|, which can overflow for deep nets (the
/// authors compute in float64). A non-finite R is refused with a message rather than ranked.
public struct SynFlowScore: Criterion {
    public static let criterionName = "synflow"
    public static let summary = "data-free |θ ⊙ ∂R/∂θ|, R = 1ᵀ f(1; |θ|) (iterate at init)"

    public let inputShape: [Int]

    public init(inputShape: [Int]) { self.inputShape = inputShape }

    public static func make(_ context: ScoringContext) throws -> SynFlowScore {
        guard !context.inputShape.isEmpty, context.inputShape.allSatisfy({ $0 > 0 }) else {
            throw CriterionError("SynFlow needs the input shape [C, H, W] of one example, got \(context.inputShape)")
        }
        return SynFlowScore(inputShape: context.inputShape)
    }

    public func scores(model: any Layer, parameters: [(String, Variable)], mask: Mask) throws -> [String: Tensor] {
        let state = model.stateDict
        let savedValues = state.map { $0.1.value }
        let savedGrads = state.map { $0.1.grad }
        defer { for ((_, v), (x, g)) in zip(state, zip(savedValues, savedGrads)) { v.value = x; v.grad = g } }
        for (name, v) in state where !name.hasSuffix("num_batches_tracked") { v.value = v.value.contiguous().map { abs($0) } }
        for (_, p) in model.namedParameters { p.grad = nil }
        mask.apply(to: parameters)
        let r = Context.with(.inference) { () -> Variable in
            let out = model(Variable(Tensor.ones([1] + inputShape)))
            return sum(out)
        }
        let total = r.value.scalar
        guard total.isFinite else {
            throw CriterionError("SynFlow: the summed output R = \(total) overflowed float32 for this network; prune in fewer layers or at a smaller scale")
        }
        r.backward()
        var out: [String: Tensor] = [:]
        for (name, p) in parameters {
            let g = p.grad?.contiguous() ?? Tensor.zeros(p.shape)
            out[name] = p.value.contiguous().zipMap(g, op: "SynFlowScore") { w, d in abs(w * d) }
        }
        return out
    }
}

/// SynFlow's Algorithm 1: `rounds` rounds of score → keep the top of the survivors, with the density following the
/// exponential schedule d_k = density^(k / rounds), so that the final mask keeps ⌈density · N⌉ weights. Pruned weights
/// are zeroed in `parameters` after every round (they must be 0 for the next round's flow). Returns the final mask.
public func synFlowPrune(model: any Layer, parameters: [(String, Variable)], mask start: Mask, density: Double,
                         rounds: Int = 100, inputShape: [Int]) throws -> Mask {
    guard density > 0 && density <= 1 else { throw CriterionError("SynFlow: density must be in (0, 1], got \(density)") }
    guard rounds >= 1 else { throw CriterionError("SynFlow: rounds must be ≥ 1, got \(rounds)") }
    let score = SynFlowScore(inputShape: inputShape)
    var mask = start
    for k in 1...rounds {
        let d = pow(density, Double(k) / Double(rounds))
        mask = pruneToDensity(scores: try score.scores(model: model, parameters: parameters, mask: mask), mask: mask, density: d)
        mask.apply(to: parameters)
    }
    return mask
}
