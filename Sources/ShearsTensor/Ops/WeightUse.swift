/// One use of a weight by `linear` or `conv2d` during a forward pass: which weight, on what input, with what
/// geometry. `SparseInference.prepare` (ShearsNN) traces one forward to learn the input shape every layer sees,
/// so that it can time dense and sparse kernels on exactly those shapes without each model declaring them.
public struct WeightUse {
    public let op: String
    public let weight: Variable
    public let bias: Variable?
    public let inputShape: [Int]
    public let inputFormat: MemoryFormat
    /// Whether the input needs a gradient (false for a first layer; always false in a trace with grad mode off).
    public let inputRequiresGrad: Bool
    /// 1 and 0 for `linear`.
    public let stride: Int
    public let padding: Int
}

/// Collects the `WeightUse`s of the ops run inside `record`. Off (one nil check per op) otherwise.
public enum WeightUseRecorder {
    nonisolated(unsafe) static var active: ((WeightUse) -> Void)?

    /// Runs `body` and returns its result with the weight uses, in the order the ops ran.
    public static func record<R>(_ body: () throws -> R) rethrows -> (R, [WeightUse]) {
        var uses: [WeightUse] = []
        let previous = active
        active = { uses.append($0) }
        defer { active = previous }
        let r = try body()
        return (r, uses)
    }

    @inline(__always)
    static func note(_ op: String, _ x: Variable, _ weight: Variable, _ bias: Variable?, stride: Int = 1, padding: Int = 0) {
        if let active {
            active(WeightUse(op: op, weight: weight, bias: bias, inputShape: x.shape, inputFormat: x.value.format,
                                 inputRequiresGrad: x.requiresGrad,
                             stride: stride, padding: padding))
        }
    }
}
