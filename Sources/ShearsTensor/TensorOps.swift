import Foundation

// Non-differentiable tensor arithmetic: elementwise ops, reductions, comparisons. The differentiable versions
// live in Ops/ and record themselves on the tape; these are what optimizers, metrics and kernels use.

extension Tensor {
    /// Applies `f` elementwise into a new tensor with this tensor's shape and format.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        var out = Tensor(uninitializedShape: shape, format: format)
        let s = storage.pointer, d = out.storage.pointer
        for i in 0..<count { d[i] = f(s[i]) }
        return out
    }

    /// Combines two same-shaped tensors elementwise; `rhs` is brought to `self`'s memory format first.
    @inlinable
    public func zipMap(_ rhs: Tensor, op: String, _ f: (Float, Float) -> Float) -> Tensor {
        checkShape(shape == rhs.shape, op: op, "lhs", shape, "rhs", rhs.shape, expected: "equal shapes")
        let r = rhs.in(format)
        var out = Tensor(uninitializedShape: shape, format: format)
        let a = storage.pointer, b = r.storage.pointer, d = out.storage.pointer
        for i in 0..<count { d[i] = f(a[i], b[i]) }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, op: "add") { $0 + $1 } }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, op: "sub") { $0 - $1 } }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, op: "mul") { $0 * $1 } }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.zipMap(b, op: "div") { $0 / $1 } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// `self += alpha * x` in place (the BLAS axpy every optimizer is made of).
    public mutating func addScaled(_ x: Tensor, alpha: Float) {
        checkShape(shape == x.shape, op: "addScaled", "self", shape, "x", x.shape, expected: "equal shapes")
        let xs = x.in(format)
        ensureUnique()
        let d = storage.pointer, s = xs.storage.pointer
        for i in 0..<count { d[i] += alpha * s[i] }
    }

    /// `self *= s` in place.
    public mutating func scale(by s: Float) {
        ensureUnique()
        let d = storage.pointer
        for i in 0..<count { d[i] *= s }
    }

    // MARK: reductions

    /// Sum of all elements, accumulated in Double so that large tensors do not lose digits.
    public func sum() -> Float {
        var acc = 0.0
        let p = storage.pointer
        for i in 0..<count { acc += Double(p[i]) }
        return Float(acc)
    }

    public func mean() -> Float { count == 0 ? .nan : Float(Double(sum()) / Double(count)) }

    /// Sum over dimension 0 of a rank-2 tensor: [N, F] → [F].
    public func sumRows() -> Tensor {
        precondition(rank == 2, "sumRows: needs a rank-2 tensor, got shape \(shape)")
        let (n, f) = (shape[0], shape[1])
        var out = Tensor(shape: [f], repeating: 0)
        let s = storage.pointer, d = out.storage.pointer
        for i in 0..<n { for j in 0..<f { d[j] += s[i * f + j] } }
        return out
    }

    public func max() -> Float { withUnsafeBufferPointer { $0.max() ?? -.infinity } }
    public func min() -> Float { withUnsafeBufferPointer { $0.min() ?? .infinity } }

    /// Euclidean norm, accumulated in Double.
    public func norm() -> Float {
        var acc = 0.0
        let p = storage.pointer
        for i in 0..<count { acc += Double(p[i]) * Double(p[i]) }
        return Float(acc.squareRoot())
    }

    /// Dot product of two same-shaped tensors, accumulated in Double.
    public func dot(_ other: Tensor) -> Double {
        checkShape(shape == other.shape, op: "dot", "lhs", shape, "rhs", other.shape, expected: "equal shapes")
        let o = other.in(format)
        var acc = 0.0
        let a = storage.pointer, b = o.storage.pointer
        for i in 0..<count { acc += Double(a[i]) * Double(b[i]) }
        return acc
    }

    /// Index of the largest entry of each row of a [N, K] tensor (first index on ties, as PyTorch).
    public func argmax() -> [Int] {
        precondition(rank == 2, "argmax: needs a rank-2 [N, K] tensor, got shape \(shape)")
        let (n, k) = (shape[0], shape[1])
        let p = storage.pointer
        return (0..<n).map { i in
            var best = 0
            for j in 1..<Swift.max(k, 1) where p[i * k + j] > p[i * k + best] { best = j }
            return best
        }
    }

    /// Number of positions where `self == other` elementwise.
    public func countEqual(_ other: Tensor) -> Int {
        checkShape(shape == other.shape, op: "countEqual", "lhs", shape, "rhs", other.shape, expected: "equal shapes")
        let o = other.in(format)
        var n = 0
        for i in 0..<count where storage.pointer[i] == o.storage.pointer[i] { n += 1 }
        return n
    }

    /// True when every element is finite (no NaN or ±inf).
    public var isFinite: Bool { withUnsafeBufferPointer { $0.allSatisfy { $0.isFinite } } }

    /// Largest |a − b| over two same-shaped tensors.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        checkShape(shape == other.shape, op: "maxAbsDifference", "lhs", shape, "rhs", other.shape, expected: "equal shapes")
        let o = other.in(format)
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(storage.pointer[i] - o.storage.pointer[i])) }
        return m
    }
}

/// Classification accuracy helper: the fraction of rows of `logits` whose argmax equals `labels`.
public func accuracy(logits: Tensor, labels: [Int32]) -> Double {
    let pred = logits.argmax()
    precondition(pred.count == labels.count, "accuracy: \(pred.count) predictions for \(labels.count) labels")
    guard !labels.isEmpty else { return .nan }
    return Double(zip(pred, labels).filter { $0.0 == Int($0.1) }.count) / Double(labels.count)
}
