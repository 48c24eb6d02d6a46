/// Fully connected layer, PyTorch's `F.linear`: y = x · Wᵀ + b.
///
/// - x: [N, in], weight: [out, in], bias: [out] or nil → y: [N, out]. Products run on OpenBLAS sgemm.
/// Backward: ∂x = ∂y · W, ∂W = ∂yᵀ · x, ∂b = Σ_rows ∂y.
/// With grad mode off and a sparse `weight.inferenceForm` attached, the product runs on the sparse kernel
/// instead (Kernels/SparseKernels.swift); nothing is taped then, so there is no backward to provide. With a
/// `weight.trainingForm` attached, forward and backward run on the sparse training kernels
/// (Kernels/SparseTrainingKernels.swift), the weight gradient formed at the kept entries only.
public func linear(_ x: Variable, weight: Variable, bias: Variable? = nil) -> Variable {
    let xs = x.shape, ws = weight.shape
    checkShape(xs.count == 2 && ws.count == 2 && xs[1] == ws[1], op: "linear", "input", xs, "weight", ws,
               expected: "input [N, in] and weight [out, in] with the same in")
    if let bias {
        checkShape(bias.shape == [ws[0]], op: "linear", "bias", bias.shape, "weight", ws, expected: "bias [out]")
    }
    WeightUseRecorder.note("linear", x, weight, bias)
    if !GradMode.isEnabled, let form = weight.inferenceForm {   // no tape: the prepared sparse form may run
        return Variable(sparseLinear(x.value, weight: form, bias: bias?.value), op: "linear (sparse)", inputs: []) { _ in [] }
    }
    if let form = weight.trainingForm {   // fixed-structure sparse weight: sparse forward and backward
        return sparseTrainingLinear(x, weight: weight, bias: bias, form: form)
    }
    let (n, inF, outF) = (xs[0], xs[1], ws[0])
    let xv = x.value, wv = weight.value
    let y = Tensor(uninitializedShape: [n, outF])
    if let b = bias?.value {   // start from the broadcast bias, then accumulate the product onto it
        for i in 0..<n { (y.storage.pointer + i * outF).update(from: b.storage.pointer, count: outF) }
    }
    sgemm(transA: false, transB: true, m: n, n: outF, k: inF, a: xv.storage.pointer, b: wv.storage.pointer,
          beta: bias == nil ? 0 : 1, c: y.storage.pointer)

    let needX = x.requiresGrad
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Variable(y, op: "linear", inputs: inputs) { gy in
        var gx: Tensor?
        if needX {
            let t = Tensor(uninitializedShape: xs)
            sgemm(transA: false, transB: false, m: n, n: inF, k: outF, a: gy.storage.pointer, b: wv.storage.pointer, c: t.storage.pointer)
            gx = t
        }
        let gw = Tensor(uninitializedShape: ws)
        sgemm(transA: true, transB: false, m: outF, n: inF, k: n, a: gy.storage.pointer, b: xv.storage.pointer, c: gw.storage.pointer)
        return bias == nil ? [gx, gw] : [gx, gw, gy.sumRows()]
    }
}

/// Matrix product of two variables, [m, k] · [k, n] → [m, n] (used by analysis code and tests).
public func matmul(_ a: Variable, _ b: Variable) -> Variable {
    let as_ = a.shape, bs = b.shape
    checkShape(as_.count == 2 && bs.count == 2 && as_[1] == bs[0], op: "matmul", "lhs", as_, "rhs", bs,
               expected: "[m, k] · [k, n]")
    let (m, k, n) = (as_[0], as_[1], bs[1])
    let av = a.value, bv = b.value
    let y = Tensor(uninitializedShape: [m, n])
    sgemm(transA: false, transB: false, m: m, n: n, k: k, a: av.storage.pointer, b: bv.storage.pointer, c: y.storage.pointer)
    return Variable(y, op: "matmul", inputs: [a, b]) { gy in
        let ga = Tensor(uninitializedShape: as_), gb = Tensor(uninitializedShape: bs)
        sgemm(transA: false, transB: true, m: m, n: k, k: n, a: gy.storage.pointer, b: bv.storage.pointer, c: ga.storage.pointer)
        sgemm(transA: true, transB: false, m: k, n: n, k: m, a: av.storage.pointer, b: gy.storage.pointer, c: gb.storage.pointer)
        return [ga, gb]
    }
}
