import CDNNL

/// 2-D max pooling (PyTorch `F.max_pool2d`, floor mode, padding with −∞). Keeps oneDNN's workspace (the
/// argmax positions) for the backward pass.
public func maxPool2d(_ x: Variable, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Variable {
    let s = stride ?? kernel
    return pool(x, alg: dnnl_pooling_max, kernel: (kernel, kernel), stride: (s, s), padding: padding, op: "maxPool2d")
}

/// 2-D average pooling (PyTorch `F.avg_pool2d` with its default `count_include_pad=True`).
public func avgPool2d(_ x: Variable, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Variable {
    let s = stride ?? kernel
    return pool(x, alg: dnnl_pooling_avg_include_padding, kernel: (kernel, kernel), stride: (s, s), padding: padding, op: "avgPool2d")
}

/// Global average pooling, [N, C, H, W] → [N, C] (`adaptive_avg_pool2d(x, 1).flatten(1)`).
public func globalAvgPool2d(_ x: Variable) -> Variable {
    let s = x.shape
    checkShape(s.count == 4, op: "globalAvgPool2d", "input", s, "expected", [-1, -1, -1, -1],
               expected: "an [N, C, H, W] input")
    let pooled = pool(x, alg: dnnl_pooling_avg_include_padding, kernel: (s[2], s[3]), stride: (s[2], s[3]), padding: 0,
                      op: "globalAvgPool2d")
    return flatten(pooled)
}

private func pool(_ x: Variable, alg: dnnl_alg_kind_t, kernel: (Int, Int), stride: (Int, Int), padding: Int, op: String) -> Variable {
    let xs = x.shape
    checkShape(xs.count == 4, op: op, "input", xs, "kernel", [kernel.0, kernel.1], expected: "an [N, C, H, W] input")
    precondition(kernel.0 >= 1 && kernel.1 >= 1 && stride.0 >= 1 && stride.1 >= 1 && padding >= 0
                    && padding <= Swift.min(kernel.0, kernel.1) / 2,
                 "\(op): kernel \(kernel), stride \(stride), padding \(padding) invalid (padding must be ≤ kernel/2)")
    precondition(xs[2] + 2 * padding >= kernel.0 && xs[3] + 2 * padding >= kernel.1,
                 "\(op): kernel \(kernel) larger than padded input \(xs[2])×\(xs[3])")
    let xv = x.value
    let plan = PoolPlan.plan(shape: xs, format: xv.format, alg: alg, kernel: kernel, stride: stride, padding: padding)
    let y = Tensor(uninitializedShape: plan.outShape, format: xv.format)
    let workspace = plan.hasWorkspace ? DNNLBuffer(plan.workspaceMd) : nil
    plan.forward(x: xv, y: y, workspace: workspace)
    let geometry = OpAttributes.pool(max: alg == dnnl_pooling_max, kernel: kernel, stride: stride, padding: padding)
    return Variable(y, op: op, inputs: [x], attributes: geometry) { gyAny in
        let gy = gyAny.in(xv.format)
        let gx = Tensor(uninitializedShape: xs, format: xv.format)
        plan.backward(gy: gy, gx: gx, workspace: workspace)
        return [gx]
    }
}

/// oneDNN pooling primitives for one shape, layout and algorithm.
final class PoolPlan {
    let fwd, bwd: DNNLPrimitive
    let srcMd, dstMd, workspaceMd: dnnl_memory_desc_t
    let outShape: [Int]
    let hasWorkspace: Bool

    static func plan(shape: [Int], format: MemoryFormat, alg: dnnl_alg_kind_t, kernel: (Int, Int), stride: (Int, Int), padding: Int) -> PoolPlan {
        DNNL.cached("pool|\(shape)|\(format)|\(alg.rawValue)|\(kernel)|\(stride)|\(padding)") {
            PoolPlan(shape: shape, format: format, alg: alg, kernel: kernel, stride: stride, padding: padding)
        }
    }

    init(shape: [Int], format: MemoryFormat, alg: dnnl_alg_kind_t, kernel: (Int, Int), stride: (Int, Int), padding: Int) {
        let oh = (shape[2] + 2 * padding - kernel.0) / stride.0 + 1
        let ow = (shape[3] + 2 * padding - kernel.1) / stride.1 + 1
        outShape = [shape[0], shape[1], oh, ow]
        let tag = DNNL.tag(rank: 4, format: format)
        srcMd = DNNL.md(shape, tag)
        dstMd = DNNL.md(outShape, tag)
        var s = srcMd, d = dstMd
        let strides = DNNL.dims([stride.0, stride.1]), kernels = DNNL.dims([kernel.0, kernel.1]), pads = DNNL.dims([padding, padding])
        var fd = dnnl_pooling_desc_t()
        DNNL.check(dnnl_pooling_forward_desc_init(&fd, dnnl_forward_training, alg, &s, &d, strides, kernels, pads, pads),
                   "describing pooling forward for \(shape)")
        fwd = withUnsafePointer(to: &fd) { DNNLPrimitive(opDesc: $0, what: "pooling forward \(shape)") }
        var bd = dnnl_pooling_desc_t()
        DNNL.check(dnnl_pooling_backward_desc_init(&bd, alg, &s, &d, strides, kernels, pads, pads),
                   "describing pooling backward for \(shape)")
        let hint = fwd.pd
        bwd = withUnsafePointer(to: &bd) { DNNLPrimitive(opDesc: $0, hint: hint, what: "pooling backward \(shape)") }
        workspaceMd = fwd.md(dnnl_query_workspace_md)
        hasWorkspace = DNNL.byteSize(workspaceMd) > 0
    }

    func forward(x: Tensor, y: Tensor, workspace: DNNLBuffer?) {
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (DNNL_ARG_SRC, srcMd, UnsafeMutableRawPointer(x.storage.pointer)),
            (DNNL_ARG_DST, dstMd, UnsafeMutableRawPointer(y.storage.pointer))]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspaceMd, workspace.pointer)) }
        fwd.execute(args)
    }

    func backward(gy: Tensor, gx: Tensor, workspace: DNNLBuffer?) {
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (DNNL_ARG_DIFF_DST, dstMd, UnsafeMutableRawPointer(gy.storage.pointer)),
            (DNNL_ARG_DIFF_SRC, srcMd, UnsafeMutableRawPointer(gx.storage.pointer))]
        if let workspace { args.append((DNNL_ARG_WORKSPACE, workspaceMd, workspace.pointer)) }
        bwd.execute(args)
    }
}
