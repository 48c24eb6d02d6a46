import ShearsTensor

/// Fully connected layer (`nn.Linear`): parameters `weight` [out, in] and `bias` [out].
/// Bias init as PyTorch: U(±1/√fan_in).
public struct Linear: Layer {
    public let weight: Variable
    public let bias: Variable?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, initializer: WeightInit = .pytorchDefault,
                generator g: inout Generator) {
        weight = Variable(initializer.weight([outFeatures, inFeatures], generator: &g), requiresGrad: true)
        let bound = 1 / Float(inFeatures).squareRoot()
        self.bias = bias ? Variable(Tensor.uniform([outFeatures], low: -bound, high: bound, generator: &g), requiresGrad: true) : nil
    }

    public func callAsFunction(_ x: Variable) -> Variable { linear(x, weight: weight, bias: bias) }

    public var namedParameters: [(String, Variable)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
