import Foundation

/// Hessian-vector product H·v of a scalar loss with respect to `parameters`, by a central difference of
/// gradients:
///
///     H·v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε
///
/// The tape records first derivatives only (each op's backward is plain kernel code, not itself taped), so
/// the exact double-backward (Pearlmutter's R-operator) is not available; the central difference is exact
/// for quadratic losses and has O(ε²) truncation error otherwise.
///
/// Step: ε = ∛(float32 machine epsilon) · (1 + ‖θ‖) / ‖v‖ ≈ 4.9e-3 · (1 + ‖θ‖) / ‖v‖ unless `step` is
/// given — the cube root balances the O(ε²) truncation error against the O(δ/ε) rounding error of float32
/// gradients (Nocedal & Wright, *Numerical Optimization*, §8.1).
///
/// `loss` must rebuild the loss from the current parameter values each time it is called and must not change
/// state (run batch-norm layers in inference, or restore their buffers). Parameter values and any gradients
/// they held are restored before returning.
public func hessianVectorProduct(parameters: [Variable], vector: [Tensor], step: Float? = nil,
                                 loss: () -> Variable) -> [Tensor] {
    precondition(parameters.count == vector.count,
                 "hessianVectorProduct: \(parameters.count) parameters but \(vector.count) vector blocks")
    for (p, v) in zip(parameters, vector) {
        checkShape(p.shape == v.shape, op: "hessianVectorProduct", "parameter", p.shape, "vector block", v.shape,
                   expected: "a vector shaped like the parameters")
    }
    let theta = parameters.map(\.value)
    let savedGrads = parameters.map(\.grad)
    let thetaNorm = Float(theta.reduce(0.0) { $0 + $1.dot($1) }.squareRoot())
    let vNorm = Float(vector.reduce(0.0) { $0 + $1.dot($1) }.squareRoot())
    guard vNorm > 0 else { return vector.map { Tensor.zeros(like: $0) } }
    let eps = step ?? cbrt(Float.ulpOfOne) * (1 + thetaNorm) / vNorm

    func gradient(at sign: Float) -> [Tensor] {
        for (i, p) in parameters.enumerated() {
            var moved = theta[i]
            moved.addScaled(vector[i], alpha: sign * eps)
            p.value = moved
            p.zeroGrad()
        }
        loss().backward()
        return parameters.map { $0.grad ?? Tensor.zeros(like: $0.value) }
    }
    let plus = gradient(at: 1)
    let minus = gradient(at: -1)
    for (i, p) in parameters.enumerated() {
        p.value = theta[i]
        p.grad = savedGrads[i]
    }
    return zip(plus, minus).map { ($0.0 - $0.1) / (2 * eps) }
}
