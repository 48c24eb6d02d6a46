import ShearsTensor

/// A multilayer perceptron with ReLU between layers: `fc1`, `fc2`, … (`fcK` is the classifier).
/// LeNet-300-100 (LeCun et al. 1998, the lottery-ticket MLP) is `MLP(inputs: 784, hidden: [300, 100], classes: 10)`:
/// 266,610 parameters. Inputs of any shape [N, …] are flattened first.
public struct MLP: Layer {
    public let layers: [Linear]

    /// `widths` narrows hidden layer `fcK` (K = 1…hidden.count); the defaults build the plan as given.
    public init(inputs: Int, hidden: [Int], classes: Int, initializer: WeightInit = .kaimingNormal,
                widths: LayerWidths = LayerWidths(), generator g: inout Generator) {
        let sizes = [inputs] + hidden.enumerated().map { widths.width("fc\($0.offset + 1)", nominal: $0.element) } + [classes]
        var made: [Linear] = []
        for i in 0..<(sizes.count - 1) {
            made.append(Linear(sizes[i], sizes[i + 1], initializer: initializer, generator: &g))
        }
        layers = made
    }

    /// LeNet-300-100 for 28×28 inputs.
    public static func lenet300100(generator g: inout Generator) -> MLP { MLP(inputs: 784, hidden: [300, 100], classes: 10, generator: &g) }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x.shape.count == 2 ? x : flatten(x)
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = relu(h) }
        }
        return h
    }

    public var namedParameters: [(String, Variable)] {
        layers.enumerated().flatMap { prefixed("fc\($0.offset + 1)", $0.element.namedParameters) }
    }
}
