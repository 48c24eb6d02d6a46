import XCTest
import ShearsOptim
import ShearsTensor

/// SGD against numbers worked out from torch.optim.SGD's documented update rule (by hand for the first two
/// steps; all three steps with a few lines of plain Python that implement that rule, kept in the comments).
final class SGDTests: XCTestCase {
    /// Runs three steps on a scalar parameter p₀ = 1 with fixed gradients 0.5, −0.25, 1.0.
    private func trajectory(_ sgd: SGD) -> [Float] {
        var opt = sgd
        let p = Variable(Tensor(shape: [1], scalars: [1]), requiresGrad: true)
        var out: [Float] = []
        for g in [Float(0.5), -0.25, 1.0] {
            p.grad = Tensor(shape: [1], scalars: [g])
            opt.step([("p", p)])
            out.append(p.value.scalars[0])
        }
        return out
    }

    func testMomentumWithWeightDecay() {
        // Step 1: d = 0.5 + 0.01·1 = 0.51, buf = 0.51, p = 1 − 0.1·0.51 = 0.949.
        // Step 2: d = −0.25 + 0.01·0.949 = −0.24051, buf = 0.9·0.51 − 0.24051 = 0.21849, p = 0.927151.
        let got = trajectory(SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01))
        for (a, b) in zip(got, [0.949, 0.927151, 0.806559749] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testNesterov() {
        // Step 1: d = 0.51, buf = 0.51, d ← d + 0.9·buf = 0.969, p = 1 − 0.0969 = 0.9031.
        let got = trajectory(SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true))
        for (a, b) in zip(got, [0.9031, 0.90757411, 0.698189208] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testDampeningSkipsFirstStep() {
        // PyTorch initialises the buffer with the undampened gradient: buf₁ = 0.5, p = 0.95;
        // buf₂ = 0.9·0.5 + 0.5·(−0.25) = 0.325, p = 0.9175.
        let got = trajectory(SGD(learningRate: 0.1, momentum: 0.9, dampening: 0.5))
        for (a, b) in zip(got, [0.95, 0.9175, 0.83825] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testPlainSGDAndSkippedParameters() {
        var opt = SGD(learningRate: 0.5)
        let p = Variable(Tensor(shape: [2], scalars: [1, 2]), requiresGrad: true)
        let q = Variable(Tensor(shape: [2], scalars: [3, 4]), requiresGrad: true)   // no gradient: untouched
        p.grad = Tensor(shape: [2], scalars: [2, -2])
        opt.step([("p", p), ("q", q)])
        XCTAssertEqual(p.value.scalars, [0, 3])
        XCTAssertEqual(q.value.scalars, [3, 4])
        XCTAssertTrue(opt.momentumBuffers.isEmpty)
    }

    func testMomentumBuffersAreKeyedByName() {
        var opt = SGD(learningRate: 0.1, momentum: 0.9)
        let p = Variable(Tensor(shape: [3], repeating: 1), requiresGrad: true)
        p.grad = Tensor(shape: [3], repeating: 1)
        opt.step([("layer1.0.conv1.weight", p)])
        XCTAssertEqual(Array(opt.momentumBuffers.keys), ["layer1.0.conv1.weight"])
    }
}
