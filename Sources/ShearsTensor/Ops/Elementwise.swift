import CDNNL

/// a + b for same-shaped variables (the residual connection). The result takes `a`'s memory format.
public func add(_ a: Variable, _ b: Variable) -> Variable {
    let y = a.value + b.value
    return Variable(y, op: "add", inputs: [a, b]) { gy in [gy, gy] }
}

public func + (a: Variable, b: Variable) -> Variable { add(a, b) }

/// relu(a + b) in one pass (the end of a residual block), on oneDNN's binary add with a ReLU post-op.
/// Backward: ∂a = ∂b = ∂y ⊙ [y > 0], on oneDNN's eltwise ReLU backward from the output.
public func addReLU(_ a: Variable, _ b: Variable) -> Variable {
    checkShape(a.shape == b.shape, op: "addReLU", "lhs", a.shape, "rhs", b.shape, expected: "equal shapes")
    let av = a.value, bv = b.value.in(a.value.format)
    let y = Tensor(uninitializedShape: av.shape, format: av.format)
    DNNL.cached("addReLU|\(av.count)") { AddReLUPlan(count: av.count) }.forward(a: av, b: bv, y: y)
    let relu = EltwisePlan.plan(count: av.count, alg: dnnl_eltwise_relu_use_dst_for_bwd)
    return Variable(y, op: "addReLU", inputs: [a, b]) { gyAny in
        let gy = gyAny.in(y.format)
        let g = Tensor(uninitializedShape: y.shape, format: y.format)
        relu.backward(dst: y, diffDst: gy, diffSrc: g)
        return [g, g]
    }
}

/// oneDNN binary add + ReLU post-op over flat buffers.
final class AddReLUPlan {
    let primitive: DNNLPrimitive
    let md: dnnl_memory_desc_t

    init(count: Int) {
        md = DNNL.md([count], dnnl_a)
        var m = md
        var d = dnnl_binary_desc_t()
        DNNL.check(dnnl_binary_desc_init(&d, dnnl_binary_add, &m, &m, &m), "describing add+relu")
        let attr = eltwisePostOpAttr(dnnl_eltwise_relu)
        defer { dnnl_primitive_attr_destroy(attr) }
        primitive = withUnsafePointer(to: &d) { DNNLPrimitive(opDesc: $0, attr: attr, what: "add+relu") }
    }

    func forward(a: Tensor, b: Tensor, y: Tensor) {
        primitive.execute([(DNNL_ARG_SRC_0, md, UnsafeMutableRawPointer(a.storage.pointer)),
                           (DNNL_ARG_SRC_1, md, UnsafeMutableRawPointer(b.storage.pointer)),
                           (DNNL_ARG_DST, md, UnsafeMutableRawPointer(y.storage.pointer))])
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
