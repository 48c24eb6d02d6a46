import CDNNL

/// Batch normalisation with PyTorch semantics (`F.batch_norm`), on oneDNN.
///
/// - x: [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d, either memory format); weight (γ), bias (β),
///   runningMean, runningVar: [C].
/// - Training: normalise with the batch mean and the *biased* batch variance, then update the running
///   statistics with `momentum`: running ← (1 − m)·running + m·batch, where the variance fed to the running
///   estimate is the *unbiased* one (× n/(n−1), n = N·H·W), exactly as PyTorch does.
/// - Inference: normalise with the running statistics.
/// - fusedReLU: returns relu(batchNorm(x)) in one pass over memory (oneDNN's `fuse_norm_relu`, which keeps a
///   bit mask of the positive outputs for the backward pass) — same values and gradients, less traffic.
/// Backward (both phases) runs on oneDNN's batch_normalization backward primitive.
/// - sync: in training, normalise with the statistics of the whole data-parallel batch (`SyncBatchNorm.swift`).
public func batchNorm(_ x: Variable, weight: Variable, bias: Variable, runningMean: Variable, runningVar: Variable,
                      phase: LearningPhase, momentum: Float = 0.1, eps: Float = 1e-5, fusedReLU: Bool = false,
                      sync: (any BatchNormSynchronizer)? = nil) -> Variable {
    let xs = x.shape
    checkShape((xs.count == 2 || xs.count == 4) && weight.shape == [xs[1]] && bias.shape == [xs[1]],
               op: "batchNorm", "input", xs, "weight", weight.shape, expected: "input [N, C] or [N, C, H, W] and weight [C]")
    checkShape(runningMean.shape == [xs[1]] && runningVar.shape == [xs[1]], op: "batchNorm", "running_mean",
               runningMean.shape, "running_var", runningVar.shape, expected: "[C] each")
    let training = phase == .training
    let c = xs[1]
    let n = xs.count == 4 ? xs[0] * xs[2] * xs[3] : xs[0]
    precondition(!training || n > 1, "batchNorm: training needs more than one value per channel, got input shape \(xs)")

    // BatchNorm1d is BatchNorm2d over a 1×1 image.
    let xv = xs.count == 2 ? Tensor(shape: xs + [1, 1], format: .contiguous, storage: x.value.storage) : x.value
    if training, let sync {
        return syncedBatchNorm(x, xv, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                               momentum: momentum, eps: eps, fusedReLU: fusedReLU, sync: sync)
    }
    let plan = BatchNormPlan.plan(shape: xv.shape, format: xv.format, training: training, eps: eps, fusedReLU: fusedReLU)
    let y = Tensor(uninitializedShape: xv.shape, format: xv.format)
    let mean: Tensor, variance: Tensor
    if training {
        mean = Tensor(uninitializedShape: [c]); variance = Tensor(uninitializedShape: [c])
    } else {
        mean = runningMean.value; variance = runningVar.value
    }
    let workspace = plan.workspaceMd.map { DNNLBuffer($0) }
    plan.forward(x: xv, scale: weight.value, shift: bias.value, mean: mean, variance: variance, y: y, workspace: workspace)

    if training {
        let unbias = Float(Double(n) / Double(n - 1))
        runningMean.value.scale(by: 1 - momentum)
        runningMean.value.addScaled(mean, alpha: momentum)
        runningVar.value.scale(by: 1 - momentum)
        runningVar.value.addScaled(variance, alpha: momentum * unbias)
    }

    let out = xs.count == 2 ? Tensor(shape: xs, format: .contiguous, storage: y.storage) : y
    let gamma = weight.value, beta = bias.value
    let statistics = OpAttributes.batchNorm(runningMean: runningMean, runningVar: runningVar, eps: eps)
    return Variable(out, op: fusedReLU ? "batchNormReLU" : "batchNorm", inputs: [x, weight, bias], attributes: statistics) { gyAny in
        let gy4 = xs.count == 2 ? Tensor(shape: xv.shape, format: .contiguous, storage: gyAny.storage) : gyAny.in(xv.format)
        let (gx, gs, gb) = plan.backward(x: xv, gy: gy4, scale: gamma, shift: beta, mean: mean, variance: variance, workspace: workspace)
        let gxOut = xs.count == 2 ? Tensor(shape: xs, format: .contiguous, storage: gx.storage) : gx
        return [gxOut, gs, gb]
    }
}

/// oneDNN batch-normalisation primitives for one shape, format and phase.
final class BatchNormPlan {
    let fwd: DNNLPrimitive
    let bwd: DNNLPrimitive
    let dataMd, statMd: dnnl_memory_desc_t
    let training: Bool
    /// The ReLU bit mask's layout when ReLU is fused, else nil.
    let workspaceMd: dnnl_memory_desc_t?

    static func plan(shape: [Int], format: MemoryFormat, training: Bool, eps: Float, fusedReLU: Bool) -> BatchNormPlan {
        DNNL.cached("bn|\(shape)|\(format)|\(training)|\(eps)|\(fusedReLU)") {
            BatchNormPlan(shape: shape, format: format, training: training, eps: eps, fusedReLU: fusedReLU)
        }
    }

    init(shape: [Int], format: MemoryFormat, training: Bool, eps: Float, fusedReLU: Bool) {
        self.training = training
        dataMd = DNNL.md(shape, DNNL.tag(rank: 4, format: format))
        statMd = DNNL.md([shape[1]], dnnl_a)
        var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        if !training { flags |= dnnl_use_global_stats.rawValue }
        if fusedReLU { flags |= dnnl_fuse_norm_relu.rawValue }
        var d = dataMd
        var fd = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_forward_desc_init(&fd, dnnl_forward_training, &d, eps, flags),
                   "describing batch norm forward for \(shape)")
        fwd = withUnsafePointer(to: &fd) { DNNLPrimitive(opDesc: $0, what: "batch norm forward \(shape)") }
        var bd = dnnl_batch_normalization_desc_t()
        DNNL.check(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &d, &d, eps, flags),
                   "describing batch norm backward for \(shape)")
        let hint = fwd.pd
        bwd = withUnsafePointer(to: &bd) { DNNLPrimitive(opDesc: $0, hint: hint, what: "batch norm backward \(shape)") }
        workspaceMd = fusedReLU ? fwd.md(dnnl_query_workspace_md) : nil
    }

    private func raw(_ t: Tensor) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(t.storage.pointer) }

    func forward(x: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, y: Tensor, workspace: DNNLBuffer?) {
        // Training: oneDNN writes the batch mean/variance into `mean`/`variance`; inference: it reads them.
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [(DNNL_ARG_SRC, dataMd, raw(x)), (DNNL_ARG_DST, dataMd, raw(y)),
                     (DNNL_ARG_SCALE, statMd, raw(scale)), (DNNL_ARG_SHIFT, statMd, raw(shift)),
                     (DNNL_ARG_MEAN, statMd, raw(mean)), (DNNL_ARG_VARIANCE, statMd, raw(variance))]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspace.desc, workspace.pointer)) }
        fwd.execute(args)
    }

    func backward(x: Tensor, gy: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor,
                  workspace: DNNLBuffer?) -> (Tensor, Tensor, Tensor) {
        let gx = Tensor(uninitializedShape: x.shape, format: x.format)
        let c = x.shape[1]
        let gs = Tensor(uninitializedShape: [c]), gb = Tensor(uninitializedShape: [c])
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
                     (DNNL_ARG_SRC, dataMd, raw(x)), (DNNL_ARG_DIFF_DST, dataMd, raw(gy)),
                     (DNNL_ARG_SCALE, statMd, raw(scale)), (DNNL_ARG_SHIFT, statMd, raw(shift)), (DNNL_ARG_MEAN, statMd, raw(mean)),
                     (DNNL_ARG_VARIANCE, statMd, raw(variance)), (DNNL_ARG_DIFF_SRC, dataMd, raw(gx)),
                     (DNNL_ARG_DIFF_SCALE, statMd, raw(gs)), (DNNL_ARG_DIFF_SHIFT, statMd, raw(gb))]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspace.desc, workspace.pointer)) }
        bwd.execute(args)
        return (gx, gs, gb)
    }
}
