import ShearsTensor

/// How a network trained sparse from its initialisation (random or a pruning-at-init criterion, SET, RigL) scales the
/// weights it keeps.
///
/// - `dense`: the dense initialisation, unchanged (what SNIP, GraSP, SynFlow, SET and RigL's papers do).
/// - `fanIn`: each output unit's kept weights multiplied by √(dense fan-in / its kept fan-in), so every unit's
///   pre-activation has the variance the dense initialisation was designed for. This is the sparse-aware
///   initialisation of Evci et al. 2022 ("Gradient Flow in Sparse Neural Networks and How Lottery Tickets Win",
///   §4: w ~ N(0, 2 / fan-in of the unit in the sparse net)), written as a rescaling of whatever initialisation the
///   layer has: Kaiming, Xavier and PyTorch's uniform all have a scale ∝ 1/√fan-in, so the rescaled weights follow
///   the same rule with the sparse fan-in.
///
/// Why it matters: with the dense scale, a layer kept at density d passes on about √d of its input's standard
/// deviation; seven layers at 10 % (Conv-4) shrink the output by ≈ 3·10⁻⁴ and the gradient with it, and a short
/// training never leaves chance (docs/baselines.md, the Conv-4 pilot).
public enum SparseInitialisation: String, Codable, CaseIterable, Sendable {
    case dense
    case fanIn = "fan-in"

    /// Applies the scaling to `parameters` (after the mask has zeroed the pruned weights). A unit whose weights are
    /// all pruned stays 0; parameters without a mask entry, and those of one dimension, are left alone.
    public func apply(to parameters: [(String, Variable)], mask: Mask) {
        guard self == .fanIn else { return }
        for (name, p) in parameters {
            guard let m = mask[name], p.value.shape.count >= 2 else { continue }
            let scale = SparseInitialisation.fanInScale(mask: m)
            let s = scale.in(p.value.format)
            s.withUnsafeBufferPointer { sb in
                p.value.withUnsafeMutableBufferPointer { wb in
                    for i in 0..<wb.count { wb[i] *= sb[i] }
                }
            }
        }
    }

    /// Per element of a weight of shape [out, in, kh, kw…] (PyTorch's layout for linear and conv weights): √(dense
    /// fan-in / kept fan-in of its output unit), the unit being the first index; 1 where the unit keeps nothing.
    public static func fanInScale(mask: Tensor) -> Tensor {
        let shape = mask.shape, units = shape[0], fanIn = mask.count / max(units, 1)
        let m = mask.scalars
        var out = [Float](repeating: 1, count: m.count)
        for u in 0..<units {
            let row = u * fanIn..<(u + 1) * fanIn
            let kept = m[row].reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
            guard kept > 0 else { continue }
            let factor = Float((Double(fanIn) / Double(kept)).squareRoot())
            for i in row { out[i] = factor }
        }
        return Tensor(shape: shape, scalars: out)
    }
}
