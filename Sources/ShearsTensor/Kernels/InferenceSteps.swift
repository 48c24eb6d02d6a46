import CDNNL

/// The steps an `InferencePlan` runs: each reads value slots and writes one, into a buffer the plan assigned
/// once (no allocation per call, except the sparse kernels' own outputs).
protocol InferenceStep: AnyObject {
    /// The slots this step reads.
    var reads: [Int] { get }
    var output: Int { get }
    /// How the plan may place the output: in a buffer of its own, over the storage of the read slot `inPlace`
    /// when that slot dies here, as a view of its input, or in a tensor the step makes at every call.
    var placement: StepPlacement { get }
    /// (Re)computes what the step derives from weights (folded batch norm, reordered layouts, sparse forms).
    func load()
    func run(_ slots: inout [Tensor])
    var summary: String { get }
}

enum StepPlacement { case buffer, inPlace(Int), view, dynamic }

/// What a fused step applies to its result, in the order the plain forward did: a ReLU, or adding slot n.
enum PostOp: Equatable { case relu, sum(Int) }

/// The weight and bias of a conv / linear step, with the batch norm that followed it folded in.
struct FoldedWeights {
    struct Normalization { let gamma, beta, mean, variance: Variable; let eps: Float }
    let weight: Variable
    let bias: Variable?
    let norm: Normalization?

    var variables: [Variable] {
        [weight] + (bias.map { [$0] } ?? []) + (norm.map { [$0.gamma, $0.beta, $0.mean, $0.variance] } ?? [])
    }

    /// W′ = W · s and b′ = (b − μ) · s + β per output channel o, with s = γ / √(σ² + ε) and μ, σ² the running
    /// statistics: conv / linear then batch norm in inference is one conv / linear with these weights.
    func values() -> (weight: Tensor, bias: Tensor) {
        let w = weight.value.contiguous()
        let outs = w.shape[0], per = w.count / max(outs, 1)
        let folded = Tensor(uninitializedShape: w.shape), b = Tensor(shape: [outs], repeating: 0)
        let src = w.storage.pointer, dst = folded.storage.pointer, bp = b.storage.pointer
        let bias0 = bias?.value.contiguous()
        for o in 0..<outs {
            var scale = 1.0, shift = Double(bias0?.storage.pointer[o] ?? 0)
            if let n = norm {
                scale = Double(n.gamma.value.storage.pointer[o])
                    / (Double(n.variance.value.storage.pointer[o]) + Double(n.eps)).squareRoot()
                shift = (shift - Double(n.mean.value.storage.pointer[o])) * scale + Double(n.beta.value.storage.pointer[o])
            }
            for k in 0..<per { dst[o * per + k] = norm == nil ? src[o * per + k] : Float(Double(src[o * per + k]) * scale) }
            bp[o] = Float(shift)
        }
        return (folded, b)
    }
}

// MARK: elementwise helpers (plain loops: the release build vectorises them)

func reluInPlace(_ y: Tensor) {
    let p = y.storage.pointer
    for i in 0..<y.count { p[i] = Swift.max(p[i], 0) }   // branch-free: vectorises
}

/// y ← y + other (other converted to y's memory format first when they differ).
func addInPlace(_ y: Tensor, _ other: Tensor) {
    let o = other.in(y.format), p = y.storage.pointer, q = o.storage.pointer
    for i in 0..<y.count { p[i] += q[i] }
}

/// Copies `src` into `dst`'s storage in `dst`'s memory format.
func copyValues(_ src: Tensor, into dst: Tensor) {
    guard src.storage !== dst.storage else { return }
    dst.storage.pointer.update(from: src.in(dst.format).storage.pointer, count: dst.count)
}

func applyPostOps(_ post: [PostOp], to y: Tensor, _ slots: [Tensor]) {
    for p in post {
        switch p {
        case .relu: reluInPlace(y)
        case .sum(let s): addInPlace(y, slots[s])
        }
    }
}

func describe(_ post: [PostOp]) -> String {
    post.map { if case .sum = $0 { return "+add" } else { return "+relu" } }.joined()
}

/// The slot a sum post-op adds (at most one).
func sumSlots(_ post: [PostOp]) -> [Int] { post.compactMap { if case .sum(let s) = $0 { return s } else { return nil } } }

/// A step with a sum post-op writes over the added value's buffer when that value dies there.
func sumPlacement(_ post: [PostOp]) -> StepPlacement { sumSlots(post).first.map { .inPlace($0) } ?? .buffer }

/// Folded weights in the layout a primitive chose (`md`) and the folded bias, rewritten from the model by `load`.
final class PrimitiveWeights {
    let userMd, md: dnnl_memory_desc_t
    let reorder: DNNLPrimitive?
    let buffer: DNNLBuffer
    private(set) var bias = Tensor(0)
    var biasPointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bias.storage.pointer) }

    init(user: dnnl_memory_desc_t, chosen: dnnl_memory_desc_t) {
        userMd = user; md = chosen
        reorder = DNNL.equal(chosen, user) ? nil : DNNLPrimitive(reorderFrom: user, to: chosen)
        buffer = DNNLBuffer(chosen)
    }

    func load(_ source: FoldedWeights) {
        let (w, b) = source.values()
        bias = b
        let wp = UnsafeMutableRawPointer(w.storage.pointer)
        if let reorder {
            reorder.execute([(DNNL_ARG_FROM, userMd, wp), (DNNL_ARG_TO, md, buffer.pointer)])
        } else {
            buffer.pointer.copyMemory(from: wp, byteCount: w.count * MemoryLayout<Float>.stride)
        }
    }
}

// MARK: convolution

/// A convolution with its batch norm folded in and its ReLU / residual add as oneDNN post-ops, on weights
/// reordered once into the layout the kernel wants (`forward_inference`).
final class ConvStep: InferenceStep {
    let reads: [Int], output: Int
    let post: [PostOp]
    let source: FoldedWeights
    let primitive: DNNLPrimitive
    let srcMd, dstMd, biasMd: dnnl_memory_desc_t
    let weights: PrimitiveWeights
    /// A plain NCHW input (the model's own input) reordered into the layout the kernel chose: oneDNN has only its
    /// reference kernel for NCHW in and NHWC out.
    let toSource: (reorder: DNNLPrimitive, userMd: dnnl_memory_desc_t, buffer: DNNLBuffer)?
    let label: String
    let call: DNNLBoundCall

    init(input: Int, output: Int, inputShape: [Int], inputFormat: MemoryFormat, outputShape: [Int],
         source: FoldedWeights, stride: Int, padding: Int, dilation: Int, groups: Int, post: [PostOp], label: String) {
        let ws = source.weight.shape, o = ws[0]
        self.output = output; self.post = post; self.source = source; self.label = label
        reads = [input] + sumSlots(post)
        let userSrcMd = DNNL.md(inputShape, DNNL.tag(rank: 4, format: inputFormat))
        let anySource = inputFormat == .contiguous && inputShape[1] > 1
        dstMd = DNNL.md(outputShape, dnnl_nhwc)
        let grouped = groups == 1 ? ws : [groups, o / groups, ws[1], ws[2], ws[3]]
        let userWeightsMd = DNNL.md(grouped, groups == 1 ? dnnl_oihw : dnnl_goihw)
        biasMd = DNNL.md([o], dnnl_a)
        var s = anySource ? DNNL.md(inputShape, dnnl_format_tag_any) : userSrcMd
        var d = dstMd, aw = DNNL.md(grouped, dnnl_format_tag_any), b = biasMd
        let strides = DNNL.dims([stride, stride]), pads = DNNL.dims([padding, padding])
        let dilates = DNNL.dims([dilation - 1, dilation - 1])
        var desc = dnnl_convolution_desc_t()
        DNNL.check(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                              &s, &aw, &b, &d, strides, dilates, pads, pads),
                   "describing the inference convolution \(label)")
        let attr = postOpAttr(post)
        defer { dnnl_primitive_attr_destroy(attr) }
        primitive = withUnsafePointer(to: &desc) { DNNLPrimitive(opDesc: $0, attr: attr, what: "inference convolution \(label)") }
        weights = PrimitiveWeights(user: userWeightsMd, chosen: primitive.md(dnnl_query_weights_md))
        srcMd = primitive.md(dnnl_query_src_md)
        toSource = DNNL.equal(srcMd, userSrcMd) ? nil
            : (DNNLPrimitive(reorderFrom: userSrcMd, to: srcMd), userSrcMd, DNNLBuffer(srcMd))
        call = DNNLBoundCall(primitive, [(DNNL_ARG_SRC, srcMd), (DNNL_ARG_WEIGHTS, weights.md), (DNNL_ARG_BIAS, biasMd),
                                         (DNNL_ARG_DST, dstMd)])
    }

    var placement: StepPlacement { sumPlacement(post) }

    func load() { weights.load(source) }

    func run(_ slots: inout [Tensor]) {
        let y = slots[output]
        for case .sum(let s) in post { copyValues(slots[s], into: y) }   // the sum post-op adds onto dst
        var src = UnsafeMutableRawPointer(slots[reads[0]].storage.pointer)
        if let (reorder, userMd, buffer) = toSource {
            reorder.execute([(DNNL_ARG_FROM, userMd, src), (DNNL_ARG_TO, srcMd, buffer.pointer)])
            src = buffer.pointer
        }
        call.execute([src, weights.buffer.pointer, weights.biasPointer, UnsafeMutableRawPointer(y.storage.pointer)])
    }

    var summary: String { "\(label) conv \(primitive.implementation)\(source.norm == nil ? "" : "+bn")\(describe(post))" }
}

/// Primitive attributes with `post` as oneDNN post-ops (sum: dst ← conv + dst; relu: eltwise).
func postOpAttr(_ post: [PostOp]) -> dnnl_primitive_attr_t {
    var ops: dnnl_post_ops_t?
    DNNL.check(dnnl_post_ops_create(&ops), "creating post-ops")
    for p in post {
        switch p {
        case .relu: DNNL.check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0), "appending a ReLU post-op")
        case .sum: DNNL.check(dnnl_post_ops_append_sum(ops, 1), "appending a sum post-op")
        }
    }
    var attr: dnnl_primitive_attr_t?
    DNNL.check(dnnl_primitive_attr_create(&attr), "creating primitive attributes")
    DNNL.check(dnnl_primitive_attr_set_post_ops(attr, ops), "setting post-ops")
    dnnl_post_ops_destroy(ops)
    return attr!
}

/// A convolution or linear layer whose weight `SparseInference.prepare` chose sparse: the CSR kernel on the
/// folded weights, then the post-ops; its output is the kernel's own tensor.
final class SparseStep: InferenceStep {
    let reads: [Int], output: Int
    let post: [PostOp]
    let source: FoldedWeights
    let method: SparseConvMethod?
    let conv: (stride: Int, padding: Int)?
    let outputFormat: MemoryFormat
    var form: SparseWeight?
    var bias = Tensor(0)
    let label: String

    init(input: Int, output: Int, outputFormat: MemoryFormat, source: FoldedWeights, method: SparseConvMethod?,
         conv: (stride: Int, padding: Int)?, post: [PostOp], label: String) {
        self.output = output; self.outputFormat = outputFormat; self.source = source; self.method = method
        self.conv = conv; self.post = post; self.label = label
        reads = [input] + sumSlots(post)
    }

    var placement: StepPlacement { .dynamic }

    func load() {
        let (w, b) = source.values()
        form = SparseWeight(w, convMethod: method)
        bias = b
    }

    func run(_ slots: inout [Tensor]) {
        let x = slots[reads[0]]
        var y = conv.map { sparseConv2d(x, weight: form!, bias: bias, stride: $0.stride, padding: $0.padding) }
            ?? sparseLinear(x, weight: form!, bias: bias)
        y = y.in(outputFormat)
        applyPostOps(post, to: y, slots)
        slots[output] = y
    }

    var summary: String { "\(label) \(conv == nil ? "linear" : "conv") sparse\(source.norm == nil ? "" : "+bn")\(describe(post))" }
}

/// y = x · W′ᵀ + b′ on OpenBLAS, then the post-ops.
final class LinearStep: InferenceStep {
    let reads: [Int], output: Int
    let post: [PostOp]
    let source: FoldedWeights
    var weight = Tensor(0), bias = Tensor(0)
    let label: String

    init(input: Int, output: Int, source: FoldedWeights, post: [PostOp], label: String) {
        self.output = output; self.source = source; self.post = post; self.label = label
        reads = [input] + sumSlots(post)
    }

    var placement: StepPlacement { .buffer }
    func load() { (weight, bias) = source.values() }

    func run(_ slots: inout [Tensor]) {
        let x = slots[reads[0]], y = slots[output]
        let (n, k, o) = (x.shape[0], x.shape[1], weight.shape[0])
        for i in 0..<n { (y.storage.pointer + i * o).update(from: bias.storage.pointer, count: o) }
        sgemm(transA: false, transB: true, m: n, n: o, k: k, a: x.storage.pointer, b: weight.storage.pointer, beta: 1,
              c: y.storage.pointer)
        applyPostOps(post, to: y, slots)
    }

    var summary: String { "\(label) linear\(source.norm == nil ? "" : "+bn")\(describe(post))" }
}

/// y = x · W′ᵀ + b′ on oneDNN's inner product (`forward_inference`, weights reordered once, ReLU / add as
/// post-ops): the plan times it against `LinearStep` and keeps the faster.
final class InnerProductStep: InferenceStep {
    let reads: [Int], output: Int
    let post: [PostOp]
    let source: FoldedWeights
    let primitive: DNNLPrimitive
    let weights: PrimitiveWeights
    let call: DNNLBoundCall
    let label: String

    init(input: Int, output: Int, batch: Int, source: FoldedWeights, post: [PostOp], label: String) {
        self.output = output; self.source = source; self.post = post; self.label = label
        reads = [input] + sumSlots(post)
        let (o, k) = (source.weight.shape[0], source.weight.shape[1])
        var src = DNNL.md([batch, k], dnnl_nc), dst = DNNL.md([batch, o], dnnl_nc), b = DNNL.md([o], dnnl_a)
        var anyWeights = DNNL.md([o, k], dnnl_format_tag_any)
        var desc = dnnl_inner_product_desc_t()
        DNNL.check(dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference, &src, &anyWeights, &b, &dst),
                   "describing the inference inner product \(label)")
        let attr = postOpAttr(post)
        defer { dnnl_primitive_attr_destroy(attr) }
        primitive = withUnsafePointer(to: &desc) { DNNLPrimitive(opDesc: $0, attr: attr, what: "inference inner product \(label)") }
        weights = PrimitiveWeights(user: DNNL.md([o, k], dnnl_oi), chosen: primitive.md(dnnl_query_weights_md))
        call = DNNLBoundCall(primitive, [(DNNL_ARG_SRC, src), (DNNL_ARG_WEIGHTS, weights.md), (DNNL_ARG_BIAS, b), (DNNL_ARG_DST, dst)])
    }

    var placement: StepPlacement { sumPlacement(post) }

    func load() { weights.load(source) }

    func run(_ slots: inout [Tensor]) {
        let y = slots[output]
        for case .sum(let s) in post { copyValues(slots[s], into: y) }
        call.execute([UnsafeMutableRawPointer(slots[reads[0]].storage.pointer), weights.buffer.pointer, weights.biasPointer,
                      UnsafeMutableRawPointer(y.storage.pointer)])
    }

    var summary: String { "\(label) linear \(primitive.implementation)\(source.norm == nil ? "" : "+bn")\(describe(post))" }
}
