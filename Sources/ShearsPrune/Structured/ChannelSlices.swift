import ShearsTensor

/// Channel c of a member owns the entries whose index along `axis`, divided by `block`, is c. These helpers read
/// and cut a tensor (logical row-major order) along that axis.
enum ChannelSlices {
    /// (outer, axis length, inner) of a shape around `axis`.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// For every channel, `reduce` over the channel's entries (called once per entry, in order).
    static func perChannel(_ t: Tensor, axis: Int, block: Int, channels: Int,
                           _ reduce: (inout Double, Float, Int) -> Void) -> [Double] {
        let v = t.contiguous().scalars
        let (outer, length, inner) = split(t.shape, axis: axis)
        var acc = [Double](repeating: 0, count: channels)
        for o in 0..<outer {
            for a in 0..<length {
                let c = a / block, base = (o * length + a) * inner
                for i in 0..<inner { reduce(&acc[c], v[base + i], base + i) }
            }
        }
        return acc
    }

    /// `t` with only the channels in `keep` (ascending) along `axis`.
    static func gather(_ t: Tensor, axis: Int, block: Int, keep: [Int]) -> Tensor {
        let v = t.contiguous().scalars
        let (outer, length, inner) = split(t.shape, axis: axis)
        let rows = keep.flatMap { c in (c * block)..<((c + 1) * block) }
        var out: [Float] = []
        out.reserveCapacity(outer * rows.count * inner)
        for o in 0..<outer {
            for a in rows { out += v[((o * length + a) * inner)..<((o * length + a + 1) * inner)] }
        }
        _ = length
        var shape = t.shape
        shape[axis] = rows.count
        return Tensor(shape: shape, scalars: out)
    }

    /// `base` with its channels in `keep` (ascending) along `axis` replaced by `values` (`gather`'s inverse: `values` is
    /// `base` gathered to `keep`, in shape).
    static func scatter(into base: Tensor, _ values: Tensor, axis: Int, block: Int, keep: [Int]) -> Tensor {
        var out = base.contiguous().scalars
        let v = values.contiguous().scalars
        let (outer, length, inner) = split(base.shape, axis: axis)
        let rows = keep.flatMap { c in (c * block)..<((c + 1) * block) }
        precondition(v.count == outer * rows.count * inner, "ChannelSlices.scatter: \(values.shape) does not fit \(base.shape) at \(keep.count) channels")
        for o in 0..<outer {
            for (j, a) in rows.enumerated() {
                let to = (o * length + a) * inner, from = (o * rows.count + j) * inner
                for i in 0..<inner { out[to + i] = v[from + i] }
            }
        }
        return Tensor(shape: base.shape, scalars: out)
    }

    /// A 0/1 tensor shaped like `shape`: 0 on the channels not in `keep` along `axis`, 1 elsewhere.
    static func keepMask(_ shape: [Int], axis: Int, block: Int, keep: Set<Int>) -> Tensor {
        let (outer, length, inner) = split(shape, axis: axis)
        var out = [Float](repeating: 1, count: outer * length * inner)
        for o in 0..<outer {
            for a in 0..<length where !keep.contains(a / block) {
                for i in 0..<inner { out[(o * length + a) * inner + i] = 0 }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}
