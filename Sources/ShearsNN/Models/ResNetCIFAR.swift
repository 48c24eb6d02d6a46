import ShearsTensor

/// The basic residual block of He et al. (2016): conv3×3-BN-ReLU-conv3×3-BN plus a shortcut, then ReLU.
/// Where the shape changes, the shortcut is a 1×1 convolution with stride plus BN (`shortcut.0`, `shortcut.1`),
/// PyTorch-style names as in the widely used CIFAR ResNet code (and OpenLTH).
public struct BasicBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
    public let shortcut: ProjectionShortcut?

    /// `inPlanes` is the actual input width; whether the block has a projection shortcut follows the nominal plan
    /// (`nominalInPlanes`, default `inPlanes`), so a narrowed model keeps its nominal structure. `widths` narrows
    /// `name.conv1`, and `name.conv2` (with its shortcut) where a projection frees it; under an identity shortcut
    /// conv2 has the input's width. The defaults build the nominal block.
    public init(_ inPlanes: Int, _ planes: Int, stride: Int, initializer: WeightInit, nominalInPlanes: Int? = nil,
                widths: LayerWidths = LayerWidths(), name: String = "", generator g: inout Generator) {
        let projection = stride != 1 || (nominalInPlanes ?? inPlanes) != planes
        let mid = widths.width("\(name).conv1", nominal: planes)
        let out = residualWidth(widths, name: name, last: "conv2", nominal: planes, input: inPlanes, projection: projection)
        conv1 = Conv2d(inPlanes, mid, kernel: 3, stride: stride, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn1 = BatchNorm(mid)
        conv2 = Conv2d(mid, out, kernel: 3, stride: 1, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn2 = BatchNorm(out)
        shortcut = projection ? ProjectionShortcut(inPlanes, out, stride: stride, initializer: initializer, generator: &g) : nil
    }

    /// The block's output width.
    public var outPlanes: Int { conv2.weight.shape[0] }

    public func callAsFunction(_ x: Variable) -> Variable {
        let out = bn2(conv2(bn1(conv1(x), fusedReLU: true)))
        let identity = shortcut.map { $0(x) } ?? x
        return addReLU(out, identity)
    }

    public var namedParameters: [(String, Variable)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("bn1", bn1.namedParameters)
            + prefixed("conv2", conv2.namedParameters) + prefixed("bn2", bn2.namedParameters)
            + (shortcut.map { prefixed("shortcut", $0.namedParameters) } ?? [])
    }

    public var namedBuffers: [(String, Variable)] {
        prefixed("bn1", bn1.namedBuffers) + prefixed("bn2", bn2.namedBuffers)
            + (shortcut.map { prefixed("shortcut", $0.namedBuffers) } ?? [])
    }
}

/// ResNet-(6n+2) for 32×32 inputs (He et al. 2016, §4.2): conv3×3(16)-BN-ReLU, three stages of n basic blocks
/// with 16/32/64 channels (stride 2 at the start of stages 2 and 3), global average pooling, a linear
/// classifier. ResNet-20 (n = 3) has 272,474 parameters with 1×1 projection shortcuts; each further block per
/// stage adds 97,216, so ResNet-32 (n = 5) has 466,906 and ResNet-56 (n = 9) 855,770 (He et al. 2016: 0.27M,
/// 0.46M, 0.85M). Init: convolutions `initializer` (He normal, fan_in, by default), BN γ = 1, β = 0, the
/// classifier PyTorch's default. The stem takes 3 input channels.
public struct ResNetCIFAR: Layer {
    public let conv1: Conv2d
    public let bn1: BatchNorm
    public let stages: [[BasicBlock]]
    public let fc: Linear

    /// `widths` narrows the stem (`conv1`, with every block of stage 1), any block's `conv1` and the `conv2` of a
    /// stage's first block (with its shortcut and every later block of the stage); the defaults build the nominal net.
    public init(depth: Int, classes: Int = 10, inputChannels: Int = 3, width: Int = 16, initializer: WeightInit = .kaimingNormal,
                widths: LayerWidths = LayerWidths(), generator g: inout Generator) {
        precondition((depth - 2) % 6 == 0 && depth >= 8, "ResNetCIFAR: depth must be 6n+2 (20, 32, 44, 56, 110), got \(depth)")
        let n = (depth - 2) / 6
        let stem = widths.width("conv1", nominal: width)
        conv1 = Conv2d(inputChannels, stem, kernel: 3, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn1 = BatchNorm(stem)
        var inPlanes = stem, nominalIn = width
        var built: [[BasicBlock]] = []
        for (s, planes) in [width, 2 * width, 4 * width].enumerated() {
            var blocks: [BasicBlock] = []
            for b in 0..<n {
                let block = BasicBlock(inPlanes, planes, stride: (s > 0 && b == 0) ? 2 : 1, initializer: initializer,
                                       nominalInPlanes: nominalIn, widths: widths, name: "layer\(s + 1).\(b)", generator: &g)
                blocks.append(block)
                inPlanes = block.outPlanes
                nominalIn = planes
            }
            built.append(blocks)
        }
        stages = built
        fc = Linear(inPlanes, classes, initializer: .pytorchDefault, generator: &g)
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = bn1(conv1(x), fusedReLU: true)
        for stage in stages { for block in stage { h = block(h) } }
        return fc(globalAvgPool2d(h))
    }

    public var namedParameters: [(String, Variable)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("bn1", bn1.namedParameters)
            + prefixedStages(stages, \.namedParameters) + prefixed("fc", fc.namedParameters)
    }

    public var namedBuffers: [(String, Variable)] { prefixed("bn1", bn1.namedBuffers) + prefixedStages(stages, \.namedBuffers) }
}
