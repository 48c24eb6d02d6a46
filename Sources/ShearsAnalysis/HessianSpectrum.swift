import Foundation
import ShearsData
import ShearsNN
import ShearsTensor

/// The Hessian of a model's mean cross-entropy over a set of batches, as a linear operator on the flattened
/// parameters (in `parameters` order, each tensor row-major): H·v = Σ_b (n_b/N)·H_b·v, where H_b is the Hessian of
/// batch b's mean loss and N = Σ_b n_b, i.e. exactly the Hessian of the mean loss over all N examples.
///
/// Each H_b·v is `hessianVectorProduct` (a central difference of exact float32 gradients). That is exact for losses
/// that are quadratic in the parameters and accurate to O(ε²) for smooth ones (the tests' softmax regression). For ReLU
/// networks it is only approximately linear in v: units whose pre-activation changes sign between θ − εv and θ + εv add
/// terms that do not vanish as ε → 0 (and a smaller ε meets float32 rounding), so on LeNet-300-100 the measured
/// ‖Hv − λv‖/λ of the leading Ritz pair is a few percent (docs/grda.md). Pearlmutter's exact R-operator would need a
/// taped backward pass, which the tape does not record (DEVELOPERS.md, "Departures"). The model runs in
/// inference mode (`Context.phase = .inference`: batch norm uses its running statistics, no dropout), so the operator
/// is deterministic and symmetric up to rounding, and no buffer changes. (The paper's code left the model in training
/// mode; spec §4b lists that quirk. We follow the issue: eval mode.)
public struct DatasetHessian {
    public let model: any Layer
    public let parameters: [(String, Variable)]
    public let batches: [Batch]
    public let dimension: Int
    /// The finite-difference step ε of every H_b·v for a unit v (scaled by 1/‖v‖); nil: `hessianVectorProduct`'s
    /// default ∛(float32 ε)·(1 + ‖θ‖)/‖v‖. For ReLU networks a smaller step keeps the operator closer to linear (fewer
    /// units change sign between θ ± εv), which Lanczos relies on; see `HessianAnalysis`.
    public let step: Float?

    public init(model: any Layer, parameters: [(String, Variable)], batches: [Batch], step: Float? = nil) {
        precondition(!batches.isEmpty, "DatasetHessian: needs at least one batch")
        precondition(step.map { $0 > 0 && $0.isFinite } ?? true, "DatasetHessian: the step must be a positive number")
        self.model = model
        self.parameters = parameters
        self.batches = batches
        self.step = step
        dimension = parameters.reduce(0) { $0 + $1.1.value.count }
    }

    /// Splits a flat vector into tensors shaped like the parameters.
    public func unflatten(_ v: [Double]) -> [Tensor] {
        precondition(v.count == dimension, "DatasetHessian: vector of \(v.count) values for \(dimension) parameters")
        var offset = 0
        return parameters.map { _, p in
            let n = p.value.count
            defer { offset += n }
            return Tensor(shape: p.shape, scalars: v[offset..<(offset + n)].map(Float.init))
        }
    }

    /// H·v.
    public func apply(_ v: [Double]) -> [Double] {
        let blocks = unflatten(v)
        let total = Double(batches.reduce(0) { $0 + $1.labels.count })
        var out = [Double](repeating: 0, count: dimension)
        let variables = parameters.map(\.1)
        Context.with(.inference) {
            for batch in batches {
                let vNorm = Float(v.reduce(0) { $0 + $1 * $1 }.squareRoot())
                let hv = hessianVectorProduct(parameters: variables, vector: blocks, step: step.map { $0 / max(vNorm, 1e-30) }) {
                    softmaxCrossEntropy(logits: model(Variable(batch.images)), labels: batch.labels)
                }
                let weight = Double(batch.labels.count) / total
                var offset = 0
                for t in hv {
                    let s = t.scalars
                    for i in 0..<s.count { out[offset + i] += weight * Double(s[i]) }
                    offset += s.count
                }
            }
        }
        return out
    }

    /// The top-k eigenpairs by `lanczosTopEigenpairs`.
    public func topEigenpairs(k: Int = 10, maxIterations: Int = 60, tolerance: Double = 1e-3, seed: UInt64 = 0) -> EigenPairs {
        lanczosTopEigenpairs(dimension: dimension, k: k, maxIterations: min(maxIterations, dimension), tolerance: tolerance,
                             seed: seed, apply: apply)
    }
}
