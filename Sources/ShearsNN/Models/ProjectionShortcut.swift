import ShearsTensor

/// The projection shortcut of He et al. (2016, option B): a 1×1 convolution with stride (no bias) and batch norm,
/// used where a residual block changes shape. Named `0` (conv) and `1` (BN) as PyTorch's `nn.Sequential`, so a block
/// registers it as `shortcut.0.weight`, `shortcut.1.running_mean`, … (kuangliu/pytorch-cifar, OpenLTH).
public struct ProjectionShortcut: Layer {
    public let conv: Conv2d
    public let bn: BatchNorm

    /// The shortcut a block from `inPlanes` to `outPlanes` channels with `stride` needs: nil (identity) when the
    /// shape does not change.
    public static func ifNeeded(_ inPlanes: Int, _ outPlanes: Int, stride: Int, initializer: WeightInit,
                                generator g: inout Generator) -> ProjectionShortcut? {
        guard stride != 1 || inPlanes != outPlanes else { return nil }
        return ProjectionShortcut(inPlanes, outPlanes, stride: stride, initializer: initializer, generator: &g)
    }

    public init(_ inPlanes: Int, _ outPlanes: Int, stride: Int, initializer: WeightInit, generator g: inout Generator) {
        conv = Conv2d(inPlanes, outPlanes, kernel: 1, stride: stride, bias: false, initializer: initializer, generator: &g)
        bn = BatchNorm(outPlanes)
    }

    public func callAsFunction(_ x: Variable) -> Variable { bn(conv(x)) }

    public var namedParameters: [(String, Variable)] { prefixed("0", conv.namedParameters) + prefixed("1", bn.namedParameters) }
    public var namedBuffers: [(String, Variable)] { prefixed("1", bn.namedBuffers) }
}

/// The output width of a residual block's last conv (`name.last`): free (from `widths`, default `nominal`) when a
/// projection shortcut follows the block's plan, else the width of the block's input, which the identity adds.
/// A projection shortcut `name.shortcut.0` has the chosen width too.
func residualWidth(_ widths: LayerWidths, name: String, last: String, nominal: Int, input: Int, projection: Bool) -> Int {
    guard projection else {
        widths.tied("\(name).\(last)", to: input, because: "the identity shortcut adds the block's input")
        return input
    }
    let out = widths.width("\(name).\(last)", nominal: nominal)
    widths.tied("\(name).shortcut.0", to: out, because: "the projection shortcut adds to \(name).\(last)")
    return out
}
