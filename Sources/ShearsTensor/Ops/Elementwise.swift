/// a + b for same-shaped variables (the residual connection). The result takes `a`'s memory format.
public func add(_ a: Variable, _ b: Variable) -> Variable {
    let y = a.value + b.value
    return Variable(y, op: "add", inputs: [a, b]) { gy in [gy, gy] }
}

public func + (a: Variable, b: Variable) -> Variable { add(a, b) }

/// relu(a + b) in one pass (the end of a residual block). Backward: ∂a = ∂b = ∂y ⊙ [y > 0].
public func addReLU(_ a: Variable, _ b: Variable) -> Variable {
    checkShape(a.shape == b.shape, op: "addReLU", "lhs", a.shape, "rhs", b.shape, expected: "equal shapes")
    let av = a.value, bv = b.value.in(a.value.format)
    let y = Tensor(uninitializedShape: av.shape, format: av.format)
    let n = av.count
    let pa = av.storage.pointer, pb = bv.storage.pointer, py = y.storage.pointer
    for i in 0..<n { py[i] = Swift.max(pa[i] + pb[i], 0) }
    return Variable(y, op: "addReLU", inputs: [a, b]) { gyAny in
        let gy = gyAny.in(y.format)
        let g = Tensor(uninitializedShape: y.shape, format: y.format)
        let pg = g.storage.pointer, pgy = gy.storage.pointer
        for i in 0..<n { pg[i] = py[i] > 0 ? pgy[i] : 0 }
        return [g, g]
    }
}

/// a − b for same-shaped variables.
public func sub(_ a: Variable, _ b: Variable) -> Variable {
    let y = a.value - b.value
    return Variable(y, op: "sub", inputs: [a, b]) { gy in [gy, -gy] }
}

/// a ⊙ b for same-shaped variables.
public func mul(_ a: Variable, _ b: Variable) -> Variable {
    let av = a.value, bv = b.value
    return Variable(av * bv, op: "mul", inputs: [a, b]) { gy in [gy * bv, gy * av] }
}

/// x ⊙ c for a constant tensor c (a pruning mask): ∂x = ∂y ⊙ c; c receives no gradient.
public func multiply(_ x: Variable, constant c: Tensor) -> Variable {
    checkShape(x.shape == c.shape, op: "multiply(constant:)", "input", x.shape, "constant", c.shape, expected: "equal shapes")
    let cv = c.in(x.value.format)
    return Variable(x.value * cv, op: "multiplyConstant", inputs: [x]) { gy in [gy * cv] }
}

/// s · x for a scalar s.
public func scale(_ x: Variable, by s: Float) -> Variable {
    Variable(x.value * s, op: "scale", inputs: [x]) { gy in [gy * s] }
}

/// Reshape (row-major, as `torch.reshape`); −1 infers one dimension.
public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
    let xs = x.shape
    return Variable(x.value.reshaped(shape), op: "reshape", inputs: [x]) { gy in [gy.reshaped(xs)] }
}

/// Flattens all dimensions from `startDim` on (`torch.flatten(x, start_dim)`).
public func flatten(_ x: Variable, startDim: Int = 1) -> Variable {
    let xs = x.shape
    return Variable(x.value.flattened(startDim: startDim), op: "flatten", inputs: [x]) { gy in [gy.reshaped(xs)] }
}

/// Sum of all elements, a scalar.
public func sum(_ x: Variable) -> Variable {
    let xs = x.shape, f = x.value.format
    return Variable(Tensor(x.value.sum()), op: "sum", inputs: [x]) { gy in
        var g = Tensor(shape: xs, repeating: gy.scalar)
        if xs.count == 4 && f == .channelsLast { g = g.channelsLast() }
        return [g]
    }
}

/// Mean of all elements, a scalar.
public func mean(_ x: Variable) -> Variable { scale(sum(x), by: 1 / Float(max(x.value.count, 1))) }
