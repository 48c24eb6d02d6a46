import ONNXProto
import ShearsTensor

// The normalisation, pooling and shape ops of an imported graph (see GraphOps.swift for the convention).

extension GraphBuilding {
    /// BatchNormalization: scale, B, mean and var are the graph's initializers (parameters and buffers); ONNX's
    /// momentum m is PyTorch's 1 − m. Training mode follows `Context.phase`, as for the zoo's `BatchNorm`.
    func batchNormNode(_ node: Onnx_NodeProto, _ names: [String], _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 5...5)
        guard node.int("training_mode", default: 0) == 0 else {
            throw fail(node, "has training_mode = 1; export the model in eval mode (model.eval())")
        }
        let x = s[0]
        guard x.count == 2 || x.count == 4, s[1...].allSatisfy({ $0 == [x[1]] }) else {
            throw fail(node, "has input \(x) and parameters \(Array(s[1...])); expected [N, C] or [N, C, H, W] and four [C]")
        }
        for name in names[1...] where values[name] == nil {
            throw fail(node, "takes \"\(name)\" from another node; Shears imports batch norms whose scale, bias, mean "
                + "and variance are initializers")
        }
        let eps = node.float("epsilon", default: 1e-5)
        let momentum = 1 - node.float("momentum", default: 0.9)
        let run: ([Variable]) -> Variable = { v in
            batchNorm(v[0], weight: v[1], bias: v[2], runningMean: v[3], runningVar: v[4], phase: Context.phase,
                      momentum: Context.batchNormMomentum ?? momentum, eps: eps)
        }
        return (run, x)
    }

    /// MaxPool and AveragePool with square windows, floor mode; AveragePool counts the padding (PyTorch's default,
    /// exported as count_include_pad = 1), so a padded AveragePool with count_include_pad = 0 is refused.
    func poolNode(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 1...1)
        let x = s[0]
        guard x.count == 4 else { throw fail(node, "has input \(x); expected [N, C, H, W]") }
        let k = try square(node, "kernel_shape", default: nil)
        let stride = try square(node, "strides", default: 1), pad = try padding(node)
        guard node.int("ceil_mode", default: 0) == 0 else { throw fail(node, "has ceil_mode = 1; Shears pools in floor mode") }
        guard try square(node, "dilations", default: 1) == 1 else { throw fail(node, "has dilations; Shears pools without") }
        guard pad <= k / 2 else { throw fail(node, "has pads \(pad) larger than half its kernel \(k)") }
        let isMax = node.opType == "MaxPool"
        if !isMax, pad > 0, node.int("count_include_pad", default: 0) == 0 {
            throw fail(node, "has pads with count_include_pad = 0; Shears' average pool counts the padding (PyTorch's default)")
        }
        let (oh, ow) = (window(x[2], kernel: k, stride: stride, padding: pad), window(x[3], kernel: k, stride: stride, padding: pad))
        guard oh >= 1, ow >= 1 else { throw fail(node, "has kernel \(k) larger than its padded input \(x)") }
        let run: ([Variable]) -> Variable = { v in
            isMax ? maxPool2d(v[0], kernel: k, stride: stride, padding: pad) : avgPool2d(v[0], kernel: k, stride: stride, padding: pad)
        }
        return (run, [x[0], x[1], oh, ow])
    }

    /// GlobalAveragePool keeps ONNX's [N, C, 1, 1] output.
    func globalPool(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 1...1)
        guard s[0].count == 4 else { throw fail(node, "has input \(s[0]); expected [N, C, H, W]") }
        return ({ v in let c = v[0].shape[1]; return reshape(globalAvgPool2d(v[0]), [-1, c, 1, 1]) }, [s[0][0], s[0][1], 1, 1])
    }

    /// Flatten to [d0·…·d(axis−1), d(axis)·…]; axis may be negative.
    func flattenNode(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        try arity(node, s, 1...1)
        let x = s[0]
        var axis = node.int("axis", default: 1)
        if axis < 0 { axis += x.count }
        guard axis >= 0, axis <= x.count else { throw fail(node, "has axis \(node.int("axis", default: 1)) for an input of rank \(x.count)") }
        let out = [x[..<axis].reduce(1, *), x[axis...].reduce(1, *)]
        return ({ v in let t = v[0].shape; return reshape(v[0], [t[..<axis].reduce(1, *), t[axis...].reduce(1, *)]) }, out)
    }

    /// Reshape to a constant target (an initializer or Constant): 0 copies the input's dimension, −1 is inferred.
    /// The batch dimension must stay free (0 or −1), so that any batch size runs.
    func reshapeNode(_ node: Onnx_NodeProto, _ names: [String]) throws -> Compiled {
        guard names.count == 2, let target = integers[names[1]] else {
            throw fail(node, "takes its shape from a computed value; Shears imports Reshape to a constant shape "
                + "(an initializer or a Constant node; use torch.flatten rather than x.view(x.size(0), -1))")
        }
        guard node.int("allowzero", default: 0) == 0 else { throw fail(node, "has allowzero = 1; Shears reads 0 as \"copy\"") }
        let x = shapes[names[0]]!
        let t = target.map { Int($0) }
        guard let first = t.first, first == 0 || first == -1 else {
            throw fail(node, "reshapes to \(t), which fixes the batch dimension; expected 0 or -1 first")
        }
        func resolve(_ input: [Int]) -> [Int]? {
            var out = t.enumerated().map { i, d in d == 0 && i < input.count ? input[i] : d }
            let known = out.filter { $0 != -1 }.reduce(1, *)
            let total = input.reduce(1, *)
            guard out.filter({ $0 == -1 }).count <= 1, known > 0, total % known == 0, out.allSatisfy({ $0 >= -1 }) else { return nil }
            if let i = out.firstIndex(of: -1) { out[i] = total / known }
            return out.reduce(1, *) == total ? out : nil
        }
        guard let out = resolve(x) else { throw fail(node, "cannot reshape \(x) to \(t)") }
        return ({ v in reshape(v[0], resolve(v[0].shape) ?? out) }, out)
    }

    func concatNode(_ node: Onnx_NodeProto, _ s: [[Int]]) throws -> Compiled {
        guard !s.isEmpty else { throw fail(node, "has no inputs") }
        let rank = s[0].count
        var axis = node.int("axis", default: 1)
        if axis < 0 { axis += rank }
        guard axis >= 0, axis < rank else { throw fail(node, "has axis \(node.int("axis", default: 1)) for inputs of rank \(rank)") }
        for t in s where t.count != rank || t.enumerated().contains(where: { $0.offset != axis && $0.element != s[0][$0.offset] }) {
            throw fail(node, "concatenates \(s) along axis \(axis); expected equal shapes except along that axis")
        }
        var out = s[0]
        out[axis] = s.reduce(0) { $0 + $1[axis] }
        return ({ v in concat(v, axis: axis) }, out)
    }
}
