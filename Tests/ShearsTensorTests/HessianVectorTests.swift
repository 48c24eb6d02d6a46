// hessianVectorProduct against closed forms on least squares, where the Hessian is known exactly.

import XCTest
@testable import ShearsTensor

final class HessianVectorTests: XCTestCase {

    /// L(w) = mseLoss(linear(X, w), y, .mean) = (1/n) Σ (xᵢ·w − yᵢ)² over n rows and one output, so
    /// H = 2XᵀX/n whatever w is, and the central difference of gradients is exact up to float32 rounding.
    func testLeastSquaresMatchesClosedForm() {
        var g = Generator(seed: 3001)
        for (n, d) in [(8, 5), (13, 3), (5, 9)] {
            let x = randomTensor([n, d], &g), y = randomTensor([n, 1], &g)
            let w = Variable(randomTensor([1, d], &g), requiresGrad: true)
            let xD = x.doubles
            let loss = { mseLoss(linear(Variable(x), weight: w), target: y) }
            for _ in 0..<3 {
                let v = randomTensor([1, d], &g)
                let hv = hessianVectorProduct(parameters: [w], vector: [v], loss: loss)
                XCTAssertEqual(hv.count, 1)
                XCTAssertEqual(hv[0].shape, [1, d])
                let expected = closedFormHv(xD, n: n, d: d, v: v.doubles)
                let err = relativeError(hv[0].doubles, expected)
                XCTAssertLessThan(err, 1e-3, "H·v for n=\(n), d=\(d): got \(hv[0].scalars), expected \(expected)")
            }
            // Linearity in v: H·(2v) = 2·H·v, and H·0 = 0.
            let v = randomTensor([1, d], &g)
            let hv1 = hessianVectorProduct(parameters: [w], vector: [v], loss: loss)[0]
            let hv2 = hessianVectorProduct(parameters: [w], vector: [v * 2], loss: loss)[0]
            XCTAssertLessThan(relativeError(hv2.doubles, hv1.doubles.map { 2 * $0 }), 1e-3)
            let zero = hessianVectorProduct(parameters: [w], vector: [Tensor.zeros([1, d])], loss: loss)[0]
            XCTAssertEqual(zero.scalars, [Float](repeating: 0, count: d))
        }
    }

    /// With a bias, θ = (w, b) and H = (2/n)·[XᵀX, Xᵀ1; 1ᵀX, n]; also checks symmetry uᵀHv = vᵀHu.
    func testLeastSquaresWithBiasMatchesClosedForm() {
        var g = Generator(seed: 3002)
        let (n, d) = (9, 4)
        let x = randomTensor([n, d], &g), y = randomTensor([n, 1], &g)
        let w = Variable(randomTensor([1, d], &g), requiresGrad: true)
        let b = Variable(randomTensor([1], &g), requiresGrad: true)
        let loss = { mseLoss(linear(Variable(x), weight: w, bias: b), target: y) }
        let xD = x.doubles
        var hvs: [([Double], [Double])] = []
        var vs: [([Double], Double)] = []
        for _ in 0..<3 {
            let vw = randomTensor([1, d], &g), vb = randomTensor([1], &g)
            let hv = hessianVectorProduct(parameters: [w, b], vector: [vw, vb], loss: loss)
            let (vwD, vbD) = (vw.doubles, Double(vb.scalar))
            // (2/n)·[Xᵀ(Xv_w + v_b·1); 1ᵀ(Xv_w + v_b·1)]
            var xv = [Double](repeating: 0, count: n)
            for i in 0..<n { xv[i] = (0..<d).reduce(vbD) { $0 + xD[i * d + $1] * vwD[$1] } }
            let ew = (0..<d).map { j in 2 / Double(n) * (0..<n).reduce(0.0) { $0 + xD[$1 * d + j] * xv[$1] } }
            let eb = 2 / Double(n) * xv.reduce(0, +)
            XCTAssertLessThan(relativeError(hv[0].doubles, ew), 1e-3, "weight block")
            XCTAssertLessThan(relativeError(hv[1].doubles, [eb]), 1e-3, "bias block")
            hvs.append((hv[0].doubles, hv[1].doubles))
            vs.append((vwD, vbD))
        }
        // Symmetry of the Hessian: u·(Hv) == v·(Hu).
        func dot(_ v: ([Double], Double), _ h: ([Double], [Double])) -> Double {
            zip(v.0, h.0).reduce(0.0) { $0 + $1.0 * $1.1 } + v.1 * h.1[0]
        }
        let uHv = dot(vs[0], hvs[1]), vHu = dot(vs[1], hvs[0])
        XCTAssertEqual(uHv, vHu, accuracy: 1e-3 * max(1, abs(uHv)))
    }

    func testRestoresParameterValuesAndGradients() {
        var g = Generator(seed: 3003)
        let (n, d) = (7, 3)
        let x = randomTensor([n, d], &g), y = randomTensor([n, 1], &g)
        let w = Variable(randomTensor([1, d], &g), requiresGrad: true)
        let b = Variable(randomTensor([1], &g), requiresGrad: true)
        let loss = { mseLoss(linear(Variable(x), weight: w, bias: b), target: y) }
        // w holds a gradient from an earlier backward; b holds none.
        loss().backward()
        b.zeroGrad()
        let wValue = w.value.scalars, bValue = b.value.scalars, wGrad = w.grad!.scalars
        _ = hessianVectorProduct(parameters: [w, b], vector: [randomTensor([1, d], &g), randomTensor([1], &g)], loss: loss)
        XCTAssertEqual(w.value.scalars, wValue, "weight value restored bit for bit")
        XCTAssertEqual(b.value.scalars, bValue, "bias value restored bit for bit")
        XCTAssertEqual(w.grad?.scalars, wGrad, "weight gradient restored")
        XCTAssertNil(b.grad, "an absent gradient stays absent")
        // An explicit step gives the same answer on a quadratic.
        let v = randomTensor([1, d], &g)
        let auto = hessianVectorProduct(parameters: [w], vector: [v], loss: loss)[0]
        let fixed = hessianVectorProduct(parameters: [w], vector: [v], step: 1e-2, loss: loss)[0]
        XCTAssertLessThan(relativeError(fixed.doubles, auto.doubles), 1e-3)
        XCTAssertEqual(w.value.scalars, wValue)
    }

    // H·v = (2/n) Xᵀ(X v) for a [1, d] weight.
    private func closedFormHv(_ x: [Double], n: Int, d: Int, v: [Double]) -> [Double] {
        var xv = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<d { xv[i] += x[i * d + j] * v[j] } }
        return (0..<d).map { j in 2 / Double(n) * (0..<n).reduce(0.0) { $0 + x[$1 * d + j] * xv[$1] } }
    }
}
