import ShearsTensor

/// The models Shears can build by name (CLI flags, experiment configs): a zoo model, or `onnx:PATH`, a graph
/// read from an ONNX file (`GraphModel`). Raw values are the spellings users type; a name encodes as that one
/// JSON string (`"resnet20"`, `"onnx:net.onnx"`), so run configs of zoo models read exactly as before.
///
/// | name | model | parameters (10 classes; MLPs on 1×28×28) |
/// |---|---|---|
/// | `lenet300-100` | `MLP(hidden: [300, 100])`, LeNet-300-100 | 266,610 |
/// | `mlp3x256` | `MLP(hidden: [256, 256, 256])`, the S-Cyc paper's Fashion-MNIST MLP | 335,114 |
/// | `conv2`, `conv4`, `conv6` | `ConvNet` (Frankle & Carbin 2019) on 3×32×32 | 4,301,642 / 2,425,930 / 2,262,602 |
/// | `vgg11`, `vgg16`, `vgg19` | `VGG` with BN, CIFAR | 9,231,114 / 14,728,266 / 20,040,522 |
/// | `resnet20`, `resnet32`, `resnet56` | `ResNetCIFAR` | 272,474 / 466,906 / 855,770 |
/// | `resnet18`, `resnet50` | `ResNet`, CIFAR stem | 11,173,962 / 23,520,842 |
/// | `wrn-28-10` | `WideResNet(depth: 28, widen: 10)` | 36,489,290 |
/// | `onnx:PATH` | `GraphModel(contentsOf: PATH)`, parameters under the file's initializer names | the file's |
///
/// `allCases` lists the zoo (for help texts); `ModelName(rawValue:)` accepts those and `onnx:` + a non-empty path.
public struct ModelName: RawRepresentable, Hashable, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// The zoo's models.
    public enum Zoo: String, CaseIterable, Codable, Sendable {
        case lenet300100 = "lenet300-100"
        /// The S-Cyc paper's MLP: 3 hidden layers of 256 (784-256-256-256-10 on Fashion-MNIST).
        case mlp3x256 = "mlp3x256"
        case conv2, conv4, conv6
        case vgg11, vgg16, vgg19
        case resnet20, resnet32, resnet56
        case resnet18, resnet50
        case wrn28x10 = "wrn-28-10"
    }

    /// What a name names.
    public enum Kind: Hashable, Sendable {
        case zoo(Zoo)
        /// An ONNX file, by the path as given.
        case onnx(path: String)
    }

    public static let onnxPrefix = "onnx:"
    public let kind: Kind

    public init(_ zoo: Zoo) { kind = .zoo(zoo) }
    public init(onnxPath path: String) { kind = .onnx(path: path) }

    public init?(rawValue: String) {
        if let zoo = Zoo(rawValue: rawValue) {
            kind = .zoo(zoo)
        } else if rawValue.hasPrefix(Self.onnxPrefix), rawValue.count > Self.onnxPrefix.count {
            kind = .onnx(path: String(rawValue.dropFirst(Self.onnxPrefix.count)))
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch kind {
        case .zoo(let z): return z.rawValue
        case .onnx(let path): return Self.onnxPrefix + path
        }
    }

    public var description: String { rawValue }
    /// The zoo model named, nil for `onnx:PATH`.
    public var zoo: Zoo? { if case .zoo(let z) = kind { return z } else { return nil } }
    /// The ONNX file named, nil for a zoo model.
    public var onnxPath: String? { if case .onnx(let p) = kind { return p } else { return nil } }

    /// The zoo, in declaration order (`onnx:PATH` has no fixed set of values).
    public static var allCases: [ModelName] { Zoo.allCases.map(ModelName.init) }

    public static let lenet300100 = ModelName(.lenet300100)
    public static let mlp3x256 = ModelName(.mlp3x256)
    public static let conv2 = ModelName(.conv2), conv4 = ModelName(.conv4), conv6 = ModelName(.conv6)
    public static let vgg11 = ModelName(.vgg11), vgg16 = ModelName(.vgg16), vgg19 = ModelName(.vgg19)
    public static let resnet20 = ModelName(.resnet20), resnet32 = ModelName(.resnet32), resnet56 = ModelName(.resnet56)
    public static let resnet18 = ModelName(.resnet18), resnet50 = ModelName(.resnet50)
    public static let wrn28x10 = ModelName(.wrn28x10)

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let name = ModelName(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown model \"\(text)\"; expected one of \(Zoo.allCases.map(\.rawValue).joined(separator: ", ")) or onnx:PATH"))
        }
        self = name
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// Why `makeModel` cannot build a model for an input: the message says what was expected.
public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Builds `name` for inputs shaped `inputShape` = [C, H, W] (no batch dimension) and `classes` outputs, drawing
/// its initial weights from `generator`.
///
/// - MLPs take the flattened input (C·H·W features), so any shape works.
/// - `conv2/4/6` take C input channels and need square images of at least 2^(depth/2) pixels a side
///   (the first FC layer is sized from the image).
/// - `vgg*` take C input channels and need 32×32 images (five 2×2 pools down to 1×1 before `Linear(512, classes)`).
/// - `resnet20/32/56` (`ResNetCIFAR`): a 3×3 stem from C channels (3 for CIFAR, 1 for MNIST); any H, W (global pooling).
/// - `resnet18/50` take C input channels and any H, W; the stem is `.cifar` (conv3×3 stride 1) up to 64×64
///   (CIFAR, Tiny-ImageNet as in the APP code) and `.imagenet` (conv7×7 stride 2 + max pool) above that.
/// - `wrn-28-10` takes C input channels and any H, W (global pooling).
/// - `onnx:PATH` reads the file (`GraphModel`), checks its graph for [C, H, W] inputs and that it has `classes`
///   outputs; its weights are the file's, so `generator` is not drawn from.
public func makeModel(_ name: ModelName, inputShape: [Int], classes: Int, generator g: inout Generator) throws -> any Layer {
    guard inputShape.count == 3, inputShape.allSatisfy({ $0 >= 1 }) else {
        throw ModelError("\(name.rawValue): inputShape must be [C, H, W] with positive sizes (no batch dimension), got \(inputShape)")
    }
    guard classes >= 1 else { throw ModelError("\(name.rawValue): classes must be at least 1, got \(classes)") }
    switch name.kind {
    case .zoo(let zoo): return try makeZooModel(zoo, inputShape: inputShape, classes: classes, generator: &g)
    case .onnx(let path): return try makeGraphModel(path, inputShape: inputShape, classes: classes)
    }
}

/// `onnx:PATH`: the graph, checked for `inputShape` and `classes`.
func makeGraphModel(_ path: String, inputShape: [Int], classes: Int) throws -> GraphModel {
    let model: GraphModel
    do { model = try GraphModel(contentsOf: path, inputShape: inputShape) } catch let e as ONNXError {
        throw ModelError("onnx:\(path): \(e.description)")
    }
    guard model.outputShape == [classes] else {
        throw ModelError("onnx:\(path): the graph's output is [batch, \(model.outputShape.map(String.init).joined(separator: ", "))] "
            + "for inputs \(inputShape), but the data has \(classes) classes; expected [batch, \(classes)]")
    }
    return model
}

func makeZooModel(_ name: ModelName.Zoo, inputShape: [Int], classes: Int, generator g: inout Generator) throws -> any Layer {
    let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
    switch name {
    case .lenet300100:
        return MLP(inputs: c * h * w, hidden: [300, 100], classes: classes, initializer: .kaimingNormal, generator: &g)
    case .mlp3x256:
        return MLP(inputs: c * h * w, hidden: [256, 256, 256], classes: classes, initializer: .kaimingNormal, generator: &g)
    case .conv2, .conv4, .conv6:
        let depth = name == .conv2 ? 2 : name == .conv4 ? 4 : 6
        let minimum = 1 << (depth / 2)
        guard h == w, h >= minimum else {
            throw ModelError("\(name.rawValue): expected square images of at least \(minimum)×\(minimum) "
                + "(Conv-\(depth) max-pools \(depth / 2) times and sizes its first FC layer from the image), got \(h)×\(w)")
        }
        return ConvNet(depth: depth, inputChannels: c, imageSize: h, classes: classes, generator: &g)
    case .vgg11, .vgg16, .vgg19:
        guard h == 32, w == 32 else {
            throw ModelError("\(name.rawValue): expected 32×32 images (CIFAR VGG: five 2×2 max pools down to 1×1 "
                + "before Linear(512, classes)), got \(h)×\(w)")
        }
        let depth = name == .vgg11 ? 11 : name == .vgg16 ? 16 : 19
        return VGG(depth: depth, classes: classes, inputChannels: c, generator: &g)
    case .resnet20, .resnet32, .resnet56:
        let depth = name == .resnet20 ? 20 : name == .resnet32 ? 32 : 56
        return ResNetCIFAR(depth: depth, classes: classes, inputChannels: c, generator: &g)
    case .resnet18, .resnet50:
        return ResNet(depth: name == .resnet18 ? 18 : 50, classes: classes, inputChannels: c,
                      stem: max(h, w) <= 64 ? .cifar : .imagenet, generator: &g)
    case .wrn28x10:
        return WideResNet(depth: 28, widen: 10, classes: classes, inputChannels: c, generator: &g)
    }
}
