import ShearsTensor

/// The bottleneck residual block of He et al. (2016) with expansion 4: conv1×1-BN-ReLU, conv3×3 (stride here,
/// as torchvision's "v1.5")-BN-ReLU, conv1×1 (4·planes)-BN, plus a shortcut, then ReLU. Where the shape changes
/// the shortcut is a 1×1 convolution with stride plus BN, named `shortcut.0` / `shortcut.1` (kuangliu/pytorch-cifar
/// `models/resnet.py`, like `BasicBlock`). Convolutions have no bias.
public struct Bottleneck: Layer {
    public static let expansion = 4
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm, conv3: Conv2d, bn3: BatchNorm
    public let shortcut: ProjectionShortcut?

    /// As `BasicBlock`'s: `widths` narrows `name.conv1`, `name.conv2`, and `name.conv3` where a projection (by the
    /// nominal plan, `nominalInPlanes`) frees it; the defaults build the nominal block.
    public init(_ inPlanes: Int, _ planes: Int, stride: Int, initializer: WeightInit, nominalInPlanes: Int? = nil,
                widths: LayerWidths = LayerWidths(), name: String = "", generator g: inout Generator) {
        let projection = stride != 1 || (nominalInPlanes ?? inPlanes) != Self.expansion * planes
        let mid1 = widths.width("\(name).conv1", nominal: planes), mid2 = widths.width("\(name).conv2", nominal: planes)
        let out = residualWidth(widths, name: name, last: "conv3", nominal: Self.expansion * planes, input: inPlanes,
                                projection: projection)
        conv1 = Conv2d(inPlanes, mid1, kernel: 1, bias: false, initializer: initializer, generator: &g)
        bn1 = BatchNorm(mid1)
        conv2 = Conv2d(mid1, mid2, kernel: 3, stride: stride, padding: 1, bias: false, initializer: initializer, generator: &g)
        bn2 = BatchNorm(mid2)
        conv3 = Conv2d(mid2, out, kernel: 1, bias: false, initializer: initializer, generator: &g)
        bn3 = BatchNorm(out)
        shortcut = projection ? ProjectionShortcut(inPlanes, out, stride: stride, initializer: initializer, generator: &g) : nil
    }

    /// The block's output width.
    public var outPlanes: Int { conv3.weight.shape[0] }

    public func callAsFunction(_ x: Variable) -> Variable {
        let h = bn2(conv2(bn1(conv1(x), fusedReLU: true)), fusedReLU: true)
        let out = bn3(conv3(h))
        let identity = shortcut.map { $0(x) } ?? x
        return addReLU(out, identity)
    }

    public var namedParameters: [(String, Variable)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("bn1", bn1.namedParameters)
            + prefixed("conv2", conv2.namedParameters) + prefixed("bn2", bn2.namedParameters)
            + prefixed("conv3", conv3.namedParameters) + prefixed("bn3", bn3.namedParameters)
            + (shortcut.map { prefixed("shortcut", $0.namedParameters) } ?? [])
    }

    public var namedBuffers: [(String, Variable)] {
        prefixed("bn1", bn1.namedBuffers) + prefixed("bn2", bn2.namedBuffers) + prefixed("bn3", bn3.namedBuffers)
            + (shortcut.map { prefixed("shortcut", $0.namedBuffers) } ?? [])
    }
}

/// ResNet-18 and ResNet-50 (He et al. 2016): a stem, four stages of `BasicBlock`s ×[2, 2, 2, 2] (ResNet-18) or
/// `Bottleneck`s ×[3, 4, 6, 3] (ResNet-50) with 64/128/256/512 planes (×4 out for bottlenecks; stride 2 at the
/// start of stages 2–4), global average pooling and a linear classifier.
///
/// **Stems.** `.cifar` (for 32×32 and, as in the APP paper's code, also 64×64 inputs): conv3×3 stride 1 (64) →
/// BN → ReLU, no max pool. `.imagenet`: conv7×7 stride 2 padding 3 → BN → ReLU → max pool 3×3 stride 2 padding 1.
///
/// **Names** are kuangliu/pytorch-cifar's (`models/resnet.py`): `conv1`, `bn1`, `layer{1…4}.{b}.conv1/bn1/…`,
/// projection shortcuts `layer2.0.shortcut.0` (conv) / `.shortcut.1` (BN) — as `ResNetCIFAR` here — except the
/// classifier, which is `fc` (torchvision's and `ResNetCIFAR`'s name; kuangliu calls it `linear`). A torchvision
/// state_dict (the APP paper's CIFAR-stem `models/ResNet.py`) maps by renaming `downsample` → `shortcut`.
///
/// **Init** as torchvision (which the APP code uses): conv weights He normal with fan_out
/// (`kaiming_normal_(mode="fan_out", nonlinearity="relu")`, drawn as `WeightInit.kaimingNormal` and rescaled
/// by √(fan_in / fan_out), exactly that distribution); BN γ = 1, β = 0; the classifier PyTorch's default
/// (`WeightInit.pytorchDefault`, bias U(±1/√fan_in)).
///
/// **Parameters** (10 classes), exact vs published:
/// - ResNet-18, CIFAR stem: 11,173,962 (≈ 11.17M, kuangliu/pytorch-cifar); ImageNet stem: 11,181,642;
/// - ResNet-50, CIFAR stem: 23,520,842 (≈ 23.52M); ImageNet stem: 23,528,522.
/// The stems differ by 3·64·(49 − 9) = 7,680 (for 3 input channels); the classifier adds (512 or 2048 + 1) per class.
public struct ResNet: Layer {
    public enum Stem: String, Codable, Sendable, CaseIterable {
        /// conv3×3 stride 1, no max pool (32×32 and 64×64 inputs).
        case cifar
        /// conv7×7 stride 2 + max pool 3×3 stride 2 (ImageNet-sized inputs).
        case imagenet
    }

    public let depth: Int
    public let stem: Stem
    public let conv1: Conv2d
    public let bn1: BatchNorm
    /// `BasicBlock`s (ResNet-18) or `Bottleneck`s (ResNet-50), one array per stage.
    public let stages: [[any Layer]]
    public let fc: Linear

    /// `widths` narrows the stem (`conv1`) and the blocks' convs as `BasicBlock` / `Bottleneck` describe; the
    /// defaults build the nominal net.
    public init(depth: Int, classes: Int, inputChannels: Int = 3, stem: Stem = .cifar, widths: LayerWidths = LayerWidths(),
                generator g: inout Generator) {
        precondition(depth == 18 || depth == 50, "ResNet: depth must be 18 or 50, got \(depth)")
        precondition(inputChannels >= 1 && classes >= 1, "ResNet: inputChannels and classes must be positive")
        let counts = depth == 18 ? [2, 2, 2, 2] : [3, 4, 6, 3]
        let init0 = WeightInit.kaimingNormal
        let stemWidth = widths.width("conv1", nominal: 64)
        switch stem {
        case .cifar: conv1 = Conv2d(inputChannels, stemWidth, kernel: 3, padding: 1, bias: false, initializer: init0, generator: &g)
        case .imagenet:
            conv1 = Conv2d(inputChannels, stemWidth, kernel: 7, stride: 2, padding: 3, bias: false, initializer: init0, generator: &g)
        }
        bn1 = BatchNorm(stemWidth)
        var inPlanes = stemWidth, nominalIn = 64
        var built: [[any Layer]] = []
        for (s, planes) in [64, 128, 256, 512].enumerated() {
            var blocks: [any Layer] = []
            for b in 0..<counts[s] {
                let stride = (s > 0 && b == 0) ? 2 : 1, name = "layer\(s + 1).\(b)"
                if depth == 18 {
                    let block = BasicBlock(inPlanes, planes, stride: stride, initializer: init0, nominalInPlanes: nominalIn,
                                           widths: widths, name: name, generator: &g)
                    blocks.append(block)
                    inPlanes = block.outPlanes
                    nominalIn = planes
                } else {
                    let block = Bottleneck(inPlanes, planes, stride: stride, initializer: init0, nominalInPlanes: nominalIn,
                                           widths: widths, name: name, generator: &g)
                    blocks.append(block)
                    inPlanes = block.outPlanes
                    nominalIn = planes * Bottleneck.expansion
                }
            }
            built.append(blocks)
        }
        stages = built
        fc = Linear(inPlanes, classes, initializer: .pytorchDefault, generator: &g)
        self.depth = depth
        self.stem = stem
        // He normal with fan_out: N(0, 2/fan_in) · √(fan_in/fan_out) = N(0, 2/fan_out).
        for (_, w) in namedParameters where w.shape.count == 4 {
            let f = Tensor.fans(w.shape)
            if f.fanIn != f.fanOut { w.value = w.value * (Float(f.fanIn) / Float(f.fanOut)).squareRoot() }
        }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = bn1(conv1(x), fusedReLU: true)
        if stem == .imagenet { h = maxPool2d(h, kernel: 3, stride: 2, padding: 1) }
        for stage in stages { for block in stage { h = block(h) } }
        return fc(globalAvgPool2d(h))
    }

    public var namedParameters: [(String, Variable)] {
        prefixed("conv1", conv1.namedParameters) + prefixed("bn1", bn1.namedParameters)
            + prefixedStages(stages, \.namedParameters) + prefixed("fc", fc.namedParameters)
    }

    public var namedBuffers: [(String, Variable)] { prefixed("bn1", bn1.namedBuffers) + prefixedStages(stages, \.namedBuffers) }
}
