import CDNNL
import Foundation

/// Rectified linear unit, max(x, 0), on oneDNN's eltwise primitive over the flat buffer (any layout).
/// Backward uses the *output* (y > 0 ⇔ x > 0), so only y is kept for the backward pass.
public func relu(_ x: Variable) -> Variable {
    let xv = x.value
    let plan = EltwisePlan.plan(count: xv.count, alg: dnnl_eltwise_relu_use_dst_for_bwd)
    let y = Tensor(uninitializedShape: xv.shape, format: xv.format)
    plan.forward(src: xv, dst: y)
    return Variable(y, op: "relu", inputs: [x]) { gyAny in
        let gy = gyAny.in(y.format)
        let gx = Tensor(uninitializedShape: y.shape, format: y.format)
        plan.backward(dst: y, diffDst: gy, diffSrc: gx)
        return [gx]
    }
}

/// oneDNN eltwise primitives over a flat buffer of `count` floats.
final class EltwisePlan {
    let fwd, bwd: DNNLPrimitive
    let md: dnnl_memory_desc_t

    static func plan(count: Int, alg: dnnl_alg_kind_t) -> EltwisePlan {
        DNNL.cached("eltwise|\(alg.rawValue)|\(count)") { EltwisePlan(count: count, alg: alg) }
    }

    init(count: Int, alg: dnnl_alg_kind_t) {
        md = DNNL.md([count], dnnl_a)
        var d = md
        var fd = dnnl_eltwise_desc_t()
        DNNL.check(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, alg, &d, 0, 0), "describing eltwise forward")
        fwd = withUnsafePointer(to: &fd) { DNNLPrimitive(opDesc: $0, what: "eltwise forward") }
        var bd = dnnl_eltwise_desc_t()
        DNNL.check(dnnl_eltwise_backward_desc_init(&bd, alg, &d, &d, 0, 0), "describing eltwise backward")
        let hint = fwd.pd
        bwd = withUnsafePointer(to: &bd) { DNNLPrimitive(opDesc: $0, hint: hint, what: "eltwise backward") }
    }

    func forward(src: Tensor, dst: Tensor) {
        fwd.execute([(DNNL_ARG_SRC, md, UnsafeMutableRawPointer(src.storage.pointer)),
                     (DNNL_ARG_DST, md, UnsafeMutableRawPointer(dst.storage.pointer))])
    }

    func backward(dst: Tensor, diffDst: Tensor, diffSrc: Tensor) {
        bwd.execute([(DNNL_ARG_DST, md, UnsafeMutableRawPointer(dst.storage.pointer)),
                     (DNNL_ARG_DIFF_DST, md, UnsafeMutableRawPointer(diffDst.storage.pointer)),
                     (DNNL_ARG_DIFF_SRC, md, UnsafeMutableRawPointer(diffSrc.storage.pointer))])
    }
}

/// Inverted dropout (PyTorch `F.dropout`): in training, zero each element with probability `p` and scale the
/// survivors by 1/(1−p); identity in inference. The keep-mask is drawn from `generator`.
public func dropout(_ x: Variable, p: Float, phase: LearningPhase, generator: inout Generator) -> Variable {
    precondition(p >= 0 && p < 1, "dropout: p must be in [0, 1), got \(p)")
    guard phase == .training, p > 0 else { return x }
    let xv = x.value
    // Drawn in logical (row-major) order, so the same seed drops the same elements whatever the memory format.
    var mask = Tensor(uninitializedShape: xv.shape)
    let keep = 1 / (1 - p)
    let mp = mask.storage.pointer
    for i in 0..<xv.count { mp[i] = generator.nextFloat() < p ? 0 : keep }
    mask = xv.rank == 4 ? mask.in(xv.format) : mask
    let y = xv * mask
    return Variable(y, op: "dropout", inputs: [x]) { gy in [gy * mask] }
}

/// Leaky ReLU (PyTorch `F.leaky_relu`, ONNX `LeakyRelu`): x for x ≥ 0, α·x below. Backward: ∂x = ∂y · (1 or α),
/// chosen by the sign of x (at 0 the slope is 1, as PyTorch's).
public func leakyRelu(_ x: Variable, alpha: Float = 0.01) -> Variable {
    let xv = x.value
    let y = xv.map { $0 >= 0 ? $0 : alpha * $0 }
    return Variable(y, op: "leakyRelu", inputs: [x]) { gy in
        [xv.zipMap(gy, op: "leakyRelu backward") { v, g in v >= 0 ? g : alpha * g }]
    }
}

/// The logistic sigmoid 1 / (1 + e^−x) (ONNX `Sigmoid`). Backward from the output: ∂x = ∂y · y(1 − y).
public func sigmoid(_ x: Variable) -> Variable {
    let y = x.value.map { v in v >= 0 ? 1 / (1 + Foundation.exp(-v)) : Foundation.exp(v) / (1 + Foundation.exp(v)) }
    return Variable(y, op: "sigmoid", inputs: [x]) { gy in
        [y.zipMap(gy, op: "sigmoid backward") { s, g in g * s * (1 - s) }]
    }
}
