// The sparse inference kernels (Kernels/SparseMatrix.swift, Kernels/SparseKernels.swift) against the dense ops
// they stand in for: CSR round trips, sparse linear and conv on odd shapes, every stride / padding / bias /
// batch / sparsity combination the brief lists, both conv input layouts, one and two threads (the serial,
// row-split, position-split and image-group-parallel paths), and the rule that the ops use an attached form
// only with grad mode off.

import XCTest
@testable import ShearsTensor

final class SparseKernelTests: XCTestCase {
    override func tearDown() { Threads.set(2) }

    /// A uniform tensor with a fraction `sparsity` of its entries set to exactly 0 (and, when asked, row 0 all 0).
    func pruned(_ shape: [Int], sparsity: Double, zeroRow: Bool = false, _ g: inout Generator) -> Tensor {
        var t = randomTensor(shape, &g, low: -0.5, high: 0.5)
        let rowLength = shape.dropFirst().reduce(1, *)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count where Double(g.nextFloat()) < sparsity || (zeroRow && i < rowLength) { p[i] = 0 }
        }
        return t
    }

    /// max |a − b| / max(1, max |b|) over logical order.
    func error(_ a: Tensor, _ b: Tensor) -> Double { relativeError(a.doubles, b.doubles) }

    let sparsities: [(Double, Bool)] = [(0, false), (0.5, false), (0.97, false), (0.5, true), (1, false)]

    func testCSRRoundTripKeepsExactlyTheNonzeros() {
        var g = Generator(seed: 7001)
        for (shape, sparsity, zeroRow) in [([13, 29], 0.6, true), ([5, 3, 3, 3], 0.9, false), ([4, 7], 0.0, false), ([6, 5], 1.0, false)] {
            let w = pruned(shape, sparsity: sparsity, zeroRow: zeroRow, &g)
            let csr = CSRMatrix(w)
            XCTAssertEqual(csr.rows, shape[0])
            XCTAssertEqual(csr.cols, shape.dropFirst().reduce(1, *))
            XCTAssertEqual(csr.nonzeros, w.scalars.filter { $0 != 0 }.count)
            XCTAssertEqual(csr.denseRowMajor(), w.scalars, "round trip of \(shape) at sparsity \(sparsity)")
            XCTAssertEqual(csr.rowPtr.count, shape[0] + 1)
            for r in 0..<csr.rows {
                let cols = csr.colIdx[Int(csr.rowPtr[r])..<Int(csr.rowPtr[r + 1])]
                XCTAssertEqual(Array(cols), cols.sorted(), "columns ascend within row \(r)")
            }
            if zeroRow { XCTAssertEqual(csr.rowPtr[1], 0, "an all-zero row has no entries") }
            XCTAssertEqual(csr.sparsity, 1 - Double(csr.nonzeros) / Double(w.count), accuracy: 1e-12)
        }
    }

    func testSparseLinearEqualsDenseLinear() {
        var g = Generator(seed: 7002)
        for threads in [1, 2] {
            Threads.set(threads)
            for (n, inF, outF) in [(1, 37, 11), (3, 37, 11), (67, 53, 29), (200, 97, 150)] {
                for (sparsity, zeroRow) in sparsities {
                    for withBias in [false, true] {
                        let w = pruned([outF, inF], sparsity: sparsity, zeroRow: zeroRow, &g)
                        let x = randomTensor([n, inF], &g), b = randomTensor([outF], &g)
                        let dense = linear(Variable(x), weight: Variable(w), bias: withBias ? Variable(b) : nil).value
                        let sparse = sparseLinear(x, weight: SparseWeight(w), bias: withBias ? b : nil)
                        XCTAssertEqual(sparse.shape, [n, outF])
                        XCTAssertLessThan(error(sparse, dense), 1e-5,
                                          "linear n=\(n) \(inF)→\(outF) sparsity \(sparsity) zeroRow \(zeroRow) bias \(withBias) threads \(threads)")
                    }
                }
            }
        }
    }

    func testSparseConvEqualsDenseConvForBothLayouts() {
        var g = Generator(seed: 7003)
        // (input, weight, stride, padding)
        let configs: [([Int], [Int], Int, Int)] = [
            ([1, 3, 7, 9], [5, 3, 3, 3], 1, 1),
            ([3, 4, 9, 7], [6, 4, 3, 3], 2, 1),
            ([3, 5, 8, 8], [7, 5, 3, 3], 1, 0),
            ([1, 6, 11, 10], [4, 6, 3, 3], 2, 0),
            ([3, 6, 9, 9], [8, 6, 1, 1], 2, 0),      // projection shortcut
            ([3, 5, 9, 8], [4, 5, 5, 5], 2, 2),
            ([5, 8, 20, 20], [16, 8, 3, 3], 1, 1),   // one group, product split over threads
            ([4, 8, 48, 48], [6, 8, 3, 3], 1, 1),    // several image groups, in parallel
        ]
        for threads in [1, 2] {
            Threads.set(threads)
            for (xs, ws, stride, padding) in configs {
                for (sparsity, zeroRow) in sparsities {
                    let withBias = g.nextFloat() < 0.5
                    let w = pruned(ws, sparsity: sparsity, zeroRow: zeroRow, &g)
                    let x = randomTensor(xs, &g), b = randomTensor([ws[0]], &g)
                    let dense = conv2d(Variable(x), weight: Variable(w), bias: withBias ? Variable(b) : nil,
                                       stride: stride, padding: padding).value
                    for method in [SparseConvMethod.direct, .im2col, nil] {
                        for input in [x, x.channelsLast()] {
                            let form = SparseWeight(w, convMethod: method)
                            let sparse = sparseConv2d(input, weight: form, bias: withBias ? b : nil, stride: stride, padding: padding)
                            XCTAssertEqual(sparse.shape, dense.shape)
                            XCTAssertEqual(sparse.format, .channelsLast, "sparse conv returns channels-last like conv2d")
                            XCTAssertLessThan(error(sparse, dense), 1e-5,
                                              "conv x\(xs) w\(ws) s\(stride) p\(padding) sparsity \(sparsity) zeroRow \(zeroRow) "
                                              + "bias \(withBias) \(method?.rawValue ?? "auto") \(input.format) threads \(threads)")
                        }
                    }
                }
            }
        }
    }

    func testPortableBuildAgreesWithTheDenseOps() {
        SparseKernelBuild.forcePortable(true)
        defer { SparseKernelBuild.forcePortable(false) }
        XCTAssertFalse(SparseKernelBuild.usesAVX2)
        var g = Generator(seed: 7007)
        for (n, inF, outF) in [(1, 37, 11), (67, 53, 29)] {
            let w = pruned([outF, inF], sparsity: 0.6, &g)
            let x = randomTensor([n, inF], &g), b = randomTensor([outF], &g)
            let dense = linear(Variable(x), weight: Variable(w), bias: Variable(b)).value
            XCTAssertLessThan(error(sparseLinear(x, weight: SparseWeight(w), bias: b), dense), 1e-5, "portable linear n=\(n)")
        }
        for (xs, ws, stride, padding) in [([3, 8, 9, 9], [16, 8, 3, 3], 1, 1), ([2, 8, 10, 10], [9, 8, 3, 3], 2, 1)] {
            let w = pruned(ws, sparsity: 0.7, &g)
            let x = randomTensor(xs, &g), b = randomTensor([ws[0]], &g)
            let dense = conv2d(Variable(x), weight: Variable(w), bias: Variable(b), stride: stride, padding: padding).value
            for method in SparseConvMethod.allCases {
                let sparse = sparseConv2d(x, weight: SparseWeight(w, convMethod: method), bias: b, stride: stride, padding: padding)
                XCTAssertLessThan(error(sparse, dense), 1e-5, "portable conv x\(xs) w\(ws) \(method)")
            }
        }
    }

    func testRepeatedCallsWithOtherBatchSizesRecomputeOffsets() {
        var g = Generator(seed: 7004)
        let w = pruned([6, 4, 3, 3], sparsity: 0.7, &g)
        let form = SparseWeight(w, convMethod: .direct)
        for n in [2, 5, 2, 1] {   // the offsets cached for one geometry must not be reused for another
            let x = randomTensor([n, 4, 10, 10], &g)
            let dense = conv2d(Variable(x), weight: Variable(w), padding: 1).value
            XCTAssertLessThan(error(sparseConv2d(x, weight: form, bias: nil, stride: 1, padding: 1), dense), 1e-5, "batch \(n)")
        }
        XCTAssertEqual(form.uses, 4)
    }

    func testOpsUseTheFormOnlyWithGradModeOff() {
        var g = Generator(seed: 7005)
        let w = Variable(pruned([6, 4, 3, 3], sparsity: 0.8, &g), requiresGrad: true)
        let x = Variable(randomTensor([2, 4, 8, 8], &g))
        let dense = conv2d(x, weight: w, padding: 1)
        let form = SparseWeight(w.value)
        w.inferenceForm = form
        let taped = conv2d(x, weight: w, padding: 1)
        XCTAssertEqual(form.uses, 0, "grad mode on: the dense, taped op runs")
        XCTAssertTrue(taped.requiresGrad)
        XCTAssertEqual(taped.value.scalars, dense.value.scalars)
        let untaped = GradMode.withoutGrad { conv2d(x, weight: w, padding: 1) }
        XCTAssertEqual(form.uses, 1, "grad mode off: the sparse form runs")
        XCTAssertFalse(untaped.requiresGrad)
        XCTAssertLessThan(error(untaped.value, dense.value), 1e-5)

        let lw = Variable(pruned([5, 9], sparsity: 0.6, &g), requiresGrad: true)
        let lform = SparseWeight(lw.value)
        lw.inferenceForm = lform
        let lx = Variable(randomTensor([3, 9], &g))
        _ = linear(lx, weight: lw)
        XCTAssertEqual(lform.uses, 0)
        _ = GradMode.withoutGrad { linear(lx, weight: lw) }
        XCTAssertEqual(lform.uses, 1)
    }

    func testWritingTheValueDropsTheForm() {
        var g = Generator(seed: 7006)
        let w = Variable(pruned([4, 6], sparsity: 0.5, &g), requiresGrad: true)
        w.inferenceForm = SparseWeight(w.value)
        let before = w.value.withUnsafeBufferPointer { $0.baseAddress }
        w.value.withUnsafeMutableBufferPointer { $0[0] = 3 }      // in place, as optimizers and masks write
        XCTAssertNil(w.inferenceForm, "an in-place write drops the form")
        XCTAssertEqual(w.value.withUnsafeBufferPointer { $0.baseAddress }, before,
                       "the observer must not turn an in-place write into a copy (every optimizer step would copy)")
        w.inferenceForm = SparseWeight(w.value)
        w.value = Tensor.zeros([4, 6])
        XCTAssertNil(w.inferenceForm, "an assignment drops the form")
        w.inferenceForm = SparseWeight(w.value)
        var copy = w.value                                         // writing a copy leaves the weight alone
        copy.withUnsafeMutableBufferPointer { $0[1] = 2 }
        XCTAssertNotNil(w.inferenceForm)
        XCTAssertEqual(w.value.scalars[1], 0)
    }
}
