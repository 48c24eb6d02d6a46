import ShearsNN
import ShearsTensor

/// How each traced op moves channel spaces (see `dependencyGroups`).
extension ChannelFlow {
    static let passThrough: Set<String> = ["relu", "maxPool2d", "avgPool2d", "globalAvgPool2d", "dropout", "scale"]
    static let merging: Set<String> = ["add", "addReLU", "sub", "mul"]

    mutating func visit(_ op: TracedOp) throws {
        let out = ObjectIdentifier(op.output)
        switch op.op {
        case "conv2d", "linear": activations[out] = weightLayer(op)
        case "batchNorm", "batchNormReLU": activations[out] = normalization(op)
        case "flatten", "reshape": activations[out] = reshaped(op)
        case let name where Self.passThrough.contains(name): activations[out] = space(of: op.inputs[0])
        case let name where Self.merging.contains(name): activations[out] = merged(op)
        case let name where name.hasSuffix("(sparse)"):
            throw StructuredPruningError("dependency groups: \(name) ran without recording its inputs; release the sparse "
                                         + "inference forms (SparseInference.release) before tracing")
        default:
            for v in op.inputs where names[ObjectIdentifier(v)] == nil { fix(space(of: v).space, "it passes through \(op.op)") }
            activations[out] = (newSpace(channels: op.output.shape.count > 1 ? op.output.shape[1] : 1,
                                         fixed: "it comes out of \(op.op)"), 1)
        }
    }

    /// conv2d / linear: [x, weight, bias?]. The input space gains a consumer; the output is a new space.
    mutating func weightLayer(_ op: TracedOp) -> (space: Int, block: Int) {
        let input = space(of: op.inputs[0])
        guard let weight = names[ObjectIdentifier(op.inputs[1])] else {
            fix(input.space, "\(op.op) uses a weight that is not a model parameter")
            return (newSpace(channels: op.output.shape[1], fixed: "\(op.op) has an unnamed weight"), 1)
        }
        add(GroupMember(name: weight, axis: 1, block: input.block, role: .consumer), to: input.space)
        let s = newSpace(channels: op.output.shape[1])
        add(GroupMember(name: weight, axis: 0, role: .producer), to: s)
        if op.inputs.count > 2, let bias = names[ObjectIdentifier(op.inputs[2])] {
            add(GroupMember(name: bias, axis: 0, role: .producer), to: s)
        }
        return (s, 1)
    }

    /// batchNorm: [x, γ, β]; its running statistics share γ's prefix.
    mutating func normalization(_ op: TracedOp) -> (space: Int, block: Int) {
        let input = space(of: op.inputs[0])
        guard input.block == 1, let gamma = names[ObjectIdentifier(op.inputs[1])],
              let beta = names[ObjectIdentifier(op.inputs[2])] else {
            fix(input.space, "a batch norm normalises features, not channels, or has unnamed parameters")
            return input
        }
        add(GroupMember(name: gamma, axis: 0, role: .normalization), to: input.space)
        add(GroupMember(name: beta, axis: 0, role: .normalization), to: input.space)
        let prefix = gamma.hasSuffix(".weight") ? String(gamma.dropLast("weight".count)) : gamma + "."
        for buffer in ["running_mean", "running_var"] where buffers.contains(prefix + buffer) {
            add(GroupMember(name: prefix + buffer, axis: 0, role: .normalization), to: input.space)
        }
        return input
    }

    /// A flatten of [N, C, H, W] to [N, C·H·W] keeps the space in blocks of H·W; a reshape keeping the shape is
    /// the identity; any other reshape fixes the space.
    mutating func reshaped(_ op: TracedOp) -> (space: Int, block: Int) {
        let input = space(of: op.inputs[0])
        let (s, t) = (op.inputs[0].shape, op.output.shape)
        if s == t { return input }
        if s.count == 4, t == [s[0], s[1] * s[2] * s[3]] { return (input.space, input.block * s[2] * s[3]) }
        fix(input.space, "it is reshaped \(s) → \(t)")
        return (newSpace(channels: t.count > 1 ? t[1] : 1, fixed: "it comes out of a reshape"), 1)
    }

    /// add / addReLU / sub / mul of two activations: their channels are one space.
    mutating func merged(_ op: TracedOp) -> (space: Int, block: Int) {
        let a = space(of: op.inputs[0]), b = space(of: op.inputs[1])
        guard a.block == b.block, op.inputs[0].shape == op.inputs[1].shape else {
            fix(a.space, "\(op.op) combines it with differently shaped channels")
            fix(b.space, "\(op.op) combines it with differently shaped channels")
            return (newSpace(channels: op.output.shape[1], fixed: "it comes out of a broadcasting \(op.op)"), 1)
        }
        return (union(a.space, b.space), a.block)
    }

    /// One group per union of spaces that has a producer, in the order the producers ran.
    mutating func groups() -> [DependencyGroup] {
        var out: [DependencyGroup] = []
        var seen = Set<Int>()
        for s in spaces.indices {
            let r = root(s)
            guard seen.insert(r).inserted else { continue }
            let space = spaces[r]
            guard let first = space.members.first(where: { $0.role == .producer && $0.isWeight }) else { continue }
            out.append(DependencyGroup(name: first.layer, channels: space.channels, members: space.members,
                                       fixedBecause: space.fixedBecause))
        }
        return out
    }
}
