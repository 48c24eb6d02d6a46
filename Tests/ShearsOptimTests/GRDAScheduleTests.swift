import XCTest
import ShearsOptim

/// The gRDA paper's schedules (spec §2): constant-and-drop and the CIFAR 50%/90% schedule, against hand-derived values.
final class GRDAScheduleTests: XCTestCase {
    func testConstantAndDrop() {
        // ImageNet "drop once": 0.1 before iteration 140·5005, 0.01 from there on.
        let s = ConstantAndDropLR(base: 0.1, dropAt: 700_700)
        XCTAssertEqual(s.rate(at: 0), 0.1)
        XCTAssertEqual(s.rate(at: 700_699), 0.1)
        XCTAssertEqual(s.rate(at: 700_700), 0.1 * 0.1, accuracy: 1e-15)
        XCTAssertEqual(s.learningRate(iteration: 750_000), Float(0.01), accuracy: 1e-9)
        XCTAssertEqual(ConstantAndDropLR(base: 0.5, dropAt: 3, factor: 0.5).rate(at: 3), 0.25)
    }

    /// T = 10 epochs of 3 iterations, base 0.1. Epoch e (1-based) has α = e/10:
    /// e ≤ 5: 1;  e = 6: 1 − 0.1/0.4·0.99 = 0.7525;  e = 7: 1 − 0.5·0.99 = 0.505;  e = 8: 1 − 0.75·0.99 = 0.2575;
    /// e = 9 (α = 0.9): 1 − 0.99 = 0.01;  e = 10: 0.01.
    func testCIFARScheduleByEpoch() {
        let s = CIFARDecayLR(base: 0.1, totalEpochs: 10, iterationsPerEpoch: 3)
        let factors = [1, 1, 1, 1, 1, 0.7525, 0.505, 0.2575, 0.01, 0.01]
        for (i, f) in factors.enumerated() {
            XCTAssertEqual(s.factor(epoch: i + 1), f, accuracy: 1e-12, "epoch \(i + 1)")
            for t in (3 * i)..<(3 * i + 3) { XCTAssertEqual(s.rate(at: t), 0.1 * f, accuracy: 1e-12, "iteration \(t)") }
        }
        // The paper's WRN runs: 200 epochs of 391 steps; epoch 100 is the last at the full rate, epoch 180 the first at 1%.
        let wrn = CIFARDecayLR(base: 0.1, totalEpochs: 200, iterationsPerEpoch: 391)
        XCTAssertEqual(wrn.rate(at: 99 * 391 + 390), 0.1)
        XCTAssertLessThan(wrn.rate(at: 100 * 391), 0.1)
        XCTAssertEqual(wrn.rate(at: 179 * 391), 0.001, accuracy: 1e-12)
        XCTAssertGreaterThan(wrn.rate(at: 178 * 391), 0.001)
    }
}
