import ShearsTensor

/// `makeModel(_:inputShape:classes:generator:)` with per-layer output widths: the dense model a structured
/// pruning compacts into, rebuilt from the zoo definition (no pickled graph). `widths` maps layer names
/// (`layer1.0.conv1`, `features.3`, `fc1`) to output channels; unlisted layers keep their nominal width, and
/// empty widths build exactly the default model. Widths that do not fit the model (an unknown layer, the
/// classifier, a width below 1, a residual tie broken) are a `ModelError` naming every such layer.
public func makeModel(_ name: ModelName, inputShape: [Int], classes: Int, widths: [String: Int],
                      generator g: inout Generator) throws -> any Layer {
    if widths.isEmpty { return try makeModel(name, inputShape: inputShape, classes: classes, generator: &g) }
    // The input checks are makeModel's own: run them on a throwaway generator before drawing anything here.
    // (Only for the shapes it rejects; a successful check builds a nominal model once, which is the price of
    // keeping one definition of what each model accepts.)
    var probe = Generator(seed: 0)
    _ = try makeModel(name, inputShape: inputShape, classes: classes, generator: &probe)
    guard let zoo = name.zoo else {
        throw ModelError("\(name.rawValue): per-layer widths apply to zoo models only; a compacted ONNX graph is its own file "
                         + "(prune structured writes it as model.onnx beside model.safetensors): name that one as onnx:PATH")
    }
    let plan = LayerWidths(widths)
    let model = build(zoo, inputShape: inputShape, classes: classes, widths: plan, generator: &g)
    let problems = plan.problems
    guard problems.isEmpty else {
        throw ModelError("\(name.rawValue): the widths do not fit the model:\n  " + problems.joined(separator: "\n  "))
    }
    return model
}

/// The output widths of every conv / linear layer of `model` but the last one (the classifier), keyed by layer
/// name: what `makeModel(_:inputShape:classes:widths:generator:)` takes to rebuild it.
public func layerWidths(of model: any Layer) -> [String: Int] {
    let weights = model.namedParameters.filter { $0.0.hasSuffix(".weight") && [2, 4].contains($0.1.shape.count) }
    var out: [String: Int] = [:]
    for (name, w) in weights.dropLast() { out[String(name.dropLast(".weight".count))] = w.shape[0] }
    return out
}

private func build(_ name: ModelName.Zoo, inputShape: [Int], classes: Int, widths: LayerWidths,
                   generator g: inout Generator) -> any Layer {
    let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
    switch name {
    case .lenet300100:
        return MLP(inputs: c * h * w, hidden: [300, 100], classes: classes, initializer: .kaimingNormal, widths: widths, generator: &g)
    case .mlp3x256:
        return MLP(inputs: c * h * w, hidden: [256, 256, 256], classes: classes, initializer: .kaimingNormal, widths: widths,
                   generator: &g)
    case .conv2, .conv4, .conv6:
        let depth = name == .conv2 ? 2 : name == .conv4 ? 4 : 6
        return ConvNet(depth: depth, inputChannels: c, imageSize: h, classes: classes, widths: widths, generator: &g)
    case .vgg11, .vgg16, .vgg19:
        let depth = name == .vgg11 ? 11 : name == .vgg16 ? 16 : 19
        return VGG(depth: depth, classes: classes, inputChannels: c, widths: widths, generator: &g)
    case .resnet20, .resnet32, .resnet56:
        let depth = name == .resnet20 ? 20 : name == .resnet32 ? 32 : 56
        return ResNetCIFAR(depth: depth, classes: classes, inputChannels: c, widths: widths, generator: &g)
    case .resnet18, .resnet50:
        return ResNet(depth: name == .resnet18 ? 18 : 50, classes: classes, inputChannels: c,
                      stem: max(h, w) <= 64 ? .cifar : .imagenet, widths: widths, generator: &g)
    case .wrn28x10:
        return WideResNet(depth: 28, widen: 10, classes: classes, inputChannels: c, widths: widths, generator: &g)
    }
}
