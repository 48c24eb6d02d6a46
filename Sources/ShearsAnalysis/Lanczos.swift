import Foundation
import ShearsTensor

/// The k algebraically largest eigenpairs of a symmetric linear operator, found by Lanczos.
public struct EigenPairs: Codable, Equatable, Sendable {
    /// λ₁ ≥ λ₂ ≥ … ≥ λ_k.
    public var eigenvalues: [Double]
    /// Unit-norm Ritz vectors, eigenvectors[i] belongs to eigenvalues[i].
    public var eigenvectors: [[Double]]
    /// ‖A·v_i − λ_i·v_i‖ as Lanczos estimates it (β_j·|last component of the Ritz vector in the Krylov basis|). For an
    /// exactly linear, symmetric operator and full reorthogonalisation this matches the true residual to rounding; an
    /// operator with its own noise (float32 finite-difference Hessian-vector products) is only as accurate as that
    /// noise, which this estimate does not see — measure ‖A·v − λ·v‖ directly for that.
    public var residuals: [Double]
    /// Lanczos steps taken (operator applications).
    public var iterations: Int
    /// Whether every residual met the tolerance.
    public var converged: Bool
}

/// Lanczos with full reorthogonalisation for the top-k eigenpairs of a symmetric operator `apply` on ℝⁿ.
///
/// Starting from a random unit vector q₁ (drawn from `Generator(seed:)`), step j computes
///
///     w = A·q_j,   α_j = q_jᵀw,   w ← w − α_j·q_j − β_{j−1}·q_{j−1},
///
/// then reorthogonalises w against *every* earlier q_i, twice (classical Gram–Schmidt twice, "CGS2"), and sets
/// β_j = ‖w‖, q_{j+1} = w/β_j. In exact arithmetic the three-term recurrence alone keeps the q_i orthogonal; in
/// floating point they lose orthogonality as soon as a Ritz value converges, and spurious copies of converged
/// eigenvalues appear (Paige 1976). Full reorthogonalisation costs O(n·j) per step and j vectors of memory, which is
/// affordable for the few dozen steps a top-10 spectrum needs, and removes the ghosts. If β_j vanishes (the Krylov
/// space is invariant, e.g. for an eigenvalue of multiplicity > 1 or a start vector in a small invariant subspace), the
/// next q is a fresh random vector orthogonalised against the basis, with β_j = 0, so repeated eigenvalues are found too.
///
/// The eigenpairs of the tridiagonal T_j = tridiag(β, α, β) (Jacobi's method, `symmetricEigen`) give the Ritz values
/// θ_i and Ritz vectors Q·s_i; the residual of a Ritz pair is β_j·|s_i[j]|. Iteration stops when the k largest Ritz
/// values all have residual ≤ `tolerance`·max(1, |θ_i|), after `maxIterations` steps, or when the basis spans ℝⁿ.
///
/// Runs in Double; `apply` may compute in float32 (the Hessian-vector products do).
public func lanczosTopEigenpairs(dimension n: Int, k: Int, maxIterations: Int, tolerance: Double = 1e-6, seed: UInt64 = 0,
                                 apply: ([Double]) -> [Double]) -> EigenPairs {
    precondition(n > 0, "Lanczos: the dimension must be positive, got \(n)")
    precondition(k >= 1 && k <= n, "Lanczos: k must be in 1…\(n), got \(k)")
    precondition(maxIterations >= k, "Lanczos: needs at least k = \(k) iterations, got \(maxIterations)")
    var g = Generator(seed: seed)
    func randomUnit(orthogonalTo basis: [[Double]]) -> [Double]? {
        for _ in 0..<5 {
            var v = (0..<n).map { _ in Double(g.nextNormal()) }
            orthogonalise(&v, against: basis)
            orthogonalise(&v, against: basis)
            let norm = v.norm
            if norm > 1e-8 { return v.map { $0 / norm } }
        }
        return nil
    }

    var q: [[Double]] = [randomUnit(orthogonalTo: [])!]
    var alpha: [Double] = [], beta: [Double] = []   // beta[j] couples q_j and q_{j+1}
    let steps = min(maxIterations, n)
    var result: EigenPairs?
    for j in 0..<steps {
        var w = apply(q[j])
        precondition(w.count == n, "Lanczos: the operator returned \(w.count) values for a vector of \(n)")
        precondition(w.allSatisfy(\.isFinite), "Lanczos: the operator returned a non-finite value at step \(j + 1)")
        let a = dot(q[j], w)
        alpha.append(a)
        for i in 0..<n { w[i] -= a * q[j][i] }
        if j > 0 { let b = beta[j - 1]; for i in 0..<n { w[i] -= b * q[j - 1][i] } }
        orthogonalise(&w, against: q)
        orthogonalise(&w, against: q)
        var b = w.norm
        let last = j == steps - 1
        let invariant = b <= 1e-10 * max(1, abs(a))
        // Check convergence every few steps once k Ritz values exist, and at the end. Not right after an invariant
        // subspace: its Ritz values have zero residual, yet copies of a repeated eigenvalue may still be missing.
        if (j + 1 >= k && (j + 1 - k) % 4 == 0 && !invariant) || last {
            let r = ritz(alpha: alpha, beta: beta, lastBeta: b, basis: q, k: k, vectors: false)
            if zip(r.values, r.residuals).allSatisfy({ $1 <= tolerance * max(1, abs($0)) }) || last {
                let full = ritz(alpha: alpha, beta: beta, lastBeta: b, basis: q, k: k, vectors: true)
                result = EigenPairs(eigenvalues: full.values, eigenvectors: full.vectors, residuals: full.residuals,
                                    iterations: j + 1, converged: !last || zip(full.values, full.residuals).allSatisfy {
                                        $1 <= tolerance * max(1, abs($0)) })
                break
            }
        }
        if invariant {
            // Invariant subspace: restart in the orthogonal complement.
            guard let fresh = randomUnit(orthogonalTo: q) else { break }
            b = 0
            beta.append(b)
            q.append(fresh)
        } else {
            beta.append(b)
            q.append(w.map { $0 / b })
        }
    }
    if result == nil || result!.iterations != alpha.count {
        let r = ritz(alpha: alpha, beta: beta, lastBeta: 0, basis: q, k: min(k, alpha.count), vectors: true)
        result = EigenPairs(eigenvalues: r.values, eigenvectors: r.vectors, residuals: r.residuals, iterations: alpha.count,
                            converged: zip(r.values, r.residuals).allSatisfy { $1 <= tolerance * max(1, abs($0)) })
    }
    return result!
}

/// Ritz pairs of T_j: the k largest eigenvalues of the tridiagonal matrix, the vectors Q·s_i and residuals β_j·|s_i[j]|.
private func ritz(alpha: [Double], beta: [Double], lastBeta: Double, basis: [[Double]], k: Int, vectors withVectors: Bool)
    -> (values: [Double], vectors: [[Double]], residuals: [Double]) {
    let m = alpha.count
    var t = [Double](repeating: 0, count: m * m)
    for i in 0..<m {
        t[i * m + i] = alpha[i]
        if i + 1 < m { t[i * m + i + 1] = beta[i]; t[(i + 1) * m + i] = beta[i] }
    }
    let (values, vectors) = symmetricEigen(t, size: m)
    let order = (0..<m).sorted { values[$0] > values[$1] }.prefix(k)
    let n = basis[0].count
    var outVectors: [[Double]] = [], residuals: [Double] = []
    for col in order {
        residuals.append(abs(lastBeta * vectors[(m - 1) * m + col]))
        guard withVectors else { continue }
        var v = [Double](repeating: 0, count: n)
        for r in 0..<m {
            let s = vectors[r * m + col]
            if s != 0 { for i in 0..<n { v[i] += s * basis[r][i] } }
        }
        let norm = v.norm
        outVectors.append(norm > 0 ? v.map { $0 / norm } : v)
    }
    return (order.map { values[$0] }, outVectors, residuals)
}

/// Eigen-decomposition of a dense symmetric m×m matrix (row-major) by the cyclic Jacobi method: rotations zero the
/// off-diagonal entries one at a time until their sum of squares is below 1e-30 of the total. Returns the eigenvalues
/// (unordered) and the eigenvectors as the columns of a row-major m×m matrix. Accurate to rounding for symmetric input;
/// O(m³) per sweep, a handful of sweeps — meant for Lanczos' small tridiagonal matrices.
public func symmetricEigen(_ matrix: [Double], size m: Int) -> (values: [Double], vectors: [Double]) {
    precondition(matrix.count == m * m, "symmetricEigen: \(matrix.count) entries for a \(m)×\(m) matrix")
    var a = matrix
    var v = [Double](repeating: 0, count: m * m)
    for i in 0..<m { v[i * m + i] = 1 }
    let total = a.reduce(0) { $0 + $1 * $1 }
    for _ in 0..<100 {
        var off = 0.0
        for p in 0..<m { for q in (p + 1)..<m { off += 2 * a[p * m + q] * a[p * m + q] } }
        if off <= 1e-30 * max(total, 1e-300) { break }
        for p in 0..<m {
            for q in (p + 1)..<m {
                let apq = a[p * m + q]
                if apq == 0 { continue }
                let app = a[p * m + p], aqq = a[q * m + q]
                let theta = (aqq - app) / (2 * apq)
                let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for r in 0..<m {
                    let arp = a[r * m + p], arq = a[r * m + q]
                    a[r * m + p] = c * arp - s * arq
                    a[r * m + q] = s * arp + c * arq
                }
                for r in 0..<m {
                    let apr = a[p * m + r], aqr = a[q * m + r]
                    a[p * m + r] = c * apr - s * aqr
                    a[q * m + r] = s * apr + c * aqr
                }
                for r in 0..<m {
                    let vrp = v[r * m + p], vrq = v[r * m + q]
                    v[r * m + p] = c * vrp - s * vrq
                    v[r * m + q] = s * vrp + c * vrq
                }
            }
        }
    }
    return ((0..<m).map { a[$0 * m + $0] }, v)
}

/// w ← w − Σ_i (q_iᵀw)·q_i (one classical Gram–Schmidt pass).
private func orthogonalise(_ w: inout [Double], against basis: [[Double]]) {
    guard !basis.isEmpty else { return }
    let coefficients = basis.map { dot($0, w) }
    let n = w.count
    w.withUnsafeMutableBufferPointer { wb in
        for (qi, ci) in zip(basis, coefficients) where ci != 0 {
            qi.withUnsafeBufferPointer { qb in for i in 0..<n { wb[i] -= ci * qb[i] } }
        }
    }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in
        var s = 0.0
        for i in 0..<ab.count { s += ab[i] * bb[i] }
        return s
    } }
}

extension Array where Element == Double {
    fileprivate var norm: Double { dot(self, self).squareRoot() }
}
