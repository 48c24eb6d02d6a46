import ShearsTensor

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, exactly as
/// `torch.optim.SGD`:
///
///     g ← ∇ + λ·θ
///     b ← g                          (first step)
///     b ← μ·b + (1 − τ)·g            (later steps)
///     g ← g + μ·b  if nesterov, else g ← b
///     θ ← θ − η·g
public struct SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Momentum buffers by parameter name.
    public var momentumBuffers: [String: Tensor] = [:]

    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(learningRate >= 0, "SGD: learning rate must be ≥ 0, got \(learningRate)")
        precondition(momentum >= 0, "SGD: momentum must be ≥ 0, got \(momentum)")
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum needs momentum > 0 and zero dampening")
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        let (lr, mu, tau, wd, nesterov) = (learningRate, momentum, dampening, weightDecay, self.nesterov)
        for (name, p) in parameters {
            guard let grad = p.grad?.in(p.value.format) else { continue }
            let n = p.value.count
            // One fused pass per parameter: no temporaries, each element read and written once.
            if mu == 0 {
                grad.withUnsafeBufferPointer { g in
                    p.value.withUnsafeMutableBufferPointer { w in
                        for i in 0..<n { w[i] -= lr * (g[i] + wd * w[i]) }
                    }
                }
                continue
            }
            let isFirst = momentumBuffers[name] == nil
            var buf = momentumBuffers.removeValue(forKey: name)
                ?? Tensor(uninitializedShape: p.value.shape, format: p.value.format)
            grad.withUnsafeBufferPointer { gb in
                p.value.withUnsafeMutableBufferPointer { wb in
                    buf.withUnsafeMutableBufferPointer { bb in
                        // Branches hoisted out of the loops so that each loop vectorises.
                        let g = gb.baseAddress!, w = wb.baseAddress!, b = bb.baseAddress!
                        let keep = 1 - tau
                        switch (isFirst, nesterov) {
                        case (true, false):
                            for i in 0..<n { let d = g[i] + wd * w[i]; b[i] = d; w[i] -= lr * d }
                        case (true, true):
                            for i in 0..<n { let d = g[i] + wd * w[i]; b[i] = d; w[i] -= lr * (d + mu * d) }
                        case (false, false):
                            for i in 0..<n { let d = g[i] + wd * w[i]; let bi = mu * b[i] + keep * d; b[i] = bi; w[i] -= lr * bi }
                        case (false, true):
                            for i in 0..<n { let d = g[i] + wd * w[i]; let bi = mu * b[i] + keep * d; b[i] = bi; w[i] -= lr * (d + mu * bi) }
                        }
                    }
                }
            }
            momentumBuffers[name] = buf
        }
    }

    public var state: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: momentumBuffers.map { ("momentum_buffer/\($0.key)", $0.value) })
    }

    public mutating func loadState(_ state: [String: Tensor]) throws {
        var buffers: [String: Tensor] = [:]
        for entry in try parseStateKeys(state, kinds: ["momentum_buffer"], optimizer: "SGD") { buffers[entry.name] = entry.value }
        momentumBuffers = buffers
    }
}
