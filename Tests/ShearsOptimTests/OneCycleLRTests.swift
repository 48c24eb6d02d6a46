import XCTest
import ShearsOptim

/// OneCycleLR against `torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100)` with its defaults,
/// values printed by PyTorch 2.3.1 (`opt.param_groups[0]['lr']` before each of the 100 steps).
final class OneCycleLRTests: XCTestCase {
    func testMatchesPyTorch() {
        let s = OneCycleLR(maxLR: 0.1, totalIterations: 100)
        let pytorch: [(Int, Double)] = [(0, 0.0040000000000000036), (10, 0.029516394846410082), (29, 0.1),
                                         (30, 0.09994965352845243), (64, 0.0500002), (99, 4e-07)]
        for (t, expected) in pytorch {
            XCTAssertEqual(s.rate(at: t), expected, accuracy: 1e-12 + 1e-9 * expected, "iteration \(t)")
        }
        // By hand: initial = 0.1/25 = 0.004, minimum = 0.004/1e4 = 4e-7; the peak is at 0.3·100 − 1 = 29.
        XCTAssertEqual(s.initialLR, 0.004, accuracy: 1e-15)
        XCTAssertEqual(s.minimumLR, 4e-7, accuracy: 1e-18)
        XCTAssertEqual(Double(s.learningRate(iteration: 29, cycle: 3)), 0.1, accuracy: 1e-7, "cycles restart it")
        XCTAssertEqual(s.rate(at: 500), s.rate(at: 99), "held at the end after the last step")
    }
}
