import Foundation
import XCTest
@testable import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsPrune

/// `prune oneshot --at-init` with the sparse-aware scale: a killed fine-tuning resumes bit-identical, i.e. the weights
/// read from the checkpoint are not rescaled again.
final class OneShotPruningTests: RunTestCase {
    func testFanInAtInitialisationResumesBitIdentical() throws {
        var c = OneShotConfig()
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.split = .pooled
        c.training.batchSize = 50
        c.training.lr = 0.05
        c.training.momentum = 0.9
        c.training.evalEvery = StepSpec(8, .iterations)
        c.atInit = true
        c.criterion = "random"
        c.sparsity = 0.9
        c.finetuneEpochs = 1
        c.sparseInit = .fanIn
        func weights(_ d: RunDirectory) throws -> [String: [Float]] {
            try SafetensorsFile.read(path: d.path("model.safetensors")).tensors.mapValues(\.scalars)
        }
        let a = try dir("full"), b = try dir("resumed")
        let full = try OneShotPruning.run(c, in: a, options: quietOptions())
        XCTAssertThrowsError(try OneShotPruning.run(c, in: b, options: quietOptions(stopAfterIteration: 13))) {
            XCTAssertTrue($0 is TrainingInterrupted, "\($0)")
        }
        let resumed = try OneShotPruning.run(c, in: b, options: quietOptions())
        XCTAssertTrue(try weights(a) == weights(b), "the weights differ after resume")
        XCTAssertEqual(full.testAccuracyPruned, resumed.testAccuracyPruned)
        XCTAssertEqual(full.testAccuracyFinal, resumed.testAccuracyFinal)
        // And the config.json of a run from before --sparse-init reads as the dense scale.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any])
        XCTAssertEqual(object.removeValue(forKey: "sparseInit") as? String, "fan-in")
        XCTAssertEqual(try JSONDecoder().decode(OneShotConfig.self, from: JSONSerialization.data(withJSONObject: object)).sparseInit, nil)
    }
}
