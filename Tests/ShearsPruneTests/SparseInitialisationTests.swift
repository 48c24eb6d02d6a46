import XCTest
import ShearsPrune
import ShearsTensor

/// `SparseInitialisation` (Evci et al. 2022's sparse-aware scale): per output unit, × √(dense fan-in / kept fan-in).
final class SparseInitialisationTests: XCTestCase {
    /// A linear weight [3, 4]: unit 0 keeps 2 of 4 (× √2), unit 1 keeps 1 (× 2), unit 2 keeps none (stays 0).
    func testLinearUnitsByHand() {
        let w = Variable(tensor([3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))
        let mask = Mask(["w": tensor([3, 4], [1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0])])
        mask.apply(to: [("w", w)])
        SparseInitialisation.fanIn.apply(to: [("w", w)], mask: mask)
        let r2 = Float(2).squareRoot()
        XCTAssertEqual(w.value.scalars, [r2, 0, 3 * r2, 0, 0, 0, 0, 16, 0, 0, 0, 0])
    }

    /// A conv weight [2, 2, 2, 2] (fan-in 8 = 2 channels × 2 × 2) stored channels-last: unit 0 keeps 2 (× 2), unit 1
    /// keeps 8 (× 1). The scale follows the logical layout whatever the memory format.
    func testConvUnitsInEitherMemoryFormat() {
        var m = [Float](repeating: 0, count: 16)
        m[3] = 1; m[6] = 1
        for i in 8..<16 { m[i] = 1 }
        let logical = (0..<16).map { Float($0 + 1) }
        for channelsLast in [false, true] {
            var t = tensor([2, 2, 2, 2], logical)
            if channelsLast { t = t.channelsLast() }
            let w = Variable(t)
            let mask = Mask(["conv": tensor([2, 2, 2, 2], m)])
            mask.apply(to: [("conv", w)])
            SparseInitialisation.fanIn.apply(to: [("conv", w)], mask: mask)
            var expected = [Float](repeating: 0, count: 16)
            expected[3] = 2 * 4; expected[6] = 2 * 7
            for i in 8..<16 { expected[i] = logical[i] }
            XCTAssertEqual(w.value.scalars, expected, "channels-last \(channelsLast)")
        }
    }

    /// `dense` changes nothing; parameters without a mask (biases) are left alone.
    func testDenseAndUnmaskedAreUntouched() {
        let w = Variable(tensor([2, 2], [1, 2, 3, 4])), b = Variable(tensor([2], [5, 6]))
        let mask = Mask(["w": tensor([2, 2], [1, 0, 1, 1])])
        SparseInitialisation.dense.apply(to: [("w", w), ("b", b)], mask: mask)
        XCTAssertEqual(w.value.scalars, [1, 2, 3, 4])
        SparseInitialisation.fanIn.apply(to: [("w", w), ("b", b)], mask: mask)
        XCTAssertEqual(b.value.scalars, [5, 6])
    }

    /// Why: with unit-variance inputs a unit's pre-activation variance is Σⱼ wᵢⱼ². A [256, 512] layer initialised at
    /// variance 1/512 gives ≈ 1; pruned at random to 10 % it gives ≈ 0.1, and rescaled to its sparse fan-in ≈ 1 again.
    func testRescalingRestoresTheDenseVariance() {
        var g = Generator(seed: 7)
        let (units, fanIn) = (256, 512)
        let dense = Tensor.normal([units, fanIn], generator: &g).scalars.map { $0 / Float(fanIn).squareRoot() }
        let keep = (0..<units * fanIn).map { _ in Float(g.nextInt(below: 10) == 0 ? 1 : 0) }
        func meanGain(_ w: [Float]) -> Double {
            (0..<units).map { u in (0..<fanIn).reduce(0.0) { $0 + Double(w[u * fanIn + $1] * w[u * fanIn + $1]) } }.reduce(0, +) / Double(units)
        }
        XCTAssertEqual(meanGain(dense), 1, accuracy: 0.05)
        let w = Variable(tensor([units, fanIn], dense)), mask = Mask(["w": tensor([units, fanIn], keep)])
        mask.apply(to: [("w", w)])
        XCTAssertEqual(meanGain(w.value.scalars), 0.1, accuracy: 0.02, "pruned at the dense scale")
        SparseInitialisation.fanIn.apply(to: [("w", w)], mask: mask)
        XCTAssertEqual(meanGain(w.value.scalars), 1, accuracy: 0.05, "rescaled to the sparse fan-in")
    }
}
