import ONNXProto
import ShearsTensor

// Each ONNX op of `GraphModel.supportedOps`: its attributes read and checked, its output shape inferred, and the
// Shears op it runs. A node with an attribute Shears cannot honour (asymmetric pads, ceil_mode, transA) is
// refused here with the attribute named, rather than run differently from ONNX Runtime.

typealias Compiled = (([Variable]) -> Variable, [Int])

extension GraphBuilding {
    /// A square 2-D window attribute (`strides`, `dilations`, `kernel_shape`), `d` when absent.
    func square(_ node: Onnx_NodeProto, _ name: String, default d: Int?) throws -> Int {
        guard let v = node.ints(name) else {
            guard let d else { throw fail(node, "has no \(name) attribute") }
            return d
        }
        guard v.count == 2, v[0] == v[1], v[0] >= 1 else {
            throw fail(node, "has \(name) \(v); Shears imports 2-D windows with equal values along both axes")
        }
        return v[0]
    }

    /// Symmetric, equal `pads` [p, p, p, p], and no `auto_pad` other than NOTSET.
    func padding(_ node: Onnx_NodeProto) throws -> Int {
        if let a = node.attribute("auto_pad"), let s = String(data: a.s, encoding: .utf8), s != "NOTSET", !s.isEmpty {
            throw fail(node, "has auto_pad \(s); Shears imports explicit pads (auto_pad NOTSET) only")
        }
        guard let p = node.ints("pads") else { return 0 }
        guard p.count == 4, Set(p).count == 1, p[0] >= 0 else {
            throw fail(node, "has pads \(p); Shears imports equal pads on all four sides")
        }
        return p[0]
    }

    func window(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) -> Int {
        (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    func conv(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 2...3)
        let (x, w) = (s[0], s[1])
        let groups = node.int("group", default: 1)
        guard x.count == 4, w.count == 4, groups >= 1, x[1] == w[1] * groups, w[0] % groups == 0 else {
            throw fail(node, "has input \(x), weight \(w) and group \(groups); expected [N, C, H, W] and [O, C / group, KH, KW]")
        }
        guard s.count == 2 || s[2] == [w[0]] else { throw fail(node, "has bias \(s[2]); expected [\(w[0])]") }
        let stride = try square(node, "strides", default: 1), dilation = try square(node, "dilations", default: 1)
        let pad = try padding(node)
        if let k = node.ints("kernel_shape"), k != [w[2], w[3]] {
            throw fail(node, "has kernel_shape \(k) but its weight is \(w)")
        }
        let (oh, ow) = (window(x[2], kernel: w[2], stride: stride, padding: pad, dilation: dilation),
                        window(x[3], kernel: w[3], stride: stride, padding: pad, dilation: dilation))
        guard oh >= 1, ow >= 1 else { throw fail(node, "has a kernel larger than its padded input \(x)") }
        let run: ([Variable]) -> Variable = { v in
            conv2d(v[0], weight: v[1], bias: v.count > 2 ? v[2] : nil, stride: stride, padding: pad, dilation: dilation, groups: groups)
        }
        return (run, [x[0], w[0], oh, ow])
    }

    /// Y = α·A·op(B) + β·C. PyTorch's `nn.Linear` (transB = 1, α = β = 1, C = [N]) runs as one `linear`.
    func gemm(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 2...3)
        guard node.int("transA", default: 0) == 0 else { throw fail(node, "has transA = 1; Shears imports Gemm with transA = 0") }
        let transB = node.int("transB", default: 0) == 1
        let alpha = node.float("alpha", default: 1), beta = node.float("beta", default: 1)
        let (a, b) = (s[0], s[1])
        guard a.count == 2, b.count == 2, a[1] == (transB ? b[1] : b[0]) else {
            throw fail(node, "has A \(a) and B \(b) (transB \(transB ? 1 : 0)); expected [M, K] and \(transB ? "[N, K]" : "[K, N]")")
        }
        let out = [a[0], transB ? b[0] : b[1]]
        if s.count == 3 {
            guard broadcastShape(out, s[2]) == out else { throw fail(node, "has C \(s[2]), which does not broadcast to \(out)") }
        }
        if transB, alpha == 1, beta == 1, s.count == 2 || s[2] == [out[1]] {
            return ({ v in linear(v[0], weight: v[1], bias: v.count > 2 ? v[2] : nil) }, out)
        }
        let run: ([Variable]) -> Variable = { v in
            var y = transB ? linear(v[0], weight: v[1]) : matmul(v[0], v[1])
            if alpha != 1 { y = scale(y, by: alpha) }
            guard v.count > 2 else { return y }
            return broadcastAdd(y, beta == 1 ? v[2] : scale(v[2], by: beta))
        }
        return (run, out)
    }

    func matmulNode(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 2...2)
        guard s[0].count == 2, s[1].count == 2, s[0][1] == s[1][0] else {
            throw fail(node, "multiplies \(s[0]) by \(s[1]); Shears imports MatMul of matrices [M, K] · [K, N]")
        }
        return ({ v in matmul(v[0], v[1]) }, [s[0][0], s[1][1]])
    }

    func binary(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 2...2)
        guard let out = broadcastShape(s[0], s[1]) else { throw fail(node, "has operands \(s[0]) and \(s[1]), which do not broadcast") }
        let isAdd = node.opType == "Add"
        if s[0] == s[1] { return ({ v in isAdd ? add(v[0], v[1]) : mul(v[0], v[1]) }, out) }
        return ({ v in isAdd ? broadcastAdd(v[0], v[1]) : broadcastMul(v[0], v[1]) }, out)
    }

    func unary(_ node: Onnx_NodeProto, _ s: [[Int]], _ f: @escaping (Variable) -> Variable) throws -> Compiled {
        try arity(node, s, 1...1)
        return ({ v in f(v[0]) }, s[0])
    }

    /// Identity, and Dropout as the inference graph has it (the ratio and training_mode inputs are ignored).
    func identity(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 1...(node.opType == "Dropout" ? 3 : 1))
        return ({ v in v[0] }, s[0])
    }
}
