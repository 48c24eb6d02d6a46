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
        for (name, p) in parameters {
            guard let grad = p.grad else { continue }
            let n = p.value.count
            var d = grad.in(p.value.format)
            if weightDecay != 0 { d.addScaled(p.value, alpha: weightDecay) }
            if momentum != 0 {
                if var buf = momentumBuffers.removeValue(forKey: name) {
                    buf.withUnsafeMutableBufferPointer { b in
                        d.withUnsafeBufferPointer { g in
                            for i in 0..<n { b[i] = momentum * b[i] + (1 - dampening) * g[i] }
                        }
                    }
                    momentumBuffers[name] = buf
                } else {
                    momentumBuffers[name] = d
                }
                let buf = momentumBuffers[name]!
                if nesterov { d.addScaled(buf, alpha: momentum) } else { d = buf }
            }
            p.value.addScaled(d, alpha: -learningRate)
        }
    }
}
