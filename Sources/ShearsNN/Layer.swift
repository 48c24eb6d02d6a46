import ShearsTensor

/// A network building block, in the style of swift-apis: call it on a variable, and it lists its parameters
/// and buffers under the names PyTorch's `state_dict()` would give them (`layer1.0.conv1.weight`), so that
/// checkpoints interoperate and pruning masks can be keyed by name.
///
/// Parameters and buffers are `Variable`s (reference types), so a model value shares them with the optimizer
/// and the pruning code, which update them in place by name.
public protocol Layer {
    func callAsFunction(_ x: Variable) -> Variable
    /// Trainable parameters, names relative to this layer, in registration order.
    var namedParameters: [(String, Variable)] { get }
    /// Non-trainable state (batch-norm running statistics), names relative to this layer.
    var namedBuffers: [(String, Variable)] { get }
}

extension Layer {
    public var namedBuffers: [(String, Variable)] { [] }
    public var parameters: [Variable] { namedParameters.map(\.1) }
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.1.value.count } }

    /// Parameters and buffers by name, as PyTorch's `state_dict()` (buffers after parameters of a module).
    public var stateDict: [(String, Variable)] { namedParameters + namedBuffers }

    /// Sets every parameter's gradient to nil.
    public func zeroGrad() { for (_, p) in namedParameters { p.zeroGrad() } }
}

/// Prefixes child names: `prefixed("layer1.0", block.namedParameters)`.
public func prefixed(_ prefix: String, _ items: [(String, Variable)]) -> [(String, Variable)] {
    items.map { ("\(prefix).\($0.0)", $0.1) }
}

/// Names the blocks of residual stages as PyTorch's `layer1.0.…`, `layer1.1.…`, `layer2.0.…` modules.
public func prefixedStages(_ stages: [[any Layer]], _ items: (any Layer) -> [(String, Variable)]) -> [(String, Variable)] {
    stages.enumerated().flatMap { s, stage in
        stage.enumerated().flatMap { b, block in prefixed("layer\(s + 1).\(b)", items(block)) }
    }
}

/// Whether layers run in training (batch statistics, dropout) or inference mode; the analogue of
/// PyTorch's `model.train()` / `model.eval()` and swift-apis' `Context.local.learningPhase`.
public enum Context {
    nonisolated(unsafe) public static var phase: LearningPhase = .training

    /// When set, every `BatchNorm` in the training phase folds its batch statistics into its running estimates with
    /// this momentum instead of its own — how a recomputation of the statistics (PyTorch's `momentum=None`, Garipov et
    /// al.'s `bn_update` with b/(N_seen + b)) turns the exponential average into a cumulative one.
    nonisolated(unsafe) public static var batchNormMomentum: Float? = nil

    /// Runs `body` in `phase`, then restores the previous phase.
    public static func with<R>(_ phase: LearningPhase, _ body: () throws -> R) rethrows -> R {
        let previous = self.phase
        self.phase = phase
        defer { self.phase = previous }
        return try body()
    }
}

/// How a weight tensor is initialised.
public enum WeightInit: String, Codable, Sendable, CaseIterable {
    /// PyTorch's default for nn.Linear / nn.Conv2d: kaiming_uniform(a = √5), i.e. U(±√(1/fan_in)).
    case pytorchDefault
    /// He et al. (2015) normal, fan_in, gain √2 — the "He init" of the papers' ReLU networks.
    case kaimingNormal
    /// He et al. (2015) uniform, fan_in, gain √2.
    case kaimingUniform

    public func weight(_ shape: [Int], generator g: inout Generator) -> Tensor {
        switch self {
        case .pytorchDefault: return Tensor.kaimingUniform(shape, gain: Float(1.0 / 3.0).squareRoot(), generator: &g)
        case .kaimingNormal: return Tensor.kaimingNormal(shape, generator: &g)
        case .kaimingUniform: return Tensor.kaimingUniform(shape, generator: &g)
        }
    }
}
