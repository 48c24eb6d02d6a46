// The sparse training kernels (Kernels/SparseTrainingWeight.swift, SparseTrainingKernels.swift,
// SparseTrainingConv.swift) against the dense ops on masked weights: forward, backward to the input, weight and
// bias gradients for linear and conv (stride 1 and 2, 1×1, 5×5, no padding, a first layer whose input needs no
// gradient), one and two threads, every kernel build; gradient checks of the new backward against finite
// differences of the masked Double reference; determinism (thread counts, AVX-512 vs AVX2); and the form's
// contract (survives writes to the weight, gradient 0 outside the structure, reused buffers never leak).

import XCTest
@testable import ShearsTensor

final class SparseTrainingKernelTests: XCTestCase {
    override func tearDown() {
        Threads.set(2)
        SparseTrainingKernelBuild.limit(nil)
    }

    /// A 0/1 mask keeping a fraction 1 − sparsity of the entries (and, when asked, none of row 0).
    func mask(_ shape: [Int], sparsity: Double, zeroRow: Bool = false, _ g: inout Generator) -> Tensor {
        let n = shape.reduce(1, *), rowLength = shape.dropFirst().reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { i in Double(g.nextFloat()) < sparsity || (zeroRow && i < rowLength) ? 0 : 1 })
    }

    func multiplied(_ a: Tensor, _ m: Tensor) -> Tensor { Tensor(shape: a.shape, scalars: zip(a.scalars, m.scalars).map { $0 * $1 }) }

    struct StepResult { var y: Tensor; var gx: Tensor?; var gw: Tensor; var gb: Tensor? }

    /// One forward and backward of `op` with L = Σ r ⊙ y, the weight carrying `form` or not.
    func step(x: Tensor, xNeedsGrad: Bool, w: Tensor, b: Tensor?, r: Tensor?, form: SparseTrainingWeight?,
              op: (Variable, Variable, Variable?) -> Variable) -> (StepResult, Tensor) {
        let xv = Variable(x, requiresGrad: xNeedsGrad), wv = Variable(w, requiresGrad: true)
        let bv = b.map { Variable($0, requiresGrad: true) }
        wv.trainingForm = form
        let y = op(xv, wv, bv)
        let rr = r ?? Tensor.uniform(y.shape, low: -1, high: 1, generator: &rGenerator)
        sum(mul(y, Variable(rr))).backward()
        return (StepResult(y: y.value, gx: xv.grad, gw: wv.grad!, gb: bv?.grad), rr)
    }
    var rGenerator = Generator(seed: 99)

    /// Sparse against dense-masked: every output within `tol` relative, and the weight gradient exactly 0 outside.
    func compare(x: Tensor, xNeedsGrad: Bool, w: Tensor, m: Tensor, b: Tensor?, label: String, tol: Double = 1e-5,
                 op: (Variable, Variable, Variable?) -> Variable) {
        let wm = multiplied(w, m)
        let (dense, r) = step(x: x, xNeedsGrad: xNeedsGrad, w: wm, b: b, r: nil, form: nil, op: op)
        let form = SparseTrainingWeight(keep: m)
        let (sparse, _) = step(x: x, xNeedsGrad: xNeedsGrad, w: wm, b: b, r: r, form: form, op: op)
        XCTAssertEqual(form.uses, 1, "\(label): the sparse form ran")
        assertSameValues(sparse.y, dense.y, tolerance: tol, "\(label): forward")
        assertSameValues(sparse.gw, multiplied(dense.gw, m), tolerance: tol, "\(label): weight gradient (masked)")
        XCTAssertTrue(zip(sparse.gw.scalars, m.scalars).allSatisfy { $1 != 0 || $0 == 0 }, "\(label): gradient 0 outside the mask")
        if xNeedsGrad { assertSameValues(sparse.gx!, dense.gx!, tolerance: tol, "\(label): input gradient") } else { XCTAssertNil(sparse.gx) }
        if let gb = dense.gb { assertSameValues(sparse.gb!, gb, tolerance: tol, "\(label): bias gradient") }
    }

    func testSparseTrainingLinearEqualsDenseMasked() {
        var g = Generator(seed: 8101)
        for threads in [1, 2] {
            Threads.set(threads)
            for (n, inF, outF) in [(2, 37, 11), (60, 120, 100), (67, 53, 29), (33, 97, 150)] {
                for sparsity in [0.0, 0.5, 0.9, 0.98, 1.0] {
                    for withBias in [false, true] {
                        let m = mask([outF, inF], sparsity: sparsity, zeroRow: sparsity == 0.5, &g)
                        compare(x: randomTensor([n, inF], &g), xNeedsGrad: n != 2, w: randomTensor([outF, inF], &g), m: m,
                                b: withBias ? randomTensor([outF], &g) : nil,
                                label: "linear n=\(n) \(inF)→\(outF) sparsity \(sparsity) bias \(withBias) threads \(threads)") {
                            linear($0, weight: $1, bias: $2)
                        }
                    }
                }
            }
        }
    }

    func testSparseTrainingLinearAtLeNetShape() {
        var g = Generator(seed: 8108)
        let m = mask([300, 784], sparsity: 0.98, &g)
        compare(x: randomTensor([60, 784], &g), xNeedsGrad: false, w: randomTensor([300, 784], &g), m: m, b: randomTensor([300], &g),
                label: "LeNet-300-100's first layer at 98 %") { linear($0, weight: $1, bias: $2) }
    }

    // (input, weight, stride, padding, input needs a gradient)
    let convConfigs: [([Int], [Int], Int, Int, Bool)] = [
        ([2, 3, 8, 8], [5, 3, 3, 3], 1, 1, false),       // first layer: RGB input, no input gradient
        ([3, 4, 9, 7], [6, 4, 3, 3], 2, 1, true),        // stride 2, odd sizes
        ([2, 5, 8, 8], [7, 5, 3, 3], 1, 0, true),        // no padding
        ([3, 6, 9, 9], [8, 6, 1, 1], 2, 0, true),        // 1×1 stride-2 projection shortcut
        ([2, 6, 6, 6], [4, 6, 1, 1], 1, 0, true),        // 1×1
        ([2, 5, 9, 8], [4, 5, 5, 5], 2, 2, true),        // 5×5 stride 2
        ([4, 16, 16, 16], [16, 16, 3, 3], 1, 1, true),   // a ResNet-20 layer shape, products split over threads
        ([8, 4, 16, 16], [6, 4, 3, 3], 1, 1, true),      // 2,592 positions: the weight gradient in two chunks
        ([3, 40, 2, 2], [48, 40, 3, 3], 1, 1, true),     // VGG's last block: 2×2 images in 4×4 planes
        ([3, 24, 4, 4], [40, 24, 3, 3], 1, 1, true),
    ]

    func testSparseTrainingConvEqualsDenseMasked() {
        var g = Generator(seed: 8102)
        for threads in [1, 2] {
            Threads.set(threads)
            for (xs, ws, s, p, needX) in convConfigs {
                for sparsity in [0.0, 0.9, 0.98] {
                    for withBias in [false, true] {
                        var x = randomTensor(xs, &g)
                        if needX { x = x.in(.channelsLast) }   // activations are channels-last; first-layer input is NCHW
                        compare(x: x, xNeedsGrad: needX, w: randomTensor(ws, &g), m: mask(ws, sparsity: sparsity, &g),
                                b: withBias ? randomTensor([ws[0]], &g) : nil,
                                label: "conv x\(xs) w\(ws) s\(s) p\(p) sparsity \(sparsity) bias \(withBias) threads \(threads)") {
                            conv2d($0, weight: $1, bias: $2, stride: s, padding: p)
                        }
                    }
                }
            }
        }
    }

    func testEveryKernelBuildAgreesWithDense() {
        var g = Generator(seed: 8103)
        for level in [0, 1, 2] where level <= SparseTrainingKernelBuild.level {
            SparseTrainingKernelBuild.limit(level)
            XCTAssertEqual(SparseTrainingKernelBuild.level, level)
            let m = mask([40, 70], sparsity: 0.9, &g)
            compare(x: randomTensor([45, 70], &g), xNeedsGrad: true, w: randomTensor([40, 70], &g), m: m, b: randomTensor([40], &g),
                    label: "linear, build \(SparseTrainingKernelBuild.name)") { linear($0, weight: $1, bias: $2) }
            let (xs, ws) = ([3, 4, 9, 7], [6, 4, 3, 3])
            compare(x: randomTensor(xs, &g).in(.channelsLast), xNeedsGrad: true, w: randomTensor(ws, &g), m: mask(ws, sparsity: 0.7, &g),
                    b: randomTensor([6], &g), label: "conv, build \(SparseTrainingKernelBuild.name)") {
                conv2d($0, weight: $1, bias: $2, stride: 2, padding: 1)
            }
        }
    }

    /// Every product is a fixed-order sum computed in one call, whatever the thread split: results are the same
    /// bits on one and two threads, and on the AVX-512 and AVX2 builds (same lanes, both fused).
    func testResultsAreBitIdenticalAcrossThreadsAndVectorBuilds() {
        var g = Generator(seed: 8104)
        let (xs, ws) = ([8, 16, 16, 16], [16, 16, 3, 3])   // 2,592 positions: two chunks of the weight gradient
        let x = randomTensor(xs, &g).in(.channelsLast), w = randomTensor(ws, &g), m = mask(ws, sparsity: 0.8, &g)
        let xl = randomTensor([64, 300], &g), wl = randomTensor([100, 300], &g), ml = mask([100, 300], sparsity: 0.9, &g)
        let r = Tensor.uniform([8, 16, 16, 16], low: -1, high: 1, generator: &g), rl = Tensor.uniform([64, 100], low: -1, high: 1, generator: &g)
        func run() -> [[Float]] {
            let (c, _) = step(x: x, xNeedsGrad: true, w: multiplied(w, m), b: nil, r: r, form: SparseTrainingWeight(keep: m)) {
                conv2d($0, weight: $1, bias: $2, stride: 1, padding: 1)
            }
            let (l, _) = step(x: xl, xNeedsGrad: true, w: multiplied(wl, ml), b: nil, r: rl, form: SparseTrainingWeight(keep: ml)) {
                linear($0, weight: $1, bias: $2)
            }
            return [c.y.scalars, c.gx!.scalars, c.gw.scalars, l.y.scalars, l.gx!.scalars, l.gw.scalars]
        }
        Threads.set(1)
        let one = run()
        Threads.set(2)
        XCTAssertEqual(run(), one, "one and two threads give the same bits")
        if SparseTrainingKernelBuild.level == 2 {
            SparseTrainingKernelBuild.limit(1)
            XCTAssertEqual(run(), one, "the AVX2 build gives the AVX-512 build's bits")
        }
    }

    /// `.dense` weight gradient (gRDA): sparse forward and input gradient, the full dense weight gradient.
    func testDenseWeightGradientOptionGivesTheUnmaskedGradient() {
        var g = Generator(seed: 8109)
        let ops: [(String, [Int], [Int], (Variable, Variable, Variable?) -> Variable)] = [
            ("linear", [20, 30], [12, 30], { linear($0, weight: $1, bias: $2) }),
            ("conv", [3, 4, 9, 7], [6, 4, 3, 3], { conv2d($0, weight: $1, bias: $2, stride: 2, padding: 1) }),
        ]
        for (label, xs, ws, op) in ops {
            let m = mask(ws, sparsity: 0.8, &g)
            let x = xs.count == 4 ? randomTensor(xs, &g).in(.channelsLast) : randomTensor(xs, &g)
            let w = multiplied(randomTensor(ws, &g), m), b = randomTensor([ws[0]], &g)
            let (dense, r) = step(x: x, xNeedsGrad: true, w: w, b: b, r: nil, form: nil, op: op)
            let (sparse, _) = step(x: x, xNeedsGrad: true, w: w, b: b, r: r, form: SparseTrainingWeight(keep: m, weightGradient: .dense), op: op)
            assertSameValues(sparse.y, dense.y, tolerance: 1e-5, "\(label): forward")
            assertSameValues(sparse.gx!, dense.gx!, tolerance: 1e-5, "\(label): input gradient")
            assertSameValues(sparse.gw, dense.gw, tolerance: 1e-5, "\(label): the dense weight gradient, pruned entries included")
            XCTAssertTrue(zip(sparse.gw.scalars, m.scalars).contains { $1 == 0 && $0 != 0 }, "\(label): nonzero at pruned entries")
        }
    }

    func testGradientCheckOfSparseLinear() {
        var g = Generator(seed: 8105)
        let (xs, ws) = ([5, 9], [7, 9])
        let m = mask(ws, sparsity: 0.6, &g)
        let w = multiplied(randomTensor(ws, &g), m)
        let form = SparseTrainingWeight(keep: m)
        checkOp("sparse training linear", inputs: [OpInput("x", randomTensor(xs, &g)), OpInput("w", w), OpInput("b", randomTensor([7], &g))],
                generator: &g,
                op: { v in
                    v[1].trainingForm = form
                    return linear(v[0], weight: v[1], bias: v[2])
                },
                reference: { d in Ref.linear(d[0], xs, zip(d[1], m.doubles).map { $0 * $1 }, ws, bias: d[2]) })
    }

    func testGradientCheckOfSparseConv() {
        var g = Generator(seed: 8106)
        for (xs, ws, s, p) in [([2, 3, 6, 5], [4, 3, 3, 3], 1, 1), ([2, 3, 7, 7], [4, 3, 3, 3], 2, 1), ([2, 4, 5, 5], [3, 4, 1, 1], 2, 0)] {
            let m = mask(ws, sparsity: 0.5, &g)
            let w = multiplied(randomTensor(ws, &g), m)
            let form = SparseTrainingWeight(keep: m)
            checkOp("sparse training conv x\(xs) w\(ws) s\(s) p\(p)",
                    inputs: [OpInput("x", randomTensor(xs, &g)), OpInput("w", w), OpInput("b", randomTensor([ws[0]], &g))],
                    generator: &g,
                    op: { v in
                        v[1].trainingForm = form
                        return conv2d(v[0], weight: v[1], bias: v[2], stride: s, padding: p)
                    },
                    reference: { d in Ref.conv2d(d[0], xs, zip(d[1], m.doubles).map { $0 * $1 }, ws, bias: d[2], stride: s, padding: p).y })
        }
    }

    /// The form holds no values: after the weight changes, the next forward uses the new values; the gradient
    /// buffer it reuses is never one someone still holds.
    func testFormSurvivesWritesAndNeverOverwritesAHeldGradient() {
        var g = Generator(seed: 8107)
        let m = mask([6, 8], sparsity: 0.5, &g)
        let w = Variable(multiplied(randomTensor([6, 8], &g), m), requiresGrad: true)
        let form = SparseTrainingWeight(keep: m)
        w.trainingForm = form
        let x = Variable(randomTensor([4, 8], &g))
        sum(linear(x, weight: w)).backward()
        let held = w.grad!
        let heldScalars = held.scalars
        w.value.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= 2 } }   // an optimizer-like write
        XCTAssertTrue(w.trainingForm === form, "writes to the value keep the training form")
        w.zeroGrad()
        let y = linear(Variable(randomTensor([4, 8], &g)), weight: w)
        sum(y).backward()
        XCTAssertEqual(held.scalars, heldScalars, "a gradient still held from the previous step is not overwritten")
        let x2 = randomTensor([4, 8], &g)
        let wd = Variable(w.value)
        assertSameValues(linear(Variable(x2), weight: w).value, linear(Variable(x2), weight: wd).value, tolerance: 1e-6,
                         "the forward uses the new values")
    }

    func testStructureAndTransposedOrder() {
        let keep = Tensor(shape: [3, 4], scalars: [0, 1, 0, 1,  1, 0, 0, 0,  0, 1, 1, 0])
        let f = SparseTrainingWeight(keep: keep)
        XCTAssertEqual(f.nonzeros, 5)
        XCTAssertEqual(f.sparsity, 7.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(f.rowPtr, [0, 2, 3, 5])
        XCTAssertEqual(f.colIdx, [1, 3, 0, 1, 2])
        XCTAssertEqual(f.colPtr, [0, 1, 3, 4, 5], "column 0 has one entry, column 1 two, …")
        XCTAssertEqual(f.byColumn, [2, 0, 3, 4, 1], "CSR indices in column order, rows ascending")
        XCTAssertEqual(f.rowOfEntry, [0, 0, 1, 2, 2])
    }

    func testFMAPeakIsPositiveAndScalesWithVectorWidth() {
        let peak = measureFMAPeakGFLOPS(threads: 1, repetitions: 1)
        XCTAssertGreaterThan(peak, 0.5, "one core issues at least 0.5 GFLOP/s of multiply-adds")
        XCTAssertLessThan(peak, 1000, "and not more than any x86 core can")
    }
}
