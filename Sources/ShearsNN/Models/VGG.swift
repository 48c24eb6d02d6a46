import ShearsTensor

/// VGG-11/13/16/19 with batch norm for 32×32 inputs (Simonyan & Zisserman 2015, configurations "A", "B", "D",
/// "E"; the CIFAR variant of kuangliu/pytorch-cifar `models/vgg.py`, also OpenLTH's `cifar_vgg` family):
/// conv3×3 (padding 1, with bias) → BN → ReLU blocks, a 2×2 max pool after each group (five pools, so a
/// 32×32 input ends at 512×1×1), then a single `Linear(512, classes)`.
///
/// **Names** are kuangliu's (and torchvision's `vgg*_bn` `features`): one `nn.Sequential` called `features`
/// whose index counts conv, BN, ReLU and MaxPool modules, so VGG-16 has `features.0` (conv), `features.1`
/// (BN), `features.3`, `features.4`, then `features.6` is a pool and `features.7` the next conv, …; the
/// classifier is `classifier.weight/bias`.
/// (OpenLTH's `cifar_vgg` has the same parameters under `layers.N.conv` / `layers.N.bn` / `fc`, and replaces
/// the last max pool by a 2×2 average pool; the standard configurations with five max pools are used here.)
///
/// **Init**: He normal (`WeightInit.kaimingNormal`, fan_in) for conv and linear weights, as OpenLTH's
/// `kaiming_normal`; biases PyTorch's default U(±1/√fan_in); BN γ = 1, β = 0 (PyTorch's default).
///
/// **Parameters** (10 classes), exact vs published:
/// - VGG-11: 9,231,114 (≈ 9.2M);
/// - VGG-13: 9,416,010;
/// - VGG-16: 14,728,266 (≈ 14.7M);
/// - VGG-19: 20,040,522 (≈ 20.0M, as in OpenLTH / Frankle et al.).
public struct VGG: Layer {
    /// Channel plans, `nil` marking a 2×2 max pool ("M" in the PyTorch code).
    public static let configurations: [Int: [Int?]] = [
        11: [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        13: [64, 64, nil, 128, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        16: [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
        19: [64, 64, nil, 128, 128, nil, 256, 256, 256, 256, nil, 512, 512, 512, 512, nil, 512, 512, 512, 512, nil],
    ]

    public let depth: Int
    public let convs: [Conv2d]
    public let bns: [BatchNorm]
    /// Whether a max pool follows conv block `i`.
    public let poolAfter: [Bool]
    /// The `features` index of conv block `i` (its BN is the next index).
    public let featureIndices: [Int]
    public let classifier: Linear

    /// `widths` narrows any conv (`features.N`); the defaults build the configuration as listed.
    public init(depth: Int, classes: Int = 10, inputChannels: Int = 3, widths: LayerWidths = LayerWidths(),
                generator g: inout Generator) {
        guard let plan = Self.configurations[depth] else {
            preconditionFailure("VGG: depth must be one of \(Self.configurations.keys.sorted()), got \(depth)")
        }
        precondition(inputChannels >= 1 && classes >= 1, "VGG: inputChannels and classes must be positive")
        var convs: [Conv2d] = [], bns: [BatchNorm] = [], pools: [Bool] = [], indices: [Int] = []
        var channels = inputChannels, index = 0
        for item in plan {
            if let nominal = item {
                let width = widths.width("features.\(index)", nominal: nominal)
                convs.append(Conv2d(channels, width, kernel: 3, padding: 1, initializer: .kaimingNormal, generator: &g))
                bns.append(BatchNorm(width))
                pools.append(false)
                indices.append(index)
                index += 3            // conv, BN, ReLU
                channels = width
            } else {
                pools[pools.count - 1] = true
                index += 1            // MaxPool2d
            }
        }
        self.depth = depth
        self.convs = convs
        self.bns = bns
        poolAfter = pools
        featureIndices = indices
        classifier = Linear(channels, classes, initializer: .kaimingNormal, generator: &g)
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x
        for i in convs.indices {
            h = bns[i](convs[i](h), fusedReLU: true)
            if poolAfter[i] { h = maxPool2d(h, kernel: 2) }
        }
        return classifier(flatten(h))
    }

    public var namedParameters: [(String, Variable)] {
        convs.indices.flatMap { i in
            prefixed("features.\(featureIndices[i])", convs[i].namedParameters)
                + prefixed("features.\(featureIndices[i] + 1)", bns[i].namedParameters)
        } + prefixed("classifier", classifier.namedParameters)
    }

    public var namedBuffers: [(String, Variable)] {
        bns.indices.flatMap { i in prefixed("features.\(featureIndices[i] + 1)", bns[i].namedBuffers) }
    }
}
