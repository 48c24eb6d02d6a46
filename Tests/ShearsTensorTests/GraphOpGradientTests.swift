// Gradient checks of the ops ONNX import added (grouped and dilated conv2d, leakyRelu, sigmoid, concat, broadcast
// add / mul) against plain Double references, with the same method as OpGradientTests (`checkOp`).

import Foundation
import XCTest
@testable import ShearsTensor

/// Plain references of the import ops, on logical row-major arrays.
enum GraphRef {
    /// `F.conv2d` with groups and dilation: weight [O, C / groups, KH, KW].
    static func conv2d(_ x: [Double], _ xs: [Int], _ w: [Double], _ ws: [Int], bias: [Double]?, stride: Int,
                       padding: Int, dilation: Int, groups: Int) -> [Double] {
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3])
        let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3])
        let og = o / groups
        let oh = (h + 2 * padding - dilation * (kh - 1) - 1) / stride + 1
        let ow = (wd + 2 * padding - dilation * (kw - 1) - 1) / stride + 1
        precondition(cg * groups == c)
        var y = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var acc = bias?[oc] ?? 0
            let g = oc / og
            for icg in 0..<cg {
                let ic = g * cg + icg
                for p in 0..<kh { for q in 0..<kw {
                    let r = i * stride - padding + p * dilation, s = j * stride - padding + q * dilation
                    guard r >= 0, r < h, s >= 0, s < wd else { continue }
                    acc += x[((b * c + ic) * h + r) * wd + s] * w[((oc * cg + icg) * kh + p) * kw + q]
                } }
            }
            y[((b * o + oc) * oh + i) * ow + j] = acc
        } } } }
        return y
    }

    static func broadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ f: (Double, Double) -> Double) -> [Double] {
        let out = broadcastShape(sa, sb)!
        let rank = out.count
        let pa = Array(repeating: 1, count: rank - sa.count) + sa, pb = Array(repeating: 1, count: rank - sb.count) + sb
        let n = out.reduce(1, *)
        return (0..<n).map { flat in
            var rem = flat, ia = 0, ib = 0, ma = 1, mb = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                let idx = rem % out[d]; rem /= out[d]
                ia += (pa[d] == 1 ? 0 : idx) * ma; ma *= pa[d]
                ib += (pb[d] == 1 ? 0 : idx) * mb; mb *= pb[d]
            }
            return f(a[ia], b[ib])
        }
    }

    static func concat(_ xs: [[Double]], _ shapes: [[Int]], axis: Int) -> [Double] {
        let outer = shapes[0][..<axis].reduce(1, *), inner = shapes[0][(axis + 1)...].reduce(1, *)
        var y: [Double] = []
        for o in 0..<outer { for (x, s) in zip(xs, shapes) { let w = s[axis] * inner; y += x[(o * w)..<((o + 1) * w)] } }
        return y
    }
}

final class GraphOpGradientTests: XCTestCase {
    func testGroupedAndDilatedConv2dGradients() {
        var g = Generator(seed: 41)
        let cases: [(x: [Int], w: [Int], stride: Int, padding: Int, dilation: Int, groups: Int, bias: Bool)] = [
            ([2, 4, 7, 7], [6, 2, 3, 3], 1, 1, 1, 2, true),     // grouped
            ([1, 4, 6, 6], [4, 1, 3, 3], 2, 1, 1, 4, false),    // depthwise, stride 2
            ([2, 3, 9, 8], [2, 3, 3, 3], 1, 2, 2, 1, true),     // dilated
            ([1, 6, 9, 9], [3, 2, 3, 2], 2, 2, 3, 3, false),    // grouped + dilated + stride, rectangular kernel
        ]
        for c in cases {
            var inputs = [OpInput("x", randomTensor(c.x, &g)), OpInput("weight", randomTensor(c.w, &g, low: -0.5, high: 0.5))]
            if c.bias { inputs.append(OpInput("bias", randomTensor([c.w[0]], &g))) }
            checkOp("conv2d x\(c.x) w\(c.w) s\(c.stride) p\(c.padding) d\(c.dilation) g\(c.groups)", inputs: inputs, generator: &g,
                    op: { v in conv2d(v[0], weight: v[1], bias: c.bias ? v[2] : nil, stride: c.stride, padding: c.padding,
                                      dilation: c.dilation, groups: c.groups) },
                    reference: { d in GraphRef.conv2d(d[0], c.x, d[1], c.w, bias: c.bias ? d[2] : nil, stride: c.stride,
                                                      padding: c.padding, dilation: c.dilation, groups: c.groups) })
        }
    }

    func testGroupsOneDilationOneIsThePlainConvolution() {
        var g = Generator(seed: 42)
        let x = Variable(randomTensor([2, 3, 8, 8], &g)), w = Variable(randomTensor([4, 3, 3, 3], &g))
        let plain = conv2d(x, weight: w, stride: 1, padding: 1)
        let general = conv2d(x, weight: w, stride: 1, padding: 1, dilation: 1, groups: 1)
        XCTAssertEqual(plain.value.scalars, general.value.scalars)
    }

    func testLeakyReluAndSigmoidGradients() {
        var g = Generator(seed: 43)
        let x = awayFromZeroTensor([3, 7], &g)
        checkOp("leakyRelu", inputs: [OpInput("x", x)], generator: &g, op: { leakyRelu($0[0], alpha: 0.2) },
                reference: { $0[0].map { $0 >= 0 ? $0 : 0.2 * $0 } })
        let x4 = randomTensor([2, 3, 4, 5], &g, low: -4, high: 4).channelsLast()
        checkOp("sigmoid", inputs: [OpInput("x", x4)], generator: &g, op: { sigmoid($0[0]) },
                reference: { $0[0].map { 1 / (1 + Foundation.exp(-$0)) } })
        checkOp("leakyRelu channelsLast", inputs: [OpInput("x", awayFromZeroTensor([2, 3, 4, 4], &g).channelsLast())], generator: &g,
                op: { leakyRelu($0[0], alpha: 0.01) }, reference: { $0[0].map { $0 >= 0 ? $0 : 0.01 * $0 } })
    }

    func testSigmoidHandValues() {
        let y = sigmoid(Variable(Tensor(shape: [3], scalars: [0, 100, -100]))).value.scalars
        XCTAssertEqual(y[0], 0.5)
        XCTAssertEqual(y[1], 1)
        XCTAssertEqual(y[2], 0, accuracy: 1e-40)
        XCTAssertFalse(y.contains { $0.isNaN })
    }

    func testConcatGradients() {
        var g = Generator(seed: 44)
        let shapes = [[2, 3, 4, 4], [2, 1, 4, 4], [2, 2, 4, 4]]
        let inputs = shapes.enumerated().map { OpInput("x\($0.offset)", $0.offset == 0 ? randomTensor($0.element, &g).channelsLast() : randomTensor($0.element, &g)) }
        checkOp("concat axis 1", inputs: inputs, generator: &g, op: { concat($0, axis: 1) },
                reference: { GraphRef.concat($0, shapes, axis: 1) })
        let flat = [[3, 2], [3, 5]]
        checkOp("concat axis 1 of matrices", inputs: flat.map { OpInput("m", randomTensor($0, &g)) }, generator: &g,
                op: { concat($0, axis: 1) }, reference: { GraphRef.concat($0, flat, axis: 1) })
        checkOp("concat axis 0", inputs: [[1, 4], [2, 4]].map { OpInput("m", randomTensor($0, &g)) }, generator: &g,
                op: { concat($0, axis: 0) }, reference: { GraphRef.concat($0, [[1, 4], [2, 4]], axis: 0) })
    }

    func testBroadcastAddAndMulGradients() {
        var g = Generator(seed: 45)
        let pairs: [([Int], [Int])] = [([2, 3, 4, 4], [3, 1, 1]), ([2, 5], [5]), ([4, 1], [1, 6]), ([3, 4], []), ([2, 3, 2, 2], [2, 3, 2, 2])]
        for (sa, sb) in pairs {
            let a = randomTensor(sa, &g), b = randomTensor(sb, &g)
            checkOp("broadcastAdd \(sa) \(sb)", inputs: [OpInput("a", a), OpInput("b", b)], generator: &g,
                    op: { broadcastAdd($0[0], $0[1]) }, reference: { GraphRef.broadcast($0[0], sa, $0[1], sb, +) })
            checkOp("broadcastMul \(sa) \(sb)", inputs: [OpInput("a", a), OpInput("b", b)], generator: &g,
                    op: { broadcastMul($0[0], $0[1]) }, reference: { GraphRef.broadcast($0[0], sa, $0[1], sb, *) })
        }
    }

    func testBroadcastShapeRules() {
        XCTAssertEqual(broadcastShape([2, 3, 4, 4], [3, 1, 1]), [2, 3, 4, 4])
        XCTAssertEqual(broadcastShape([4, 1], [1, 6]), [4, 6])
        XCTAssertEqual(broadcastShape([5], []), [5])
        XCTAssertNil(broadcastShape([2, 3], [4]))
        // Hand-derived: [[1, 2], [3, 4]] + [10, 20] = [[11, 22], [13, 24]]; ⊙ → [[10, 40], [30, 80]].
        let a = Variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])), b = Variable(Tensor(shape: [2], scalars: [10, 20]))
        XCTAssertEqual(broadcastAdd(a, b).value.scalars, [11, 22, 13, 24])
        XCTAssertEqual(broadcastMul(a, b).value.scalars, [10, 40, 30, 80])
    }
}
