import ShearsTensor

/// An optimizer updates named parameters in place from their accumulated gradients. State (momentum
/// buffers, …) is keyed by parameter name so that it can be checkpointed next to the weights.
public protocol Optimizer {
    var learningRate: Float { get set }
    /// One update of every parameter that has a gradient.
    mutating func step(_ parameters: [(String, Variable)])
}
