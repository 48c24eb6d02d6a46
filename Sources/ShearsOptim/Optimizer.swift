import ShearsTensor

/// An optimizer updates named parameters in place from their accumulated gradients. Its state (momentum
/// buffers, moment estimates, step counts) is keyed by parameter name so that it can be checkpointed next to
/// the weights and restored bit for bit.
public protocol Optimizer {
    var learningRate: Float { get set }
    /// One update of every parameter that has a gradient.
    mutating func step(_ parameters: [(String, Variable)])
    /// Every state tensor under a stable key, `"<kind>/<parameter name>"` (e.g. `momentum_buffer/fc1.weight`).
    var state: [String: Tensor] { get }
    /// Restores `state`; throws `OptimizerError` naming any key it does not recognise.
    mutating func loadState(_ state: [String: Tensor]) throws
}

public struct OptimizerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Splits `"kind/name"` state keys, checking the kind against `kinds`.
func parseStateKeys(_ state: [String: Tensor], kinds: Set<String>, optimizer: String) throws -> [(kind: String, name: String, value: Tensor)] {
    try state.map { key, value in
        guard let slash = key.firstIndex(of: "/"), kinds.contains(String(key[..<slash])) else {
            throw OptimizerError("\(optimizer): unexpected state entry '\(key)'; expected keys of the form \(kinds.sorted().map { "\($0)/<parameter>" }.joined(separator: " or "))")
        }
        return (String(key[..<slash]), String(key[key.index(after: slash)...]), value)
    }
}

/// The optimizers the CLI offers.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable { case sgd, adam, rmsprop }
