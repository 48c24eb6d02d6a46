import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsTensor

/// `analyze hessian` says one true thing about accuracy: Lanczos' own residual estimates (which assume an exactly
/// linear operator) are not offered as the eigenpairs' accuracy; the measured residuals are.
final class HessianMessageTests: RunTestCase {
    func testMessagesDoNotCallLanczosEstimatesTheAccuracy() throws {
        var config = TrainingConfig()
        config.model = .lenet300100
        config.dataset = .synthetic
        config.validation = 0
        var g = Generator(seed: 3)
        let model = try makeModel(.lenet300100, inputShape: [1, 8, 8], classes: 10, generator: &g)   // the synthetic set: 8×8
        let weights = scratch.appendingPathComponent("model.safetensors").path
        try saveStateDict(model, to: weights)
        var o = HessianOptions()
        o.k = 2; o.examples = 50; o.batchSize = 50; o.maxIterations = 6
        var said: [String] = []
        let report = try HessianAnalysis.run(runConfig: config, weights: weights, options: o, out: try dir("hessian")) { said.append($0) }
        let text = said.joined(separator: "\n")
        XCTAssertFalse(text.contains("residual estimate "), "no per-eigenvalue Lanczos estimate offered as accuracy: \(text)")
        XCTAssertFalse(text.contains(", converged,"), text)
        let steps = try XCTUnwrap(said.first { $0.contains("Lanczos steps") }, text)
        XCTAssertTrue(steps.contains("do not bound the error"), steps)
        let measured = try XCTUnwrap(said.first { $0.hasPrefix("accuracy of the eigenpairs") }, text)
        XCTAssertTrue(measured.contains(String(format: "%.1e", report.relativeResiduals[0])), measured)
    }
}
