import Foundation
import XCTest
import ShearsData
import ShearsNN
import ShearsTensor
@testable import ShearsAnalysis

/// Lanczos on matrices of known spectrum, and the dataset Hessian of a tiny softmax regression against the Hessian
/// formed exactly.
final class LanczosTests: XCTestCase {
    /// A random orthogonal n×n matrix (Gram–Schmidt of a Gaussian matrix), columns as arrays.
    private func randomOrthogonal(_ n: Int, seed: UInt64) -> [[Double]] {
        var g = Generator(seed: seed)
        var cols: [[Double]] = []
        while cols.count < n {
            var v = (0..<n).map { _ in g.nextNormal() }
            for _ in 0..<2 { for q in cols { let c = zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }; for i in 0..<n { v[i] -= c * q[i] } } }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            cols.append(v.map { $0 / norm })
        }
        return cols
    }

    /// A = Q·diag(λ)·Qᵀ as an operator.
    private func operatorWith(_ lambdas: [Double], _ q: [[Double]]) -> ([Double]) -> [Double] {
        let n = lambdas.count
        return { v in
            var out = [Double](repeating: 0, count: n)
            for (lam, col) in zip(lambdas, q) {
                let c = lam * zip(col, v).reduce(0) { $0 + $1.0 * $1.1 }
                for i in 0..<n { out[i] += c * col[i] }
            }
            return out
        }
    }

    func testKnownSpectrumTopTen() {
        let n = 80
        // Ten well-separated top eigenvalues, a bulk in [−1, 1] and a large negative one (which must not be returned:
        // we want the algebraically largest, as the paper keeps them).
        var lambdas = [50, 40, 30, 20, 15, 12, 10, 8, 6, 5] as [Double]
        lambdas += (0..<(n - 11)).map { -1 + 2 * Double($0) / Double(n - 12) }
        lambdas.append(-60)
        let q = randomOrthogonal(n, seed: 41)
        let r = lanczosTopEigenpairs(dimension: n, k: 10, maxIterations: 80, tolerance: 1e-8, seed: 7, apply: operatorWith(lambdas, q))
        XCTAssertTrue(r.converged, "residuals \(r.residuals)")
        XCTAssertLessThan(r.iterations, n, "should converge before spanning the space")
        for (got, want) in zip(r.eigenvalues, lambdas.prefix(10)) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        for i in 0..<10 {
            let overlap = abs(zip(r.eigenvectors[i], q[i]).reduce(0) { $0 + $1.0 * $1.1 })
            XCTAssertEqual(overlap, 1, accuracy: 1e-6, "eigenvector \(i)")
            // The true residual ‖Av − λv‖ is small.
            let av = operatorWith(lambdas, q)(r.eigenvectors[i])
            let res = zip(av, r.eigenvectors[i]).reduce(0) { $0 + pow($1.0 - r.eigenvalues[i] * $1.1, 2) }.squareRoot()
            XCTAssertLessThan(res, 1e-5)
        }
        // A different seed gives the same eigenvalues.
        let r2 = lanczosTopEigenpairs(dimension: n, k: 10, maxIterations: 80, tolerance: 1e-8, seed: 8, apply: operatorWith(lambdas, q))
        for (a, b) in zip(r.eigenvalues, r2.eigenvalues) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    /// A repeated top eigenvalue: the Krylov space of one start vector sees it once; the restart after the invariant
    /// subspace is exhausted finds the other copies.
    func testRepeatedEigenvalues() {
        let lambdas: [Double] = [7, 7, 7, 3, 2, 1, 0.5, 0, -1, -2, -3, -4]
        let q = randomOrthogonal(lambdas.count, seed: 5)
        let r = lanczosTopEigenpairs(dimension: lambdas.count, k: 5, maxIterations: 12, tolerance: 1e-8, seed: 1,
                                     apply: operatorWith(lambdas, q))
        for (got, want) in zip(r.eigenvalues, [7, 7, 7, 3, 2] as [Double]) { XCTAssertEqual(got, want, accuracy: 1e-8) }
    }

    func testJacobiEigenOfKnownMatrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let (values, vectors) = symmetricEigen([2, 1, 1, 2], size: 2)
        let sorted = values.sorted()
        XCTAssertEqual(sorted[0], 1, accuracy: 1e-14); XCTAssertEqual(sorted[1], 3, accuracy: 1e-14)
        let big = values[0] > values[1] ? 0 : 1
        XCTAssertEqual(abs(vectors[0 * 2 + big]), 1 / 2.0.squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(vectors[0 * 2 + big] * vectors[1 * 2 + big], 0.5, accuracy: 1e-14)
    }

    /// Softmax regression z = W·x + b on 3 classes and 4 features, mean cross-entropy over 40 examples in 3 batches of
    /// unequal size. Its Hessian is exactly H = (1/N)·Σ_n J_nᵀ(diag(p_n) − p_n p_nᵀ)J_n with J_n = ∂z/∂(W, b):
    /// J[c, c·4 + j] = x_j, J[c, 12 + c] = 1. Lanczos on the dataset-averaged Hessian-vector products must give its top
    /// eigenpairs.
    func testTinyModelHessianMatchesExactHessian() {
        var g = Generator(seed: 99)
        let (classes, d, n) = (3, 4, 40)
        let model = Linear(d, classes, generator: &g)
        let x = Tensor.normal([n, d], generator: &g)
        let labels = (0..<n).map { _ in Int32(g.nextInt(below: classes)) }
        let cuts = [0, 16, 32, 40]
        let batches = (0..<3).map { b in
            Batch(images: x.slice(batch: cuts[b]..<cuts[b + 1]), labels: Array(labels[cuts[b]..<cuts[b + 1]]),
                  indices: Array(cuts[b]..<cuts[b + 1]))
        }
        // Exact Hessian in Double.
        let w = model.weight.value.scalars.map(Double.init), bias = model.bias!.value.scalars.map(Double.init)
        let xs = x.scalars.map(Double.init)
        let dim = classes * d + classes
        var h = [Double](repeating: 0, count: dim * dim)
        for i in 0..<n {
            let xi = Array(xs[(i * d)..<(i * d + d)])
            let z = (0..<classes).map { c in bias[c] + (0..<d).reduce(0) { $0 + w[c * d + $1] * xi[$1] } }
            let mz = z.max()!
            let e = z.map { exp($0 - mz) }, s = e.reduce(0, +)
            let p = e.map { $0 / s }
            // J as a classes × dim matrix.
            var jac = [Double](repeating: 0, count: classes * dim)
            for c in 0..<classes {
                for j in 0..<d { jac[c * dim + c * d + j] = xi[j] }
                jac[c * dim + classes * d + c] = 1
            }
            for c1 in 0..<classes {
                for c2 in 0..<classes {
                    let m = (c1 == c2 ? p[c1] : 0) - p[c1] * p[c2]
                    if m == 0 { continue }
                    for a in 0..<dim where jac[c1 * dim + a] != 0 {
                        for b in 0..<dim where jac[c2 * dim + b] != 0 {
                            h[a * dim + b] += m * jac[c1 * dim + a] * jac[c2 * dim + b] / Double(n)
                        }
                    }
                }
            }
        }
        let (exactValues, exactVectors) = symmetricEigen(h, size: dim)
        let order = (0..<dim).sorted { exactValues[$0] > exactValues[$1] }

        let params = model.namedParameters
        XCTAssertEqual(params.map(\.0), ["weight", "bias"])
        let before = params.map { $0.1.value.scalars }
        let hessian = DatasetHessian(model: model, parameters: params, batches: batches)
        XCTAssertEqual(hessian.dimension, dim)
        // The operator itself against H·v.
        let v = (0..<dim).map { _ in g.nextNormal() }
        let hv = hessian.apply(v)
        let exactHv = (0..<dim).map { a in (0..<dim).reduce(0) { $0 + h[a * dim + $1] * v[$1] } }
        let scale = exactHv.map(abs).max()!
        for (got, want) in zip(hv, exactHv) { XCTAssertEqual(got, want, accuracy: 2e-3 * scale) }

        let k = 4
        let r = hessian.topEigenpairs(k: k, maxIterations: dim, tolerance: 1e-4, seed: 3)
        for i in 0..<k {
            let want = exactValues[order[i]]
            XCTAssertEqual(r.eigenvalues[i], want, accuracy: 2e-3 * exactValues[order[0]], "λ\(i + 1)")
        }
        // The leading eigenvector matches (up to sign).
        let top = (0..<dim).map { exactVectors[$0 * dim + order[0]] }
        XCTAssertEqual(abs(zip(top, r.eigenvectors[0]).reduce(0) { $0 + $1.0 * $1.1 }), 1, accuracy: 1e-3)
        // The model is untouched.
        XCTAssertEqual(params.map { $0.1.value.scalars }, before)
    }
    /// Linear → BatchNorm (with running statistics away from 0/1): in eval mode the loss of a batch does not depend on
    /// the other examples in it, so the Hessian averaged over two unequal batches (weights n_b/N) equals that of the one
    /// merged batch; batch statistics (training mode) would make them differ. The buffers stay as they were.
    func testDatasetHessianRunsInEvalModeAndWeightsBatchesBySize() {
        struct TinyBN: Layer {
            let fc: Linear, bn: BatchNorm
            func callAsFunction(_ x: Variable) -> Variable { bn(fc(x)) }
            var namedParameters: [(String, Variable)] { prefixed("fc", fc.namedParameters) + prefixed("bn", bn.namedParameters) }
            var namedBuffers: [(String, Variable)] { prefixed("bn", bn.namedBuffers) }
        }
        var g = Generator(seed: 5)
        let model = TinyBN(fc: Linear(4, 3, generator: &g), bn: BatchNorm(3))
        model.bn.runningMean.value = Tensor(shape: [3], scalars: [0.3, -0.2, 0.1])
        model.bn.runningVar.value = Tensor(shape: [3], scalars: [2, 0.5, 1.5])
        model.bn.weight.value = Tensor(shape: [3], scalars: [1.2, 0.8, -0.5])
        let x = Tensor.normal([10, 4], generator: &g)
        let y = (0..<10).map { _ in Int32(g.nextInt(below: 3)) }
        let merged = [Batch(images: x, labels: y, indices: Array(0..<10))]
        let split = [Batch(images: x.slice(batch: 0..<3), labels: Array(y[0..<3]), indices: Array(0..<3)),
                     Batch(images: x.slice(batch: 3..<10), labels: Array(y[3..<10]), indices: Array(3..<10))]
        let buffers = model.namedBuffers.map { $0.1.value.scalars }
        let a = DatasetHessian(model: model, parameters: model.namedParameters, batches: merged)
        let b = DatasetHessian(model: model, parameters: model.namedParameters, batches: split)
        XCTAssertEqual(a.dimension, 12 + 3 + 3 + 3)
        let v = (0..<a.dimension).map { _ in g.nextNormal() }, u = (0..<a.dimension).map { _ in g.nextNormal() }
        let hv = a.apply(v), hvSplit = b.apply(v)
        let scale = hv.map(abs).max()!
        XCTAssertGreaterThan(scale, 0)
        for (p, q) in zip(hv, hvSplit) { XCTAssertEqual(p, q, accuracy: 1e-3 * scale) }
        // Symmetric: uᵀHv = vᵀHu.
        let hu = a.apply(u)
        let uHv = zip(u, hv).reduce(0) { $0 + $1.0 * $1.1 }, vHu = zip(v, hu).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(uHv, vHu, accuracy: 1e-3 * max(1, abs(uHv)))
        XCTAssertEqual(model.namedBuffers.map { $0.1.value.scalars }, buffers)
    }
}

/// Eq. 13 by hand.
final class GRDAProjectionTests: XCTestCase {
    /// Δ = (3, 4, 12), ‖Δ‖ = 13; with v₁ = e₁, v₂ = e₂ the projection is (3, 4), norm 5: P = 5/13, plotted P/√2.
    /// With v = (e₁ + e₃)/√2 alone: vᵀΔ = 15/√2, P = (15/√2)/13.
    func testProjectionProportionByHand() {
        let p = ProjectionProportion(delta: [3, 4, 12], eigenvectors: [[1, 0, 0], [0, 1, 0]])
        XCTAssertEqual(p.components, [3, 4])
        XCTAssertEqual(p.deltaNorm, 13, accuracy: 1e-14)
        XCTAssertEqual(p.proportion, 5.0 / 13, accuracy: 1e-14)
        XCTAssertEqual(p.plottedValue, 5.0 / 13 / 2.0.squareRoot(), accuracy: 1e-14)
        let s = 1 / 2.0.squareRoot()
        let q = ProjectionProportion(delta: [3, 4, 12], eigenvectors: [[s, 0, s]])
        XCTAssertEqual(q.proportion, 15 * s / 13, accuracy: 1e-14)
        // Δ in the span: P = 1; Δ orthogonal: P = 0; Δ = 0: P = 0 (no division by zero).
        XCTAssertEqual(ProjectionProportion(delta: [2, -1, 0], eigenvectors: [[1, 0, 0], [0, 1, 0]]).proportion, 1, accuracy: 1e-14)
        XCTAssertEqual(ProjectionProportion(delta: [0, 0, 7], eigenvectors: [[1, 0, 0]]).proportion, 0)
        XCTAssertEqual(ProjectionProportion(delta: [0, 0, 0], eigenvectors: [[1, 0, 0]]).proportion, 0)
    }
}
