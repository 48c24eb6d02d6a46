import CDNNL

// The steps of an `InferencePlan` for the ops that have no conv / linear to fuse into: a batch norm on its own,
// ReLU and residual adds on their own, pooling, flatten / reshape (InferenceSteps.swift has the protocol and the
// conv / linear steps).

/// A batch norm with no conv / linear before it to fold into: y = x · s + t per channel (then a ReLU).
final class AffineStep: InferenceStep {
    let reads: [Int], output: Int
    let norm: FoldedWeights.Normalization
    let relu: Bool
    var scale: [Float] = [], shift: [Float] = []

    init(input: Int, output: Int, norm: FoldedWeights.Normalization, relu: Bool) {
        reads = [input]; self.output = output; self.norm = norm; self.relu = relu
    }

    var placement: StepPlacement { .inPlace(reads[0]) }

    func load() {
        let g = norm.gamma.value.scalars, b = norm.beta.value.scalars
        let m = norm.mean.value.scalars, v = norm.variance.value.scalars
        scale = g.indices.map { Float(Double(g[$0]) / (Double(v[$0]) + Double(norm.eps)).squareRoot()) }
        shift = g.indices.map { b[$0] - m[$0] * scale[$0] }
    }

    func run(_ slots: inout [Tensor]) {
        let x = slots[reads[0]], y = slots[output]
        let c = x.shape[1], inner = x.rank == 4 && x.format == .contiguous ? x.shape[2] * x.shape[3] : 1
        let xp = x.storage.pointer, yp = y.storage.pointer
        // Element ((o · C + ch) · inner + i): channels innermost (NHWC, [N, C]: inner 1) or planes (NCHW: inner H·W).
        for o in 0..<(x.count / (c * inner)) {
            for ch in 0..<c {
                let (a, b, base) = (scale[ch], shift[ch], (o * c + ch) * inner)
                for i in base..<(base + inner) { yp[i] = relu ? Swift.max(xp[i] * a + b, 0) : xp[i] * a + b }
            }
        }
    }

    var summary: String { "batchNorm\(relu ? "+relu" : "")" }
}

/// relu(x), x + y and relu(x + y) on their own.
final class ElementwiseStep: InferenceStep {
    let reads: [Int], output: Int
    let op: String

    init(_ op: String, reads: [Int], output: Int) { self.op = op; self.reads = reads; self.output = output }

    var placement: StepPlacement { .inPlace(reads[0]) }
    func load() {}

    func run(_ slots: inout [Tensor]) {
        let y = slots[output]
        copyValues(slots[reads[0]], into: y)
        if reads.count > 1 { addInPlace(y, slots[reads[1]]) }
        if op != "add" { reluInPlace(y) }
    }

    var summary: String { op }
}

/// Max / average pooling on oneDNN (`forward_inference`: no workspace).
final class PoolStep: InferenceStep {
    let reads: [Int], output: Int
    let primitive: DNNLPrimitive
    let srcMd, dstMd: dnnl_memory_desc_t
    let call: DNNLBoundCall

    init(input: Int, output: Int, inputShape: [Int], outputShape: [Int], format: MemoryFormat, max: Bool,
         kernel: (Int, Int), stride: (Int, Int), padding: Int) {
        reads = [input]; self.output = output
        let tag = DNNL.tag(rank: 4, format: format)
        srcMd = DNNL.md(inputShape, tag); dstMd = DNNL.md(outputShape, tag)
        var s = srcMd, d = dstMd
        let strides = DNNL.dims([stride.0, stride.1]), kernels = DNNL.dims([kernel.0, kernel.1])
        let pads = DNNL.dims([padding, padding])
        var desc = dnnl_pooling_desc_t()
        DNNL.check(dnnl_pooling_forward_desc_init(&desc, dnnl_forward_inference, max ? dnnl_pooling_max : dnnl_pooling_avg_include_padding,
                                                  &s, &d, strides, kernels, pads, pads),
                   "describing inference pooling for \(inputShape)")
        primitive = withUnsafePointer(to: &desc) { DNNLPrimitive(opDesc: $0, what: "inference pooling \(inputShape)") }
        call = DNNLBoundCall(primitive, [(DNNL_ARG_SRC, srcMd), (DNNL_ARG_DST, dstMd)])
    }

    var placement: StepPlacement { .buffer }
    func load() {}

    func run(_ slots: inout [Tensor]) {
        call.execute([UnsafeMutableRawPointer(slots[reads[0]].storage.pointer), UnsafeMutableRawPointer(slots[output].storage.pointer)])
    }

    var summary: String { "pool" }
}

/// flatten / reshape: a view when the input's bytes are already in row-major order, a reorder otherwise.
final class ReshapeStep: InferenceStep {
    let reads: [Int], output: Int
    let shape: [Int]
    let isView: Bool

    init(input: Int, output: Int, shape: [Int], inputIsRowMajor: Bool) {
        reads = [input]; self.output = output; self.shape = shape; isView = inputIsRowMajor
    }

    var placement: StepPlacement { isView ? .view : .buffer }
    func load() {}

    func run(_ slots: inout [Tensor]) {
        let x = slots[reads[0]]
        if isView {
            slots[output] = Tensor(shape: shape, format: .contiguous, storage: x.storage)
        } else {
            // NHWC → NCHW straight into the planned buffer (flatten follows PyTorch's row-major order).
            Tensor.nhwcToNCHW(x.storage.pointer, into: slots[output].storage.pointer,
                              n: x.shape[0], c: x.shape[1], hw: x.shape[2] * x.shape[3])
        }
    }

    var summary: String { isView ? "view" : "reorder" }
}
