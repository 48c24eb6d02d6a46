import XCTest
import ShearsOptim
import ShearsTensor

/// Adam and RMSprop against torch.optim's documented update rules. Step 1 is worked by hand in the comments;
/// all three steps come from a few lines of plain Python implementing the same rules.
final class AdaptiveOptimizerTests: XCTestCase {
    private func trajectory<O: Optimizer>(_ optimizer: O) -> [Float] {
        var opt = optimizer
        let p = Variable(Tensor(shape: [1], scalars: [1]), requiresGrad: true)
        return [Float(0.5), -0.25, 1.0].map { g in
            p.grad = Tensor(shape: [1], scalars: [g])
            opt.step([("p", p)])
            return p.value.scalars[0]
        }
    }

    func testAdam() {
        // t = 1: m = 0.05, v = 2.5e-4, m̂ = 0.5, √v̂ = 0.5 → p = 1 − 0.1·0.5/0.5 = 0.9.
        for (a, b) in zip(trajectory(Adam(learningRate: 0.1)), [0.9, 0.8733662987, 0.8075551397] as [Float]) {
            XCTAssertEqual(a, b, accuracy: 2e-6)
        }
        for (a, b) in zip(trajectory(Adam(learningRate: 0.1, weightDecay: 0.1)), [0.9, 0.8544413675, 0.7815043999] as [Float]) {
            XCTAssertEqual(a, b, accuracy: 2e-6)
        }
    }

    func testRMSprop() {
        // Step 1: v = 0.01·0.25 = 0.0025, g/√v = 10 → p = 1 − 0.01·10 = 0.9.
        for (a, b) in zip(trajectory(RMSprop(learningRate: 0.01)), [0.9, 0.9449013374, 0.8574273784] as [Float]) {
            XCTAssertEqual(a, b, accuracy: 2e-6)
        }
        for (a, b) in zip(trajectory(RMSprop(learningRate: 0.01, weightDecay: 0.01, momentum: 0.9)), [0.9, 0.8529005249, 0.7230457967] as [Float]) {
            XCTAssertEqual(a, b, accuracy: 2e-6)
        }
    }

    /// Saving and restoring state mid-run continues on exactly the same trajectory.
    func testStateRoundTripContinuesIdentically() throws {
        func run(_ make: () -> any Optimizer, restartAfter: Int?) throws -> [Float] {
            var opt = make()
            let p = Variable(Tensor(shape: [3], scalars: [1, -2, 0.5]), requiresGrad: true)
            for k in 0..<6 {
                if k == restartAfter {
                    let saved = opt.state
                    opt = make()
                    try opt.loadState(saved)
                }
                p.grad = Tensor(shape: [3], scalars: [Float(k) * 0.1 - 0.2, 0.3, -0.05 * Float(k)])
                opt.step([("w", p)])
            }
            return p.value.scalars
        }
        let makers: [() -> any Optimizer] = [
            { SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true) },
            { Adam(learningRate: 0.01, weightDecay: 1e-3) },
            { RMSprop(learningRate: 0.01, momentum: 0.5) },
        ]
        for make in makers {
            XCTAssertEqual(try run(make, restartAfter: nil), try run(make, restartAfter: 3))
        }
    }

    func testUnknownStateKeyIsNamed() {
        var adam = Adam()
        XCTAssertThrowsError(try adam.loadState(["velocity/fc1.weight": Tensor(0)])) { error in
            XCTAssertTrue("\(error)".contains("velocity/fc1.weight"), "\(error)")
        }
    }
}

final class LRScheduleTests: XCTestCase {
    func testSchedules() {
        XCTAssertEqual(ConstantLR(0.1).learningRate(iteration: 1000), 0.1)
        let step = StepLR(base: 0.1, stepSize: 10, gamma: 0.5)
        XCTAssertEqual(step.learningRate(iteration: 9), 0.1, accuracy: 1e-9)
        XCTAssertEqual(step.learningRate(iteration: 10), 0.05, accuracy: 1e-9)
        XCTAssertEqual(step.learningRate(iteration: 25), 0.025, accuracy: 1e-9)
        let multi = MultiStepLR(base: 1, milestones: [30, 10], gamma: 0.1)
        XCTAssertEqual(multi.learningRate(iteration: 9), 1, accuracy: 1e-7)
        XCTAssertEqual(multi.learningRate(iteration: 10), 0.1, accuracy: 1e-7)
        XCTAssertEqual(multi.learningRate(iteration: 30), 0.01, accuracy: 1e-8)
        let cos = CosineLR(base: 0.2, totalIterations: 100, minimum: 0)
        XCTAssertEqual(cos.learningRate(iteration: 0), 0.2, accuracy: 1e-7)
        XCTAssertEqual(cos.learningRate(iteration: 50), 0.1, accuracy: 1e-7)
        XCTAssertEqual(cos.learningRate(iteration: 100), 0, accuracy: 1e-7)
        XCTAssertEqual(cos.learningRate(iteration: 25), Float(0.1 * (1 + 0.5.squareRoot())), accuracy: 1e-6)
    }
}
