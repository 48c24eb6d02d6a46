/// What synchronised batch normalisation needs from a data-parallel run (ShearsDistributed implements it over
/// MPI): sums over every replica, and this replica's share of the global loss.
public protocol BatchNormSynchronizer: AnyObject {
    /// Elementwise sums of `values` over all replicas; every replica passes the same number of values, in the
    /// same order of calls.
    func sumOverReplicas(_ values: [Double]) -> [Double]
    /// w = n_local / n_global: the global loss is Σ_r w_r·L_r, where L_r is the mean loss of replica r's shard.
    var lossShare: Double { get }
}

/// Training-mode batch norm whose mean and (biased) variance are those of the global batch, M values per channel
/// summed over every replica; the running statistics take the global ones (variance × M/(M−1)), so they agree on
/// every replica.
///
/// Backward, in the units of this replica's own loss L_r (the gradient averager later sums w_r·grad_r): with
/// x̂ = (x − μ)/σ and upstream g (the ReLU-masked one when ReLU is fused),
///
///     ∂L_r/∂x = (γ/σ)·(g − S_β/(w·M) − x̂·S_γ/(w·M)),  S_β = Σ_r w_r Σ g,  S_γ = Σ_r w_r Σ g·x̂,
///
/// and ∂/∂γ, ∂/∂β are the local sums Σ g·x̂, Σ g. With one replica (w = 1, S local) this is the ordinary
/// training-mode backward. oneDNN runs both passes with the global statistics given (`use_global_stats`, whose
/// backward is (γ/σ)·g plus the local sums); the two reduced terms are then subtracted per channel.
func syncedBatchNorm(_ x: Variable, _ xv: Tensor, weight: Variable, bias: Variable, runningMean: Variable,
                     runningVar: Variable, momentum: Float, eps: Float, fusedReLU: Bool,
                     sync: any BatchNormSynchronizer) -> Variable {
    let xs = x.shape, c = xs[1]
    let m = xv.shape[0] * xv.shape[2] * xv.shape[3]
    // Local statistics (oneDNN's training forward), combined over replicas in double precision.
    let local = BatchNormPlan.plan(shape: xv.shape, format: xv.format, training: true, eps: eps, fusedReLU: false)
    let localMean = Tensor(uninitializedShape: [c]), localVar = Tensor(uninitializedShape: [c])
    local.forward(x: xv, scale: weight.value, shift: bias.value, mean: localMean, variance: localVar,
                  y: Tensor(uninitializedShape: xv.shape, format: xv.format), workspace: nil)
    let (lm, lv) = (localMean.scalars, localVar.scalars)
    var sums = [Double](repeating: 0, count: 2 * c + 1)
    for k in 0..<c {
        sums[k] = Double(m) * Double(lm[k])
        sums[c + k] = Double(m) * (Double(lv[k]) + Double(lm[k]) * Double(lm[k]))
    }
    sums[2 * c] = Double(m)
    let total = sync.sumOverReplicas(sums)
    let bigM = total[2 * c]
    let globalMean = (0..<c).map { Float(total[$0] / bigM) }
    let globalVar = (0..<c).map { k -> Float in
        let mu = total[k] / bigM
        return Float(max(0, total[c + k] / bigM - mu * mu))
    }
    let mean = Tensor(shape: [c], scalars: globalMean), variance = Tensor(shape: [c], scalars: globalVar)

    let plan = BatchNormPlan.plan(shape: xv.shape, format: xv.format, training: false, eps: eps, fusedReLU: fusedReLU)
    let y = Tensor(uninitializedShape: xv.shape, format: xv.format)
    let workspace = plan.workspaceMd.map { DNNLBuffer($0) }
    plan.forward(x: xv, scale: weight.value, shift: bias.value, mean: mean, variance: variance, y: y, workspace: workspace)
    let unbias = Float(bigM / max(bigM - 1, 1))
    runningMean.value.scale(by: 1 - momentum)
    runningMean.value.addScaled(mean, alpha: momentum)
    runningVar.value.scale(by: 1 - momentum)
    runningVar.value.addScaled(variance, alpha: momentum * unbias)

    let out = xs.count == 2 ? Tensor(shape: xs, format: .contiguous, storage: y.storage) : y
    let gamma = weight.value, beta = bias.value, share = sync.lossShare
    return Variable(out, op: fusedReLU ? "syncBatchNormReLU" : "syncBatchNorm", inputs: [x, weight, bias]) { gyAny in
        let gy4 = xs.count == 2 ? Tensor(shape: xv.shape, format: .contiguous, storage: gyAny.storage) : gyAny.in(xv.format)
        let (gx, gs, gb) = plan.backward(x: xv, gy: gy4, scale: gamma, shift: beta, mean: mean, variance: variance,
                                         workspace: workspace)
        let (sg, sb) = (gs.scalars, gb.scalars)
        let reduced = sync.sumOverReplicas((0..<c).map { share * Double(sg[$0]) } + (0..<c).map { share * Double(sb[$0]) })
        subtractReducedTerms(gx, x: xv, gamma: gamma.scalars, mean: globalMean, variance: globalVar, eps: eps,
                             sumGamma: Array(reduced[0..<c]), sumBeta: Array(reduced[c...]), denominator: share * bigM)
        let gxOut = xs.count == 2 ? Tensor(shape: xs, format: .contiguous, storage: gx.storage) : gx
        return [gxOut, gs, gb]
    }
}

/// gx −= (γ/σ)·(a + x̂·b) per channel, with a = S_β/D, b = S_γ/D: a linear function α + β·x of the input, so one
/// pass over storage (NHWC: channel = i mod C; NCHW: ⌊i / HW⌋ mod C). gx is freshly made, owned by the caller.
private func subtractReducedTerms(_ gx: Tensor, x: Tensor, gamma: [Float], mean: [Float], variance: [Float], eps: Float,
                                  sumGamma: [Double], sumBeta: [Double], denominator: Double) {
    let c = gamma.count, hw = x.shape[2] * x.shape[3]
    var alpha = [Float](repeating: 0, count: c), slope = [Float](repeating: 0, count: c)
    for k in 0..<c {
        let inv = 1 / (Double(variance[k]) + Double(eps)).squareRoot()
        let a = sumBeta[k] / denominator, b = sumGamma[k] / denominator
        let s = Double(gamma[k]) * b * inv * inv
        slope[k] = Float(s)
        alpha[k] = Float(Double(gamma[k]) * a * inv - s * Double(mean[k]))
    }
    let n = x.count, g = gx.storage.pointer, xp = x.storage.pointer
    if x.format == .channelsLast {
        for i in 0..<n { let k = i % c; g[i] -= alpha[k] + slope[k] * xp[i] }
    } else {
        for i in 0..<n { let k = (i / hw) % c; g[i] -= alpha[k] + slope[k] * xp[i] }
    }
}
