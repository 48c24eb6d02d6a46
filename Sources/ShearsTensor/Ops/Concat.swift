/// Concatenation along `axis` (`torch.cat`, ONNX `Concat`): every input has the same shape except along `axis`.
/// Works in logical row-major order (each input is `outer` blocks of `shape[axis] · inner` elements, copied
/// side by side); the result is contiguous. Backward cuts the incoming gradient back into the inputs' blocks.
public func concat(_ xs: [Variable], axis: Int) -> Variable {
    precondition(!xs.isEmpty, "concat: needs at least one input")
    let first = xs[0].shape
    precondition(axis >= 0 && axis < first.count, "concat: axis \(axis) out of range for rank \(first.count)")
    for x in xs.dropFirst() {
        var a = first, b = x.shape
        if a.count == b.count { a[axis] = 0; b[axis] = 0 }
        checkShape(a == b, op: "concat", "first input", first, "input", x.shape,
                   expected: "equal shapes except along axis \(axis)")
    }
    let outer = first[..<axis].reduce(1, *), inner = first[(axis + 1)...].reduce(1, *)
    let widths = xs.map { $0.shape[axis] * inner }
    let total = widths.reduce(0, +)
    var outShape = first
    outShape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
    let y = Tensor(uninitializedShape: outShape)
    var start = 0
    for (x, w) in zip(xs, widths) {
        let v = x.value.contiguous()
        for o in 0..<outer { (y.storage.pointer + o * total + start).update(from: v.storage.pointer + o * w, count: w) }
        start += w
    }
    let shapes = xs.map(\.shape)
    return Variable(y, op: "concat", inputs: xs) { gyAny in
        let gy = gyAny.contiguous()
        var grads: [Tensor?] = []
        var s = 0
        for (shape, w) in zip(shapes, widths) {
            let g = Tensor(uninitializedShape: shape)
            for o in 0..<outer { g.storage.pointer.advanced(by: o * w).update(from: gy.storage.pointer + o * total + s, count: w) }
            grads.append(g)
            s += w
        }
        return grads
    }
}
