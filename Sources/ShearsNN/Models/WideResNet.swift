import ShearsTensor

/// A `Generator` that a layer can draw from at call time (`callAsFunction` is not `mutating`): dropout masks
/// in `WideResNet`. A reference type, so every copy of the model and every block shares one stream.
/// Not thread-safe (neither is a model's forward pass).
public final class GeneratorBox {
    public var generator: Generator
    public init(_ generator: Generator) { self.generator = generator }
}

/// The pre-activation "wide" basic block of Zagoruyko & Komodakis (2016): BN-ReLU-conv3×3 (stride here)
/// -[dropout]-BN-ReLU-conv3×3, plus a shortcut: identity, or a 1×1 convolution with stride (`shortcut.0`)
/// where the shape changes, applied to the block's input as in meliketoy/wide-resnet.pytorch. Convolutions
/// have biases (as in that code). There is no ReLU after the addition.
public struct WideBasicBlock: Layer {
    public let bn1: BatchNorm, conv1: Conv2d, bn2: BatchNorm, conv2: Conv2d
    public let shortcut: Conv2d?
    public let dropout: Float
    public let dropoutGenerator: GeneratorBox

    /// As `BasicBlock`'s: the shortcut follows the nominal plan (`nominalInPlanes`, default `inPlanes`); `widths`
    /// narrows `name.conv1`, and `name.conv2` (with `name.shortcut.0`) where a projection frees it.
    public init(_ inPlanes: Int, _ planes: Int, stride: Int, dropout: Float, dropoutGenerator: GeneratorBox,
                initializer: WeightInit, nominalInPlanes: Int? = nil, widths: LayerWidths = LayerWidths(), name: String = "",
                generator g: inout Generator) {
        let projection = stride != 1 || (nominalInPlanes ?? inPlanes) != planes
        let mid = widths.width("\(name).conv1", nominal: planes)
        let out = residualWidth(widths, name: name, last: "conv2", nominal: planes, input: inPlanes, projection: projection)
        bn1 = BatchNorm(inPlanes)
        conv1 = Conv2d(inPlanes, mid, kernel: 3, padding: 1, initializer: initializer, generator: &g)
        bn2 = BatchNorm(mid)
        conv2 = Conv2d(mid, out, kernel: 3, stride: stride, padding: 1, initializer: initializer, generator: &g)
        shortcut = projection ? Conv2d(inPlanes, out, kernel: 1, stride: stride, initializer: initializer, generator: &g) : nil
        self.dropout = dropout
        self.dropoutGenerator = dropoutGenerator
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = conv1(bn1(x, fusedReLU: true))
        if dropout > 0 && Context.phase == .training {
            h = ShearsTensor.dropout(h, p: dropout, phase: Context.phase, generator: &dropoutGenerator.generator)
        }
        h = conv2(bn2(h, fusedReLU: true))
        return h + (shortcut.map { $0(x) } ?? x)
    }

    public var namedParameters: [(String, Variable)] {
        prefixed("bn1", bn1.namedParameters) + prefixed("conv1", conv1.namedParameters)
            + prefixed("bn2", bn2.namedParameters) + prefixed("conv2", conv2.namedParameters)
            + (shortcut.map { prefixed("shortcut.0", $0.namedParameters) } ?? [])
    }

    public var namedBuffers: [(String, Variable)] { prefixed("bn1", bn1.namedBuffers) + prefixed("bn2", bn2.namedBuffers) }
}

/// Wide ResNet WRN-`depth`-`widen` for 32×32 inputs (Zagoruyko & Komodakis 2016): conv3×3 (16) → three groups
/// of n = (depth − 4) / 6 pre-activation `WideBasicBlock`s with 16·k, 32·k, 64·k channels (stride 2 at the start
/// of groups 2 and 3) → BN-ReLU → global average pooling → Linear. WRN-28-10: n = 4, widths 160/320/640.
///
/// **Names** are meliketoy/wide-resnet.pytorch's `Wide_ResNet` (the code the gRDA paper trains): `conv1`,
/// `layer{1,2,3}.{b}.bn1/conv1/bn2/conv2`, `layer1.0.shortcut.0` (conv, with bias), final `bn1`, classifier
/// `linear`. Unlike that code, every BN has PyTorch's default momentum 0.1 (its final `bn1` passes 0.9), and
/// the pool is global (its `avg_pool2d(·, 8)` is the same thing on 32×32 inputs). Its `conv_init`
/// (xavier_uniform, gain √2, zero conv biases) is applied only by its training script.
///
/// **Init**: He normal (`WeightInit.kaimingNormal`, fan_in) for conv and linear weights, as the authors' own
/// code; biases PyTorch's default U(±1/√fan_in); BN γ = 1, β = 0.
///
/// **Dropout** (between the two convolutions, training only) draws its masks from `dropoutGenerator`, a
/// `GeneratorBox` shared by all blocks and seeded with `generator.fork()` after the weights are drawn, so the
/// weights do not depend on the dropout rate.
///
/// **Parameters**: WRN-28-10, 10 classes: 36,489,290 (published ≈ 36.5M; the gRDA logs print 36,489,290 for
/// CIFAR-10 and 36,546,980 for CIFAR-100).
public struct WideResNet: Layer {
    public let depth: Int
    public let widen: Int
    public let conv1: Conv2d
    public let groups: [[WideBasicBlock]]
    public let bn1: BatchNorm
    public let linear: Linear
    public let dropoutGenerator: GeneratorBox

    /// `widths` narrows the stem (`conv1`) and the blocks'
    /// convs as `WideBasicBlock` describes; the defaults build the nominal net.
    public init(depth: Int = 28, widen: Int = 10, classes: Int = 10, inputChannels: Int = 3, dropout: Float = 0,
                widths: LayerWidths = LayerWidths(), generator g: inout Generator) {
        precondition((depth - 4) % 6 == 0 && depth >= 10, "WideResNet: depth must be 6n+4 (10, 16, 22, 28, 40), got \(depth)")
        precondition(widen >= 1 && classes >= 1 && inputChannels >= 1, "WideResNet: widen, classes and inputChannels must be positive")
        precondition(dropout >= 0 && dropout < 1, "WideResNet: dropout must be in [0, 1), got \(dropout)")
        let n = (depth - 4) / 6
        let box = GeneratorBox(Generator(seed: 0))   // reseeded below, after the weights
        let stem = widths.width("conv1", nominal: 16)
        conv1 = Conv2d(inputChannels, stem, kernel: 3, padding: 1, initializer: .kaimingNormal, generator: &g)
        var inPlanes = stem, nominalIn = 16
        var built: [[WideBasicBlock]] = []
        for (s, planes) in [16 * widen, 32 * widen, 64 * widen].enumerated() {
            var blocks: [WideBasicBlock] = []
            for b in 0..<n {
                let block = WideBasicBlock(inPlanes, planes, stride: (s > 0 && b == 0) ? 2 : 1, dropout: dropout,
                                           dropoutGenerator: box, initializer: .kaimingNormal, nominalInPlanes: nominalIn,
                                           widths: widths, name: "layer\(s + 1).\(b)", generator: &g)
                blocks.append(block)
                inPlanes = block.conv2.weight.shape[0]
                nominalIn = planes
            }
            built.append(blocks)
        }
        groups = built
        bn1 = BatchNorm(inPlanes)
        linear = Linear(inPlanes, classes, initializer: .kaimingNormal, generator: &g)
        box.generator = g.fork()
        dropoutGenerator = box
        self.depth = depth
        self.widen = widen
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = conv1(x)
        for group in groups { for block in group { h = block(h) } }
        return linear(globalAvgPool2d(bn1(h, fusedReLU: true)))
    }

    public var namedParameters: [(String, Variable)] {
        var all = prefixed("conv1", conv1.namedParameters)
        for (s, group) in groups.enumerated() {
            for (b, block) in group.enumerated() { all += prefixed("layer\(s + 1).\(b)", block.namedParameters) }
        }
        return all + prefixed("bn1", bn1.namedParameters) + prefixed("linear", linear.namedParameters)
    }

    public var namedBuffers: [(String, Variable)] {
        var all: [(String, Variable)] = []
        for (s, group) in groups.enumerated() {
            for (b, block) in group.enumerated() { all += prefixed("layer\(s + 1).\(b)", block.namedBuffers) }
        }
        return all + prefixed("bn1", bn1.namedBuffers)
    }
}
