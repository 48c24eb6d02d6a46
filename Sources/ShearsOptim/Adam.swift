import Foundation
import ShearsTensor

/// Adam (Kingma & Ba 2015) exactly as `torch.optim.Adam` (no AMSGrad; L2 weight decay added to the gradient):
///
///     g ← ∇ + λ·θ
///     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
public struct Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public var firstMoments: [String: Tensor] = [:]
    public var secondMoments: [String: Tensor] = [:]
    /// Steps taken per parameter (t in the bias corrections).
    public var steps: [String: Int] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        precondition(learningRate >= 0, "Adam: learning rate must be ≥ 0, got \(learningRate)")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1), got (\(beta1), \(beta2))")
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        let (lr, b1, b2, eps, wd) = (learningRate, beta1, beta2, eps, weightDecay)
        for (name, p) in parameters {
            guard let grad = p.grad?.in(p.value.format) else { continue }
            let n = p.value.count
            let t = (steps[name] ?? 0) + 1
            steps[name] = t
            var m = firstMoments.removeValue(forKey: name) ?? Tensor.zeros(like: p.value)
            var v = secondMoments.removeValue(forKey: name) ?? Tensor.zeros(like: p.value)
            let c1 = 1 - Float(pow(Double(b1), Double(t)))
            let c2 = (1 - Float(pow(Double(b2), Double(t)))).squareRoot()
            grad.withUnsafeBufferPointer { g in
                p.value.withUnsafeMutableBufferPointer { w in
                    m.withUnsafeMutableBufferPointer { mp in
                        v.withUnsafeMutableBufferPointer { vp in
                            for i in 0..<n {
                                let d = g[i] + wd * w[i]
                                mp[i] = b1 * mp[i] + (1 - b1) * d
                                vp[i] = b2 * vp[i] + (1 - b2) * d * d
                                w[i] -= (lr / c1) * mp[i] / (vp[i].squareRoot() / c2 + eps)
                            }
                        }
                    }
                }
            }
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }

    public var state: [String: Tensor] {
        var s: [String: Tensor] = [:]
        for (k, v) in firstMoments { s["exp_avg/\(k)"] = v }
        for (k, v) in secondMoments { s["exp_avg_sq/\(k)"] = v }
        for (k, t) in steps { s["step/\(k)"] = Tensor(Float(t)) }
        return s
    }

    public mutating func loadState(_ state: [String: Tensor]) throws {
        firstMoments = [:]; secondMoments = [:]; steps = [:]
        for e in try parseStateKeys(state, kinds: ["exp_avg", "exp_avg_sq", "step"], optimizer: "Adam") {
            switch e.kind {
            case "exp_avg": firstMoments[e.name] = e.value
            case "exp_avg_sq": secondMoments[e.name] = e.value
            default: steps[e.name] = Int(e.value.scalar)
            }
        }
    }
}
