/// Elementwise binary ops with NumPy / ONNX broadcasting (ONNX `Add`, `Mul` on operands of different shapes:
/// a per-channel [C, 1, 1] constant, a scalar). Shapes are aligned from the right; a dimension of size 1 (or a
/// missing one) stretches. Backward sums the incoming gradient over the stretched dimensions. Works in logical
/// row-major order; the result is contiguous. Same-shaped operands should use `add` / `mul`, which keep memory
/// formats and run without index arithmetic.

/// The broadcast shape of `a` and `b`, or nil when a pair of dimensions differs with neither being 1.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a, pb = Array(repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in zip(pa, pb) {
        guard x == y || x == 1 || y == 1 else { return nil }
        out.append(x == 1 ? y : x)
    }
    return out
}

/// a + b with broadcasting.
public func broadcastAdd(_ a: Variable, _ b: Variable) -> Variable {
    broadcastBinary(a, b, op: "broadcastAdd", { $0 + $1 }, da: { g, _, _ in g }, db: { g, _, _ in g })
}

/// a ⊙ b with broadcasting.
public func broadcastMul(_ a: Variable, _ b: Variable) -> Variable {
    broadcastBinary(a, b, op: "broadcastMul", { $0 * $1 }, da: { g, _, y in g * y }, db: { g, x, _ in g * x })
}

/// For every output element (row-major), the offsets of its `a` and `b` elements.
private func broadcastOffsets(_ a: [Int], _ b: [Int], _ out: [Int]) -> (ia: [Int], ib: [Int]) {
    let rank = out.count
    func strides(_ s: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: rank - s.count) + s
        var st = Array(repeating: 0, count: rank), acc = 1
        for d in stride(from: rank - 1, through: 0, by: -1) {
            st[d] = padded[d] == 1 ? 0 : acc
            acc *= padded[d]
        }
        return st
    }
    let sa = strides(a), sb = strides(b)
    let n = out.reduce(1, *)
    var ia = [Int](repeating: 0, count: n), ib = [Int](repeating: 0, count: n)
    var index = [Int](repeating: 0, count: rank)
    var oa = 0, ob = 0
    for i in 0..<n {
        ia[i] = oa; ib[i] = ob
        var d = rank - 1
        while d >= 0 {   // odometer step: advance the last dimension, carry into the previous ones
            index[d] += 1; oa += sa[d]; ob += sb[d]
            if index[d] < out[d] { break }
            oa -= sa[d] * index[d]; ob -= sb[d] * index[d]; index[d] = 0
            d -= 1
        }
    }
    return (ia, ib)
}

private func broadcastBinary(_ a: Variable, _ b: Variable, op: String, _ f: (Float, Float) -> Float,
                             da: @escaping (Float, Float, Float) -> Float,
                             db: @escaping (Float, Float, Float) -> Float) -> Variable {
    let as_ = a.shape, bs = b.shape
    guard let out = broadcastShape(as_, bs) else {
        preconditionFailure(shapeMismatchMessage(op: op, "lhs", as_, "rhs", bs,
                                                 expected: "shapes that broadcast (each dimension equal, or 1 in one of them)"))
    }
    let av = a.value.contiguous().scalars, bv = b.value.contiguous().scalars
    let (ia, ib) = broadcastOffsets(as_, bs, out)
    var y = [Float](repeating: 0, count: ia.count)
    for i in 0..<y.count { y[i] = f(av[ia[i]], bv[ib[i]]) }
    return Variable(Tensor(shape: out, scalars: y), op: op, inputs: [a, b]) { gyAny in
        let gy = gyAny.contiguous().scalars
        var ga = [Float](repeating: 0, count: av.count), gb = [Float](repeating: 0, count: bv.count)
        for i in 0..<gy.count {
            let x = av[ia[i]], z = bv[ib[i]]
            ga[ia[i]] += da(gy[i], x, z)
            gb[ib[i]] += db(gy[i], x, z)
        }
        return [Tensor(shape: as_, scalars: ga), Tensor(shape: bs, scalars: gb)]
    }
}
