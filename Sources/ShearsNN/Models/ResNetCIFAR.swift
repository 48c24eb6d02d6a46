import ShearsTensor

/// The basic residual block of He et al. (2016): conv3×3-BN-ReLU-conv3×3-BN plus a shortcut, then ReLU.
/// Where the shape changes, the shortcut is a 1×1 convolution with stride plus BN (`shortcut.0`, `shortcut.1`),
/// PyTorch-style names as in the widely used CIFAR ResNet code (and OpenLTH).
public struct BasicBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
    public let shortcut: ProjectionShortcut?

    public init(_ inPlanes: Int, _ planes: Int, stride: Int, initializer: WeightInit, generator g: inout Generator) {
        conv1 = Conv2d(inPlanes, planes, kernel: 3, stride: stride, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn1 = BatchNorm(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, stride: 1, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn2 = BatchNorm(planes)
        shortcut = ProjectionShortcut.ifNeeded(inPlanes, planes, stride: stride, initializer: initializer, generator: &g)
    }

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

    public init(depth: Int, classes: Int = 10, width: Int = 16, initializer: WeightInit = .kaimingNormal, generator g: inout Generator) {
        precondition((depth - 2) % 6 == 0 && depth >= 8, "ResNetCIFAR: depth must be 6n+2 (20, 32, 44, 56, 110), got \(depth)")
        let n = (depth - 2) / 6
        conv1 = Conv2d(3, width, kernel: 3, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn1 = BatchNorm(width)
        var inPlanes = width
        var built: [[BasicBlock]] = []
        for (s, planes) in [width, 2 * width, 4 * width].enumerated() {
            var blocks: [BasicBlock] = []
            for b in 0..<n {
                blocks.append(BasicBlock(inPlanes, planes, stride: (s > 0 && b == 0) ? 2 : 1, initializer: initializer, generator: &g))
                inPlanes = planes
            }
            built.append(blocks)
        }
        stages = built
        fc = Linear(4 * width, classes, initializer: .pytorchDefault, generator: &g)
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
