import ShearsTensor

/// RMSprop exactly as `torch.optim.RMSprop` (not centered; L2 weight decay added to the gradient):
///
///     g ← ∇ + λ·θ
///     v ← α·v + (1 − α)·g²
///     without momentum: θ ← θ − η · g / (√v + ε)
///     with momentum μ:  b ← μ·b + g / (√v + ε),  θ ← θ − η·b
public struct RMSprop: Optimizer {
    public var learningRate: Float
    public var alpha: Float, eps: Float, weightDecay: Float, momentum: Float
    public var squareAverages: [String: Tensor] = [:]
    public var momentumBuffers: [String: Tensor] = [:]

    public init(learningRate: Float = 1e-2, alpha: Float = 0.99, eps: Float = 1e-8, weightDecay: Float = 0, momentum: Float = 0) {
        precondition(learningRate >= 0, "RMSprop: learning rate must be ≥ 0, got \(learningRate)")
        precondition(alpha >= 0 && alpha < 1, "RMSprop: alpha must be in [0, 1), got \(alpha)")
        self.learningRate = learningRate
        self.alpha = alpha; self.eps = eps; self.weightDecay = weightDecay; self.momentum = momentum
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        let (lr, a, eps, wd, mu) = (learningRate, alpha, eps, weightDecay, momentum)
        for (name, p) in parameters {
            guard let grad = p.grad?.in(p.value.format) else { continue }
            let n = p.value.count
            var v = squareAverages.removeValue(forKey: name) ?? Tensor.zeros(like: p.value)
            var b = momentumBuffers.removeValue(forKey: name) ?? Tensor.zeros(like: p.value)
            grad.withUnsafeBufferPointer { g in
                p.value.withUnsafeMutableBufferPointer { w in
                    v.withUnsafeMutableBufferPointer { vp in
                        b.withUnsafeMutableBufferPointer { bp in
                            for i in 0..<n {
                                let d = g[i] + wd * w[i]
                                vp[i] = a * vp[i] + (1 - a) * d * d
                                let u = d / (vp[i].squareRoot() + eps)
                                if mu > 0 { bp[i] = mu * bp[i] + u; w[i] -= lr * bp[i] } else { w[i] -= lr * u }
                            }
                        }
                    }
                }
            }
            squareAverages[name] = v
            if mu > 0 { momentumBuffers[name] = b }
        }
    }

    public var state: [String: Tensor] {
        var s: [String: Tensor] = [:]
        for (k, v) in squareAverages { s["square_avg/\(k)"] = v }
        for (k, v) in momentumBuffers { s["momentum_buffer/\(k)"] = v }
        return s
    }

    public mutating func loadState(_ state: [String: Tensor]) throws {
        squareAverages = [:]; momentumBuffers = [:]
        for e in try parseStateKeys(state, kinds: ["square_avg", "momentum_buffer"], optimizer: "RMSprop") {
            if e.kind == "square_avg" { squareAverages[e.name] = e.value } else { momentumBuffers[e.name] = e.value }
        }
    }
}
