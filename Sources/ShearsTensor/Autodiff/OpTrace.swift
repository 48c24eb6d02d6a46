/// One op run inside `OpTrace.record`: its name (the `op` of the variable it made), the variables it was
/// computed from (activations and parameters, in the op's own order: `conv2d` is [x, weight, bias?],
/// `batchNorm` [x, weight, bias]) and the variable it made.
public struct TracedOp {
    public let op: String
    public let inputs: [Variable]
    public let output: Variable
    /// What the op needs besides its inputs to be run again (geometry, batch-norm statistics): read by
    /// `InferencePlan`, which rebuilds the forward from the trace.
    public let attributes: OpAttributes
}

/// The settings of a traced op that its inputs do not carry.
public enum OpAttributes {
    case none
    case conv(stride: Int, padding: Int, dilation: Int, groups: Int)
    /// The running statistics a batch norm used in inference (they are buffers, not inputs of the op).
    case batchNorm(runningMean: Variable, runningVar: Variable, eps: Float)
    case pool(max: Bool, kernel: (Int, Int), stride: (Int, Int), padding: Int)
}

/// Records every op result created inside `record`, whether or not grad mode tapes it: a structural view of
/// one forward (which activation flows into which op with which parameters) that the structured-pruning code
/// (ShearsPrune's dependency groups) reads to find coupled channels without each model listing them.
/// Off (one nil check per op result) otherwise; recording changes no value.
public enum OpTrace {
    nonisolated(unsafe) static var active: ((TracedOp) -> Void)?

    /// Runs `body` and returns its result with the ops it ran, in order.
    public static func record<R>(_ body: () throws -> R) rethrows -> (R, [TracedOp]) {
        var ops: [TracedOp] = []
        let previous = active
        active = { ops.append($0) }
        defer { active = previous }
        let r = try body()
        return (r, ops)
    }

    @inline(__always)
    static func note(_ op: String, _ inputs: [Variable], _ output: Variable, _ attributes: OpAttributes) {
        if let active { active(TracedOp(op: op, inputs: inputs, output: output, attributes: attributes)) }
    }
}
