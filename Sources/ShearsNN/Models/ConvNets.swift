import ShearsTensor

/// Conv-2, Conv-4 and Conv-6 of Frankle & Carbin (2019, "The Lottery Ticket Hypothesis", Fig. 2), for CIFAR-10:
/// `depth / 2` stages of two conv3×3 (padding 1, with bias) + ReLU followed by a 2×2 max pool, with 64, 128 and
/// 256 channels; then fully connected layers 256, 256, `classes` with ReLU between them.
///
/// **Names** follow the `nn.Sequential` layout of the widely used PyTorch replication in
/// allenai/hidden-networks (`models/frankle.py`, Ramanujan et al. 2020): `convs.N` counts the ReLU and
/// MaxPool modules too, so Conv-6 has `convs.{0,2,5,7,10,12}.weight/bias` and every depth has
/// `linear.{0,2,4}.weight/bias`. (That code stores the FC layers as bias-free 1×1 convolutions; here they are
/// `nn.Linear`s with bias, `weight` [out, in], and the convolutions keep their biases as in the original
/// TensorFlow code, so the parameter counts below include biases.)
///
/// **Init**: the paper's "Gaussian Glorot" (`xavier_normal`, N(0, 2 / (fan_in + fan_out))) for every conv and
/// linear weight by default: drawn as He-normal (`WeightInit.kaimingNormal`) and rescaled by
/// √(fan_in / (fan_in + fan_out)), which is exactly that distribution. Pass `initializer:` for any `WeightInit`
/// instead. Biases: PyTorch's default U(±1/√fan_in).
///
/// **Parameters** (3×32×32 inputs, 10 classes), exact vs published (Frankle & Carbin 2019, Fig. 2):
/// - Conv-2: 4,301,642 (published 4.3M);
/// - Conv-4: 2,425,930 (published 2.4M);
/// - Conv-6: 2,262,602 — the paper prints 1.7M, which does not match the architecture it describes
///   (conv weights 1.14M + FC 4096·256 + 256·256 + 256·10 = 1.12M already give 2.26M; hidden-networks'
///   Conv6 has the same 4096-wide flatten).
///
/// `widths` narrows any conv (`convs.N`) or hidden FC layer (`linear.0`, `linear.2`); the defaults build the plan.
///
/// Other image sizes are fine: the first FC layer takes `channels · (imageSize / 2^(depth/2))²` inputs
/// (floor at each pool, as PyTorch's max pool).
public struct ConvNet: Layer {
    public let depth: Int
    public let convs: [Conv2d]
    /// `fc`s: hidden 256, 256, then the classifier.
    public let fcs: [Linear]

    public init(depth: Int, inputChannels: Int = 3, imageSize: Int = 32, classes: Int = 10,
                initializer: WeightInit? = nil, widths: LayerWidths = LayerWidths(), generator g: inout Generator) {
        precondition([2, 4, 6].contains(depth), "ConvNet: depth must be 2, 4 or 6 (Conv-2/4/6), got \(depth)")
        precondition(inputChannels >= 1 && classes >= 1, "ConvNet: inputChannels and classes must be positive")
        let stages = depth / 2
        precondition(imageSize >> stages >= 1,
                     "ConvNet: Conv-\(depth) pools \(stages) times, so images must be at least \(1 << stages)×\(1 << stages), got \(imageSize)")
        let weightInit = initializer ?? .kaimingNormal
        let glorot = initializer == nil
        var made: [Conv2d] = []
        var channels = inputChannels, size = imageSize
        for s in 0..<stages {
            for _ in 0..<2 {
                let width = widths.width("convs.\(Self.sequentialIndex(conv: made.count))", nominal: 64 << s)
                made.append(Conv2d(channels, width, kernel: 3, padding: 1, initializer: weightInit, generator: &g))
                channels = width
            }
            size /= 2
        }
        convs = made
        let sizes = [channels * size * size, widths.width("linear.0", nominal: 256), widths.width("linear.2", nominal: 256), classes]
        fcs = (0..<3).map { i in Linear(sizes[i], sizes[i + 1], initializer: weightInit, generator: &g) }
        self.depth = depth
        if glorot {
            for w in convs.map(\.weight) + fcs.map(\.weight) {
                let f = Tensor.fans(w.shape)
                w.value = w.value * (Float(f.fanIn) / Float(f.fanIn + f.fanOut)).squareRoot()
            }
        }
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        var h = x
        for (i, conv) in convs.enumerated() {
            h = relu(conv(h))
            if i % 2 == 1 { h = maxPool2d(h, kernel: 2) }
        }
        h = flatten(h)
        for (i, fc) in fcs.enumerated() {
            h = fc(h)
            if i < fcs.count - 1 { h = relu(h) }
        }
        return h
    }

    /// `nn.Sequential` index of conv `i`: each stage is conv, ReLU, conv, ReLU, MaxPool (5 modules).
    static func sequentialIndex(conv i: Int) -> Int { 5 * (i / 2) + 2 * (i % 2) }

    public var namedParameters: [(String, Variable)] {
        convs.enumerated().flatMap { prefixed("convs.\(Self.sequentialIndex(conv: $0.offset))", $0.element.namedParameters) }
            + fcs.enumerated().flatMap { prefixed("linear.\(2 * $0.offset)", $0.element.namedParameters) }
    }
}
