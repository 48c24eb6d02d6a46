// The Tensor value type: creation, shape manipulation, reductions, memory formats, copy-on-write and
// initialisers.

import XCTest
@testable import ShearsTensor

final class TensorTests: XCTestCase {

    // MARK: creation

    func testCreation() {
        let z = Tensor.zeros([2, 3])
        XCTAssertEqual(z.shape, [2, 3])
        XCTAssertEqual(z.count, 6)
        XCTAssertEqual(z.rank, 2)
        XCTAssertEqual(z.format, .contiguous)
        XCTAssertEqual(z.scalars, [Float](repeating: 0, count: 6))
        XCTAssertEqual(Tensor.ones([4]).scalars, [1, 1, 1, 1])
        XCTAssertEqual(Tensor.full([2, 2], 3.5).scalars, [3.5, 3.5, 3.5, 3.5])
        XCTAssertEqual(Tensor(shape: [3], repeating: -2).scalars, [-2, -2, -2])
        let s = Tensor(2.5)
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.rank, 0)
        XCTAssertEqual(s.scalar, 2.5)
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t[1, 0], 4)
        XCTAssertEqual(t[0, 2], 3)
        XCTAssertEqual(Tensor.zeros([0, 3]).count, 0)
        // zeros(like:) keeps shape and memory format.
        let cl = Tensor.ones([1, 2, 3, 3]).channelsLast()
        let zl = Tensor.zeros(like: cl)
        XCTAssertEqual(zl.shape, cl.shape)
        XCTAssertEqual(zl.format, .channelsLast)
        XCTAssertEqual(zl.sum(), 0)
        // Only rank 4 can be channels-last.
        XCTAssertEqual(Tensor(uninitializedShape: [2, 3], format: .channelsLast).format, .contiguous)
        XCTAssertTrue(t.description.contains("[2, 3]"))
    }

    // MARK: shape

    func testReshapeAndFlatten() {
        let t = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let r = t.reshaped([4, -1])
        XCTAssertEqual(r.shape, [4, 6])
        XCTAssertEqual(r.scalars, t.scalars)
        XCTAssertEqual(t.reshaped([-1]).shape, [24])
        XCTAssertEqual(t.reshaped([2, -1, 3]).shape, [2, 4, 3])
        XCTAssertEqual(t.flattened().shape, [2, 12])
        XCTAssertEqual(t.flattened(startDim: 0).shape, [24])
        XCTAssertEqual(t.flattened(startDim: 2).shape, [2, 3, 4])
        XCTAssertEqual(t.flattened().scalars, t.scalars)
        // A channels-last tensor reshapes in logical (NCHW) order.
        let img = Tensor(shape: [2, 3, 2, 2], scalars: (0..<24).map(Float.init))
        let f = img.channelsLast().flattened()
        XCTAssertEqual(f.shape, [2, 12])
        XCTAssertEqual(f.format, .contiguous)
        XCTAssertEqual(f.scalars, img.scalars)
        // Formats that store identically (C == 1, or H·W == 1) reshape without a copy and still right.
        let c1 = Tensor(shape: [2, 1, 2, 3], scalars: (0..<12).map(Float.init)).channelsLast()
        XCTAssertEqual(c1.reshaped([2, 6]).scalars, (0..<12).map(Float.init))
        let hw1 = Tensor(shape: [2, 5, 1, 1], scalars: (0..<10).map(Float.init)).channelsLast()
        XCTAssertEqual(hw1.flattened().scalars, (0..<10).map(Float.init))
    }

    func testTranspose() {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let tt = t.transposed()
        XCTAssertEqual(tt.shape, [3, 2])
        XCTAssertEqual(tt.scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(tt.transposed().scalars, t.scalars)
        for i in 0..<2 { for j in 0..<3 { XCTAssertEqual(t[i, j], tt[j, i]) } }
    }

    func testSliceAndGather() {
        let t = Tensor(shape: [4, 2, 3], scalars: (0..<24).map(Float.init))
        let s = t.slice(batch: 1..<3)
        XCTAssertEqual(s.shape, [2, 2, 3])
        XCTAssertEqual(s.scalars, (6..<18).map(Float.init))
        XCTAssertEqual(t.slice(batch: 0..<0).shape, [0, 2, 3])
        let gth = t.gather(batch: [3, 0, 3])
        XCTAssertEqual(gth.shape, [3, 2, 3])
        XCTAssertEqual(gth.scalars, (18..<24).map(Float.init) + (0..<6).map(Float.init) + (18..<24).map(Float.init))
        // Slicing a channels-last batch gives logical rows.
        let img = Tensor(shape: [3, 2, 2, 2], scalars: (0..<24).map(Float.init))
        XCTAssertEqual(img.channelsLast().slice(batch: 2..<3).scalars, (16..<24).map(Float.init))
        XCTAssertEqual(img.channelsLast().gather(batch: [1]).scalars, (8..<16).map(Float.init))
    }

    // MARK: reductions and comparisons

    func testArgmaxCountEqualAndAccuracy() {
        let t = Tensor(shape: [4, 3], scalars: [1, 5, 5,   // tie → first index
                                                 7, 7, 7,   // all equal → 0
                                                 -1, -3, -0.5,
                                                 0, 0, 1])
        XCTAssertEqual(t.argmax(), [1, 0, 2, 2])
        XCTAssertEqual(Tensor(shape: [2, 1], scalars: [3, 4]).argmax(), [0, 0])
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 3], scalars: [1, 0, 3, 4, 0, 0])
        XCTAssertEqual(a.countEqual(b), 3)
        XCTAssertEqual(a.countEqual(a), 6)
        XCTAssertEqual(accuracy(logits: t, labels: [1, 0, 1, 2]), 0.75)
        // countEqual across memory formats compares logical elements.
        let img = Tensor(shape: [1, 2, 2, 2], scalars: (0..<8).map(Float.init))
        XCTAssertEqual(img.countEqual(img.channelsLast()), 8)
        XCTAssertEqual(img.channelsLast().countEqual(img), 8)
    }

    func testSumMeanNormAndFriends() {
        let t = Tensor(shape: [2, 3], scalars: [1, -2, 3, 4, -5, 6])
        XCTAssertEqual(t.sum(), 7)
        XCTAssertEqual(t.mean(), 7.0 / 6.0, accuracy: 1e-6)
        XCTAssertEqual(t.norm(), Float(91).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(t.max(), 6)
        XCTAssertEqual(t.min(), -5)
        XCTAssertEqual(t.sumRows().scalars, [5, -7, 9])
        XCTAssertEqual(t.dot(t), 91)
        XCTAssertTrue(Tensor.zeros([0]).mean().isNaN)
        XCTAssertTrue(t.isFinite)
        XCTAssertFalse(Tensor(shape: [2], scalars: [1, .nan]).isFinite)
        XCTAssertFalse(Tensor(shape: [2], scalars: [.infinity, 1]).isFinite)
        XCTAssertEqual(t.maxAbsDifference(t + 0.25), 0.25)
        // Sums accumulate in Double: a million 0.1s do not drift the way a float32 running sum would.
        XCTAssertEqual(Double(Tensor.full([1_000_000], 0.1).sum()), 100_000, accuracy: 0.5)
        // Elementwise arithmetic.
        let u = Tensor(shape: [2, 3], scalars: [1, 1, 1, 2, 2, 2])
        XCTAssertEqual((t + u).scalars, [2, -1, 4, 6, -3, 8])
        XCTAssertEqual((t - u).scalars, [0, -3, 2, 2, -7, 4])
        XCTAssertEqual((t * u).scalars, [1, -2, 3, 8, -10, 12])
        XCTAssertEqual((t / u).scalars, [1, -2, 3, 2, -2.5, 3])
        XCTAssertEqual((2 * t).scalars, (t * 2).scalars)
        XCTAssertEqual((-t).scalars, t.scalars.map { -$0 })
        XCTAssertEqual((t + 1).scalars, t.scalars.map { $0 + 1 })
        XCTAssertEqual((t / 2).scalars, t.scalars.map { $0 / 2 })
        var acc = t
        acc.addScaled(u, alpha: -2)
        XCTAssertEqual(acc.scalars, [-1, -4, 1, 0, -9, 2])
        acc.scale(by: 0.5)
        XCTAssertEqual(acc.scalars, [-0.5, -2, 0.5, 0, -4.5, 1])
    }

    // MARK: memory formats

    func testChannelsLastRoundTripAndSubscripts() {
        var g = Generator(seed: 2001)
        let shape = [3, 4, 5, 7]
        let t = randomTensor(shape, &g)
        let cl = t.channelsLast()
        XCTAssertEqual(cl.format, .channelsLast)
        XCTAssertEqual(cl.shape, shape, "the shape stays logical NCHW")
        XCTAssertEqual(cl.scalars, t.scalars, "scalars are logical whatever the format")
        let back = cl.contiguous()
        XCTAssertEqual(back.format, .contiguous)
        XCTAssertEqual(back.scalars, t.scalars)
        XCTAssertEqual(t.in(.channelsLast).format, .channelsLast)
        XCTAssertEqual(cl.in(.contiguous).scalars, t.scalars)
        XCTAssertEqual(cl.channelsLast().format, .channelsLast)
        // Subscripts agree across formats; storage order is NHWC for channels-last.
        let raw = cl.withUnsafeBufferPointer { Array($0) }
        for n in 0..<3 { for c in 0..<4 { for h in 0..<5 { for w in 0..<7 {
            XCTAssertEqual(t[n, c, h, w], cl[n, c, h, w])
            XCTAssertEqual(raw[((n * 5 + h) * 7 + w) * 4 + c], t[n, c, h, w])
        } } } }
        // Writing through a subscript lands on the same logical element in either format.
        var a = t, b = cl
        a[2, 3, 4, 6] = 42
        b[2, 3, 4, 6] = 42
        a[1, 0, 2, 5] = -9
        b[1, 0, 2, 5] = -9
        XCTAssertEqual(a.scalars, b.scalars)
        // Mixed-format arithmetic takes the left operand's format and logical values.
        let sumMixed = cl + t
        XCTAssertEqual(sumMixed.format, .channelsLast)
        XCTAssertEqual(sumMixed.scalars, t.scalars.map { $0 * 2 })
        XCTAssertEqual((t + cl).format, .contiguous)
        XCTAssertEqual((t + cl).scalars, sumMixed.scalars)
        XCTAssertEqual(cl.map { $0 * 3 }.format, .channelsLast)
        XCTAssertEqual(cl.map { $0 * 3 }.scalars, t.scalars.map { $0 * 3 })
        XCTAssertEqual(cl.dot(t), t.dot(t), accuracy: 1e-9 * t.dot(t))   // same terms, different order
        XCTAssertEqual(cl.maxAbsDifference(t), 0)
    }

    func testCopyOnWrite() {
        let original = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        var copy = original
        copy[0, 0] = 100
        XCTAssertEqual(original[0, 0], 1, "writing a copy must not change the original")
        XCTAssertEqual(copy[0, 0], 100)

        var viaBuffer = original
        viaBuffer.withUnsafeMutableBufferPointer { $0[5] = -1 }
        XCTAssertEqual(original.scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(viaBuffer.scalars, [1, 2, 3, 4, 5, -1])

        var scaled = original
        scaled.scale(by: 2)
        var added = original
        added.addScaled(original, alpha: 1)
        XCTAssertEqual(original.scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(scaled.scalars, added.scalars)

        // Reshape shares storage; writing the reshaped tensor must copy.
        var reshaped = original.reshaped([3, 2])
        reshaped[2, 1] = 0
        XCTAssertEqual(original.scalars, [1, 2, 3, 4, 5, 6])

        // A variable's value is a copy too: updating a parameter leaves a tensor taken from it alone.
        let p = Variable(original, requiresGrad: true)
        let snapshot = p.value
        p.value.scale(by: 10)
        XCTAssertEqual(snapshot.scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(p.value.scalars, [10, 20, 30, 40, 50, 60])

        // A uniquely referenced tensor is written in place (no needless copy).
        var unique = Tensor.zeros([4])
        let before = unique.withUnsafeBufferPointer { $0.baseAddress }
        unique[1] = 1
        XCTAssertEqual(unique.withUnsafeBufferPointer { $0.baseAddress }, before)
    }

    // MARK: initialisers

    func testFans() {
        XCTAssertTrue(Tensor.fans([4, 3]) == (3, 4))
        XCTAssertTrue(Tensor.fans([16, 8, 3, 3]) == (72, 144))
        XCTAssertTrue(Tensor.fans([10, 20, 3]) == (60, 30))
        XCTAssertTrue(Tensor.fans([32, 16, 1, 1]) == (16, 32))
    }

    func testKaimingNormalStatistics() {
        var g = Generator(seed: 2002)
        let shape = [256, 512]
        for (mode, fan) in [(Tensor.FanMode.fanIn, 512.0), (.fanOut, 256.0)] {
            let t = Tensor.kaimingNormal(shape, mode: mode, generator: &g)
            let expectedStd = (2.0 / fan).squareRoot()
            let m = Double(t.mean())
            let std = (t.doubles.reduce(0.0) { $0 + ($1 - m) * ($1 - m) } / Double(t.count)).squareRoot()
            XCTAssertEqual(m, 0, accuracy: 0.01 * expectedStd * 5, "\(mode) mean")
            XCTAssertEqual(std, expectedStd, accuracy: 0.05 * expectedStd, "\(mode) std")
        }
        // A custom gain scales the std.
        let t = Tensor.kaimingNormal(shape, gain: 1, generator: &g)
        let std = (t.doubles.reduce(0.0) { $0 + $1 * $1 } / Double(t.count)).squareRoot()
        XCTAssertEqual(std, (1.0 / 512).squareRoot(), accuracy: 0.05 * (1.0 / 512).squareRoot())
    }

    func testKaimingUniformStatistics() {
        var g = Generator(seed: 2003)
        let shape = [256, 512]
        let gains: [(Float, String)] = [(Float(2).squareRoot(), "relu"), (Float(1.0 / 3.0).squareRoot(), "PyTorch default (a = √5)")]
        for (gain, name) in gains {
            let t = Tensor.kaimingUniform(shape, gain: gain, generator: &g)
            let bound = Double(gain) * (3.0 / 512).squareRoot()
            XCTAssertLessThanOrEqual(Double(t.max()), bound, name)
            XCTAssertGreaterThanOrEqual(Double(t.min()), -bound, name)
            XCTAssertGreaterThan(Double(t.max()), 0.99 * bound, "\(name): the range is used up to the bound")
            XCTAssertLessThan(Double(t.min()), -0.99 * bound, name)
            let std = (t.doubles.reduce(0.0) { $0 + $1 * $1 } / Double(t.count)).squareRoot()
            XCTAssertEqual(std, bound / 3.0.squareRoot(), accuracy: 0.05 * bound / 3.0.squareRoot(), "\(name) std")
        }
        // PyTorch's default for a Linear(512 → 256) weight is U(−1/√512, 1/√512).
        let w = Tensor.kaimingUniform([256, 512], gain: Float(1.0 / 3.0).squareRoot(), generator: &g)
        XCTAssertLessThanOrEqual(Double(w.max()), 1 / 512.0.squareRoot() * (1 + 1e-6))
        // fanOut mode uses dimension 0 times the receptive field.
        let c = Tensor.kaimingUniform([8, 4, 3, 3], mode: .fanOut, generator: &g)
        XCTAssertLessThanOrEqual(Double(c.max().magnitude), 2.0.squareRoot() * (3.0 / 72).squareRoot() * (1 + 1e-6))
        XCTAssertLessThanOrEqual(Double(c.min().magnitude), 2.0.squareRoot() * (3.0 / 72).squareRoot() * (1 + 1e-6))
    }

    func testUniformAndNormalTensors() {
        var g = Generator(seed: 2004)
        let u = Tensor.uniform([10_000], low: -2, high: 3, generator: &g)
        XCTAssertGreaterThanOrEqual(u.min(), -2)
        XCTAssertLessThan(u.max(), 3)
        XCTAssertEqual(Double(u.mean()), 0.5, accuracy: 0.05)
        let n = Tensor.normal([20_000], mean: 3, std: 0.5, generator: &g)
        XCTAssertEqual(Double(n.mean()), 3, accuracy: 0.02)
        let sd = (n.doubles.reduce(0.0) { $0 + ($1 - 3) * ($1 - 3) } / Double(n.count)).squareRoot()
        XCTAssertEqual(sd, 0.5, accuracy: 0.02)
    }
}
