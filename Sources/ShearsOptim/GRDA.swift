import Foundation
import ShearsTensor

/// Generalised regularised dual averaging, gRDA (Chao, Wang, Xing & Cheng, "Directional Pruning of Deep Neural
/// Networks", NeurIPS 2020, §2), exactly as the authors' PyTorch optimizer performs it (shared/spec/grda.md §1.2).
///
/// The paper's update (gRDA) with the tuning function of its eq. (5),
///
///     w_{n+1} = S_{g(n,γ)}( w_0 − γ Σ_{i=0}^{n} ∇f(w_i; Z_{i+1}) ),    g(n, γ) = c·γ^{1/2}·(nγ)^μ = c·γ^{μ+½}·n^μ,
///
/// with S_τ(x) = sign(x)·max(|x| − τ, 0) elementwise, is carried out per parameter tensor as (spec §1.2, the dual /
/// stochastic-mirror-descent form of the paper's App. B and its "Algorithm 2" for learning-rate drops):
///
///     first step:  a_0 = w_0 (the current weights, not zeros),  n = 0,  τ_0 = 0
///     every step:  n ← n + 1
///                  a_n = a_{n−1} − γ_n·g_n                               (g_n: the minibatch-mean gradient at w_{n−1})
///                  τ_n = τ_{n−1} + c·γ_n^{μ+½}·(n^μ − (n − 1)^μ)          (each step's own γ_n; kept in Double)
///                  w_n = sign(a_n)·max(|a_n| − τ_n, 0)                     (rebuilt from the dense a_n every step)
///
/// Consequences, each tested in `GRDATests`:
/// - c = 0 is plain SGD (w_n = a_n), bit for bit.
/// - With a constant γ the increments telescope: τ_n = c·γ^{μ+½}·n^μ = c·√γ·(nγ)^μ = g(n, γ) of eq. (5).
/// - After a learning-rate drop τ keeps growing from where it was, with increments computed at the new γ; the
///   closed form is *not* recomputed with the new rate (spec §1.2, "Constant-and-drop").
/// - There is no persistent mask: a weight at 0 comes back as soon as |a| exceeds τ. Surviving weights equal
///   a − sign(a)·τ. The accumulator is never reset.
/// - No momentum, no weight decay (the paper's method has neither).
///
/// Parameters named in `unthresholded` (e.g. biases and batch-norm γ/β when the caller excludes them) get the c = 0
/// update, i.e. plain SGD, and carry no accumulator. By default every parameter is thresholded, as in the paper.
///
/// The step counter n and τ are kept per tensor, as the reference code does (a tensor without a gradient at some step
/// does not advance). The accumulator is float32 like the weights; τ is accumulated in Double (spec §1.2,
/// "Precision") and applied as the nearest float32.
///
/// Checkpoint state (`state`, keys `kind/parameter`): `accumulator/<p>` (shaped like p), `step/<p>` and
/// `threshold/<p>`. n and τ are stored exactly: each as the four 16-bit chunks of its 64-bit pattern, one chunk per
/// float32 element (integers below 2^16 are exact in float32), so a resumed run continues bit-identically.
public struct GRDA: Optimizer {
    public var learningRate: Float
    /// c ≥ 0: the scale of the soft threshold (eq. 5).
    public let c: Double
    /// μ: the growth exponent of the soft threshold in n (eq. 5); the paper recommends μ slightly above ½.
    public let mu: Double
    /// Parameters updated without the threshold (plain SGD).
    public var unthresholded: Set<String>
    /// a: the dual (accumulated-gradient) variable per parameter, in the parameter's memory format.
    public private(set) var accumulators: [String: Tensor] = [:]
    /// n: steps taken per parameter.
    public private(set) var steps: [String: Int] = [:]
    /// τ_n per parameter.
    public private(set) var thresholds: [String: Double] = [:]

    public init(learningRate: Float, c: Double, mu: Double, unthresholded: Set<String> = []) {
        precondition(learningRate >= 0 && learningRate.isFinite, "GRDA: learning rate must be a finite number ≥ 0, got \(learningRate)")
        precondition(c >= 0 && c.isFinite, "GRDA: c must be a finite number ≥ 0, got \(c)")
        precondition(mu > 0 && mu.isFinite, "GRDA: μ must be a finite number > 0, got \(mu)")
        self.learningRate = learningRate
        self.c = c
        self.mu = mu
        self.unthresholded = unthresholded
    }

    /// The threshold increment of step n (1-based) at learning rate γ: c·γ^{μ+½}·(n^μ − (n − 1)^μ).
    public func thresholdIncrement(step n: Int, learningRate gamma: Double) -> Double {
        precondition(n >= 1, "GRDA: steps are counted from 1, got \(n)")
        return c * pow(gamma, mu + 0.5) * (pow(Double(n), mu) - pow(Double(n - 1), mu))
    }

    /// Eq. (5): g(n, γ) = c·√γ·(nγ)^μ, the threshold after n steps at a constant γ.
    public static func tuningFunction(c: Double, mu: Double, step n: Int, learningRate gamma: Double) -> Double {
        c * gamma.squareRoot() * pow(Double(n) * gamma, mu)
    }

    public mutating func step(_ parameters: [(String, Variable)]) {
        let lr = learningRate
        for (name, p) in parameters {
            guard let grad = p.grad?.in(p.value.format) else { continue }
            let count = p.value.count
            if unthresholded.contains(name) {
                // c = 0 for this tensor: a_n = w_n, so the update is SGD's w ← w − γ·g.
                grad.withUnsafeBufferPointer { g in
                    p.value.withUnsafeMutableBufferPointer { w in
                        for i in 0..<count { w[i] -= lr * g[i] }
                    }
                }
                continue
            }
            // a_0 = w_0 at the first step of this tensor.
            var a = (accumulators.removeValue(forKey: name) ?? p.value).in(p.value.format)
            precondition(a.shape == p.value.shape,
                         "GRDA: the accumulator of '\(name)' has shape \(a.shape) but the parameter has \(p.value.shape)")
            let n = (steps[name] ?? 0) + 1
            let tau = (thresholds[name] ?? 0) + thresholdIncrement(step: n, learningRate: Double(lr))
            steps[name] = n
            thresholds[name] = tau
            let t = Float(tau)
            grad.withUnsafeBufferPointer { gb in
                a.withUnsafeMutableBufferPointer { ab in
                    p.value.withUnsafeMutableBufferPointer { wb in
                        let g = gb.baseAddress!, acc = ab.baseAddress!, w = wb.baseAddress!
                        // One fused pass: the dual step, then the soft threshold S_τ(a) into the weights.
                        for i in 0..<count {
                            let ai = acc[i] - lr * g[i]
                            acc[i] = ai
                            w[i] = ai > t ? ai - t : (ai < -t ? ai + t : 0)
                        }
                    }
                }
            }
            accumulators[name] = a
        }
    }

    // MARK: checkpoint state

    public var state: [String: Tensor] {
        var s: [String: Tensor] = [:]
        for (k, a) in accumulators { s["accumulator/\(k)"] = a }
        for (k, n) in steps { s["step/\(k)"] = GRDA.encode(UInt64(n)) }
        for (k, tau) in thresholds { s["threshold/\(k)"] = GRDA.encode(tau.bitPattern) }
        return s
    }

    public mutating func loadState(_ state: [String: Tensor]) throws {
        var acc: [String: Tensor] = [:], st: [String: Int] = [:], th: [String: Double] = [:]
        for e in try parseStateKeys(state, kinds: ["accumulator", "step", "threshold"], optimizer: "GRDA") {
            switch e.kind {
            case "accumulator": acc[e.name] = e.value
            case "step":
                let bits = try GRDA.decode(e.value, key: "step/\(e.name)")
                guard bits <= UInt64(Int.max) else { throw OptimizerError("GRDA: state entry 'step/\(e.name)' is not a step count") }
                st[e.name] = Int(bits)
            default: th[e.name] = Double(bitPattern: try GRDA.decode(e.value, key: "threshold/\(e.name)"))
            }
        }
        let missing = Set(acc.keys).symmetricDifference(st.keys).union(Set(acc.keys).symmetricDifference(th.keys))
        guard missing.isEmpty else {
            throw OptimizerError("GRDA: state is incomplete for \(missing.sorted().joined(separator: ", ")); expected "
                                 + "accumulator/, step/ and threshold/ entries for every parameter")
        }
        accumulators = acc; steps = st; thresholds = th
    }

    /// A 64-bit pattern as four float32 elements holding its 16-bit chunks, most significant first.
    static func encode(_ bits: UInt64) -> Tensor {
        Tensor(shape: [4], scalars: (0..<4).map { Float((bits >> (48 - 16 * UInt64($0))) & 0xFFFF) })
    }

    static func decode(_ t: Tensor, key: String) throws -> UInt64 {
        let s = t.scalars
        guard t.shape == [4], s.allSatisfy({ $0 >= 0 && $0 <= 65535 && $0 == $0.rounded() }) else {
            throw OptimizerError("GRDA: state entry '\(key)' has shape \(t.shape); expected 4 16-bit chunks (shape [4])")
        }
        return s.reduce(UInt64(0)) { ($0 << 16) | UInt64($1) }
    }
}
