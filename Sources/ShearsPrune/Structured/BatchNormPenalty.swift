import ShearsOptim
import ShearsTensor

/// Network slimming's training option (Liu et al. 2017): wraps an optimizer so that every step first adds the
/// subgradient λ·sign(γ) of λ·Σ|γ| to the gradient of each prunable group's batch-norm scale γ
/// (`addBatchNormL1Penalty`). Any training loop that calls `optimizer.step` gets the penalty without knowing it;
/// the state is the base optimizer's.
public struct BatchNormL1Penalty<O: Optimizer>: Optimizer {
    public var base: O
    public let lambda: Float
    public let groups: [DependencyGroup]

    public init(_ base: O, lambda: Float, groups: [DependencyGroup]) {
        self.base = base; self.lambda = lambda; self.groups = groups
    }

    public var learningRate: Float {
        get { base.learningRate }
        set { base.learningRate = newValue }
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        addBatchNormL1Penalty(lambda: lambda, groups: groups, values: Dictionary(parameters, uniquingKeysWith: { a, _ in a }))
        base.step(parameters)
    }

    public var state: [String: Tensor] { base.state }
    public mutating func loadState(_ state: [String: Tensor]) throws { try base.loadState(state) }
}

/// `BatchNormL1Penalty` around an existential optimizer.
public func withBatchNormL1Penalty(_ optimizer: any Optimizer, lambda: Float, groups: [DependencyGroup]) -> any Optimizer {
    func wrap<O: Optimizer>(_ o: O) -> any Optimizer { BatchNormL1Penalty(o, lambda: lambda, groups: groups) }
    return wrap(optimizer)
}
