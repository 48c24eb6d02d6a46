import ShearsTensor

/// The quadratic Bézier curve with three bends in weight space that mode-connectivity studies train between two
/// minima (Garipov et al. 2018, "Loss surfaces, mode connectivity, and fast ensembling of DNNs"; the gRDA paper's §4.2,
/// spec §4a):
///
///     φ_θ(t) = (1 − t)²·w_start + 2t(1 − t)·θ + t²·w_end,   t ∈ [0, 1],
///
/// the Bernstein coefficients binom(2, k)·t^k·(1 − t)^(2−k). The ends are fixed; only the middle bend θ is trained, and
/// since φ is linear in θ, ∂L(φ(t))/∂θ = 2t(1 − t)·∂L/∂φ — what `ModeConnectivity` feeds its optimizer.
public enum QuadraticBezier {
    /// The weights of the three bends at t: ((1 − t)², 2t(1 − t), t²).
    public static func coefficients(_ t: Double) -> (start: Double, middle: Double, end: Double) {
        ((1 - t) * (1 - t), 2 * t * (1 - t), t * t)
    }

    /// φ(t) for one tensor: the three bends must have the same shape.
    public static func point(_ t: Double, start: Tensor, middle: Tensor, end: Tensor) -> Tensor {
        precondition(start.shape == middle.shape && start.shape == end.shape,
                     "QuadraticBezier: bends shaped \(start.shape), \(middle.shape), \(end.shape); expected one shape")
        let (a, b, c) = coefficients(t)
        let (fa, fb, fc) = (Float(a), Float(b), Float(c))
        let s = start.contiguous(), m = middle.contiguous(), e = end.contiguous()
        var out = Tensor(uninitializedShape: s.shape)
        out.withUnsafeMutableBufferPointer { o in
            s.withUnsafeBufferPointer { sp in m.withUnsafeBufferPointer { mp in e.withUnsafeBufferPointer { ep in
                for i in 0..<o.count { o[i] = fa * sp[i] + fb * mp[i] + fc * ep[i] }
            } } }
        }
        return out
    }

    /// The length-weighted average of values along a polyline through `points` (the curve sampled at increasing t):
    /// Σ ½(v_i + v_{i+1})·‖p_{i+1} − p_i‖ / Σ ‖p_{i+1} − p_i‖ — `eval_curve.py`'s integral summary. With all points
    /// equal (a degenerate curve) it is the plain mean.
    public static func lengthWeightedMean(values: [Double], points: [[Float]]) -> Double {
        precondition(values.count == points.count && !values.isEmpty, "lengthWeightedMean: one value per point")
        var num = 0.0, den = 0.0
        for i in 1..<values.count {
            var d2 = 0.0
            for (a, b) in zip(points[i], points[i - 1]) { let d = Double(a) - Double(b); d2 += d * d }
            let dl = d2.squareRoot()
            num += 0.5 * (values[i] + values[i - 1]) * dl
            den += dl
        }
        return den > 0 ? num / den : values.reduce(0, +) / Double(values.count)
    }
}

/// The plane through three points of weight space (flattened), with the orthonormal axes of Garipov et al.'s
/// `plane.py` (spec §4a): u = (w₂ − w₀)/‖w₂ − w₀‖, v = the part of w₁ − w₀ orthogonal to u, normalised. A grid point
/// (α, β) is w₀ + α·dx·u + β·dy·v with dx = ‖w₂ − w₀‖ and dy = ‖(w₁ − w₀) − ⟨w₁ − w₀, u⟩u‖, and is plotted at (α·dx, β·dy),
/// so the bends land at (0, 0), (⟨w₁ − w₀, u⟩, dy) and (dx, 0).
public struct WeightPlane {
    public let origin: [Float]
    public let u: [Double]
    public let v: [Double]
    public let dx: Double
    public let dy: Double

    /// The plane through w₀ (start), w₁ (middle) and w₂ (end). Fails when the three points are (numerically) collinear.
    public init(start w0: [Float], middle w1: [Float], end w2: [Float]) throws {
        guard w0.count == w1.count && w0.count == w2.count else {
            throw PlaneError("the three points have \(w0.count), \(w1.count) and \(w2.count) coordinates; expected one length")
        }
        var u = zip(w2, w0).map { Double($0) - Double($1) }
        let dx = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard dx > 0 else { throw PlaneError("the start and end points are equal; there is no plane through them") }
        for i in u.indices { u[i] /= dx }
        var v = zip(w1, w0).map { Double($0) - Double($1) }
        let along = zip(v, u).reduce(0) { $0 + $1.0 * $1.1 }
        for i in v.indices { v[i] -= along * u[i] }
        let dy = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard dy > 1e-9 * dx else {
            throw PlaneError("the middle point lies on the line through the ends (distance \(dy)); there is no unique plane")
        }
        for i in v.indices { v[i] /= dy }
        origin = w0; self.u = u; self.v = v; self.dx = dx; self.dy = dy
    }

    /// The point at plot coordinates (x, y) = (α·dx, β·dy): w₀ + x·u + y·v.
    public func point(x: Double, y: Double) -> [Float] {
        var p = [Float](repeating: 0, count: origin.count)
        for i in p.indices { p[i] = Float(Double(origin[i]) + x * u[i] + y * v[i]) }
        return p
    }

    /// The plot coordinates of a point's projection onto the plane: (⟨w − w₀, u⟩, ⟨w − w₀, v⟩).
    public func coordinates(of w: [Float]) -> (x: Double, y: Double) {
        precondition(w.count == origin.count, "WeightPlane.coordinates: \(w.count) coordinates, expected \(origin.count)")
        var x = 0.0, y = 0.0
        for i in w.indices {
            let d = Double(w[i]) - Double(origin[i])
            x += d * u[i]; y += d * v[i]
        }
        return (x, y)
    }

    public struct PlaneError: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = "weight plane: " + d }
    }
}
