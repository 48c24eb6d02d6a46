import CDNNL

/// Everything oneDNN needs to run one convolution shape forward and backward, built once per shape.
///
/// Activations are NHWC (`MemoryFormat.channelsLast`) so that no activation is ever reordered; weights stay
/// in PyTorch's OIHW in the tensor and are reordered into whatever blocked layout the chosen kernel wants
/// (a few KB per layer, negligible next to the convolution itself).
final class ConvPlan {
    let fwd: DNNLPrimitive
    let bwdData: DNNLPrimitive
    let bwdWeights: DNNLPrimitive
    let srcMd, dstMd, userWeightsMd, biasMd: dnnl_memory_desc_t
    let fwdWeightsMd, bwdDataWeightsMd, diffWeightsMd: dnnl_memory_desc_t
    let toFwdWeights, toBwdDataWeights, fromDiffWeights: DNNLPrimitive?
    let outShape: [Int]
    let hasBias: Bool
    /// Multiply-adds × 2 of one pass (forward, backward-data and backward-weights each cost this much).
    let flops: Double

    static func key(_ x: [Int], _ w: [Int], bias: Bool, stride: Int, padding: Int, dilation: Int = 1, groups: Int = 1) -> String {
        "conv|\(x)|\(w)|\(bias)|\(stride)|\(padding)" + (dilation == 1 && groups == 1 ? "" : "|d\(dilation)|g\(groups)")
    }

    /// `w` is OIHW with I = C / groups; oneDNN sees grouped weights as [G, O/G, I, KH, KW] (goihw), the same
    /// bytes. `dilation` is PyTorch's (1 = dense kernel); oneDNN counts the gaps (dilation − 1).
    init(input x: [Int], weight w: [Int], bias: Bool, stride: Int, padding: Int, dilation: Int = 1, groups: Int = 1) {
        let (n, _, h, wd) = (x[0], x[1], x[2], x[3])
        let (o, _, kh, kw) = (w[0], w[1], w[2], w[3])
        let oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let ow = (wd + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        outShape = [n, o, oh, ow]
        hasBias = bias
        flops = 2 * Double(n * o * oh * ow) * Double(w[1] * kh * kw)
        srcMd = DNNL.md(x, dnnl_nhwc)
        dstMd = DNNL.md(outShape, dnnl_nhwc)
        let grouped = groups == 1 ? w : [groups, o / groups, w[1], kh, kw]
        userWeightsMd = DNNL.md(grouped, groups == 1 ? dnnl_oihw : dnnl_goihw)
        biasMd = DNNL.md([o], dnnl_a)
        let anyWeights = DNNL.md(grouped, dnnl_format_tag_any)
        let strides = DNNL.dims([stride, stride]), pads = DNNL.dims([padding, padding])
        let dilates = DNNL.dims([dilation - 1, dilation - 1])
        var s = srcMd, d = dstMd, aw = anyWeights
        let b = biasMd
        let what = "convolution \(x) * \(w) stride \(stride) padding \(padding) dilation \(dilation) groups \(groups)"

        let bp = UnsafeMutablePointer<dnnl_memory_desc_t>.allocate(capacity: 1)
        defer { bp.deallocate() }
        bp.initialize(to: b)
        let biasArg: UnsafeMutablePointer<dnnl_memory_desc_t>? = bias ? bp : nil
        var fd = dnnl_convolution_desc_t()
        DNNL.check(dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                                              &s, &aw, biasArg, &d, strides, dilates, pads, pads),
                   "describing the forward \(what)")
        fwd = withUnsafePointer(to: &fd) { DNNLPrimitive(opDesc: $0, what: "forward \(what)") }

        var bd = dnnl_convolution_desc_t()
        DNNL.check(dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &s, &aw, &d,
                                                                    strides, dilates, pads, pads),
                   "describing the backward-data \(what)")
        let fwdPd = fwd.pd
        bwdData = withUnsafePointer(to: &bd) { DNNLPrimitive(opDesc: $0, hint: fwdPd, what: "backward-data \(what)") }

        var wdsc = dnnl_convolution_desc_t()
        DNNL.check(dnnl_dilated_convolution_backward_weights_desc_init(&wdsc, dnnl_convolution_direct, &s, &aw,
                                                                       biasArg, &d, strides, dilates, pads, pads),
                   "describing the backward-weights \(what)")
        bwdWeights = withUnsafePointer(to: &wdsc) { DNNLPrimitive(opDesc: $0, hint: fwdPd, what: "backward-weights \(what)") }

        fwdWeightsMd = fwd.md(dnnl_query_weights_md)
        bwdDataWeightsMd = bwdData.md(dnnl_query_weights_md)
        diffWeightsMd = bwdWeights.md(dnnl_query_diff_weights_md)
        let user = userWeightsMd
        toFwdWeights = DNNL.equal(fwdWeightsMd, user) ? nil : DNNLPrimitive(reorderFrom: user, to: fwdWeightsMd)
        toBwdDataWeights = DNNL.equal(bwdDataWeightsMd, user) ? nil : DNNLPrimitive(reorderFrom: user, to: bwdDataWeightsMd)
        fromDiffWeights = DNNL.equal(diffWeightsMd, user) ? nil : DNNLPrimitive(reorderFrom: diffWeightsMd, to: user)
    }

    static func plan(input x: [Int], weight w: [Int], bias: Bool, stride: Int, padding: Int,
                     dilation: Int = 1, groups: Int = 1) -> ConvPlan {
        DNNL.cached(key(x, w, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)) {
            ConvPlan(input: x, weight: w, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
    }

    /// Weights in the layout `target` wants: the tensor's own buffer, or a reordered copy.
    private func weights(_ w: Tensor, _ reorder: DNNLPrimitive?, _ target: dnnl_memory_desc_t,
                         _ body: (UnsafeMutableRawPointer) -> Void) {
        let wp = UnsafeMutableRawPointer(w.storage.pointer)
        guard let reorder else { return body(wp) }
        let buf = DNNLBuffer(target)
        reorder.execute([(DNNL_ARG_FROM, userWeightsMd, wp), (DNNL_ARG_TO, target, buf.pointer)])
        body(buf.pointer)
    }

    /// y = conv(x, w) + b, with x channels-last; returns y channels-last.
    func forward(x: Tensor, w: Tensor, b: Tensor?) -> Tensor {
        let y = Tensor(uninitializedShape: outShape, format: .channelsLast)
        KernelStats.timeConv(flops: flops) { weights(w, toFwdWeights, fwdWeightsMd) { wp in
            var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
                (DNNL_ARG_SRC, srcMd, UnsafeMutableRawPointer(x.storage.pointer)),
                (DNNL_ARG_WEIGHTS, fwdWeightsMd, wp),
                (DNNL_ARG_DST, dstMd, UnsafeMutableRawPointer(y.storage.pointer)),
            ]
            if let b { args.append((DNNL_ARG_BIAS, biasMd, UnsafeMutableRawPointer(b.storage.pointer))) }
            fwd.execute(args)
        } }
        return y
    }

    /// ∂L/∂x from ∂L/∂y (both channels-last).
    func backwardData(gy: Tensor, w: Tensor, inputShape: [Int]) -> Tensor {
        let gx = Tensor(uninitializedShape: inputShape, format: .channelsLast)
        KernelStats.timeConv(flops: flops) { weights(w, toBwdDataWeights, bwdDataWeightsMd) { wp in
            bwdData.execute([
                (DNNL_ARG_DIFF_DST, dstMd, UnsafeMutableRawPointer(gy.storage.pointer)),
                (DNNL_ARG_WEIGHTS, bwdDataWeightsMd, wp),
                (DNNL_ARG_DIFF_SRC, srcMd, UnsafeMutableRawPointer(gx.storage.pointer)),
            ])
        } }
        return gx
    }

    /// ∂L/∂w (OIHW) and ∂L/∂b from x and ∂L/∂y (both channels-last).
    func backwardWeights(x: Tensor, gy: Tensor, weightShape: [Int]) -> (Tensor, Tensor?) {
        let gw = Tensor(uninitializedShape: weightShape)
        let gb = hasBias ? Tensor(uninitializedShape: [weightShape[0]]) : nil
        let gwp = UnsafeMutableRawPointer(gw.storage.pointer)
        let diff = fromDiffWeights == nil ? nil : DNNLBuffer(diffWeightsMd)
        var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
            (DNNL_ARG_SRC, srcMd, UnsafeMutableRawPointer(x.storage.pointer)),
            (DNNL_ARG_DIFF_DST, dstMd, UnsafeMutableRawPointer(gy.storage.pointer)),
            (DNNL_ARG_DIFF_WEIGHTS, diffWeightsMd, diff?.pointer ?? gwp),
        ]
        if let gb { args.append((DNNL_ARG_DIFF_BIAS, biasMd, UnsafeMutableRawPointer(gb.storage.pointer))) }
        KernelStats.timeConv(flops: flops) {
            bwdWeights.execute(args)
            if let diff, let r = fromDiffWeights {
                r.execute([(DNNL_ARG_FROM, diffWeightsMd, diff.pointer), (DNNL_ARG_TO, userWeightsMd, gwp)])
            }
        }
        return (gw, gb)
    }

    var implementations: String { "fwd \(fwd.implementation), bwd-data \(bwdData.implementation), bwd-weights \(bwdWeights.implementation)" }
}

/// The oneDNN implementations chosen for a convolution shape (reported by `shears bench`).
public func convolutionImplementations(input: [Int], weight: [Int], bias: Bool = false, stride: Int = 1, padding: Int = 0) -> String {
    ConvPlan.plan(input: input, weight: weight, bias: bias, stride: stride, padding: padding).implementations
}
