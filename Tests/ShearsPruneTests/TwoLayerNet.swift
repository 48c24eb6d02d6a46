import ShearsNN
import ShearsTensor

/// The hand-computable nets of the criterion tests: two bias-free 2→2→1 linear layers, y = W2 · φ(W1 · x), with
/// φ = ReLU or the identity (then the Hessian has a closed form).
struct TwoLayerNet: Layer {
    let l1: Linear, l2: Linear
    let activated: Bool
    init(w1: [Float], w2: [Float], relu activated: Bool) {
        var g = Generator(seed: 0)
        l1 = Linear(2, 2, bias: false, generator: &g)
        l2 = Linear(2, 1, bias: false, generator: &g)
        l1.weight.value = Tensor(shape: [2, 2], scalars: w1)
        l2.weight.value = Tensor(shape: [1, 2], scalars: w2)
        self.activated = activated
    }
    func callAsFunction(_ x: Variable) -> Variable { activated ? l2(relu(l1(x))) : l2(l1(x)) }
    var namedParameters: [(String, Variable)] { prefixed("l1", l1.namedParameters) + prefixed("l2", l2.namedParameters) }
}
