import ShearsTensor

/// 2-D convolution layer (`nn.Conv2d`, dilation 1, groups 1): `weight` [out, in, k, k], optional `bias` [out].
public struct Conv2d: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int
    public let padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                initializer: WeightInit = .pytorchDefault, generator g: inout Generator) {
        weight = Variable(initializer.weight([outChannels, inChannels, kernel, kernel], generator: &g), requiresGrad: true)
        let bound = 1 / Float(inChannels * kernel * kernel).squareRoot()
        self.bias = bias ? Variable(Tensor.uniform([outChannels], low: -bound, high: bound, generator: &g), requiresGrad: true) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    public var namedParameters: [(String, Variable)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
