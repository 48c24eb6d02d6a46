import ArgumentParser
import Foundation
import ShearsIO
import XCTest
@testable import shears

/// `shears bench infer` as a user types it: refusals that name the flag, a whole-model run and a one-layer run
/// (each checks dense against sparse outputs itself and throws on disagreement), and an unknown layer name.
final class BenchInferCommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "1"], "--sparsity"),
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "-0.1"], "--sparsity"),
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.9", "--batch-size", "0"], "--batch-size"),
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.9", "--iterations", "0"], "--iterations"),
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.9", "--threads", "0"], "--threads"),
            (["bench", "infer", "--model", "resnet20", "--sparsity", "0.9", "--conv-layers", "--layer", "conv1.weight"], "--conv-layers"),
            (["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.9", "--weights", "/nonexistent/w.safetensors"], "--weights"),
            (["bench", "infer", "--model", "lenet-5", "--sparsity", "0.9"], "model"),
        ]
        for (args, expected) in cases {
            guard let message = refusal(args) else { XCTFail("\(args) was accepted"); continue }
            XCTAssertTrue(message.contains(expected), "\(args): message \(message) should name \(expected)")
        }
    }

    func testWholeModelAndOneLayerRunAndAgree() throws {
        let weights = FileManager.default.temporaryDirectory.appendingPathComponent("bench-infer-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: weights) }
        try run(["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.9", "--batch-size", "3",
                 "--iterations", "2", "--repetitions", "1", "--threads", "1", "--save-weights", weights])
        // --save-weights: the pruned weights the run timed, 90 % zeros in every layer's weight.
        let file = try SafetensorsFile.read(path: weights)
        for name in ["fc1.weight", "fc2.weight", "fc3.weight"] {
            let w = try XCTUnwrap(file.tensors[name], name).scalars
            XCTAssertEqual(Double(w.filter { $0 == 0 }.count) / Double(w.count), 0.9, accuracy: 0.01, name)
        }
        try run(["bench", "infer", "--model", "resnet20", "--sparsity", "0.8", "--batch-size", "2",
                 "--iterations", "1", "--repetitions", "1", "--layer", "layer2.0.conv1.weight"])
    }

    func testUnknownLayerIsRefusedListingTheLayers() {
        XCTAssertThrowsError(try run(["bench", "infer", "--model", "lenet300-100", "--sparsity", "0.5", "--layer", "fc9.weight",
                                      "--iterations", "1", "--repetitions", "1"])) { error in
            let message = Shears.message(for: error)
            XCTAssertTrue(message.contains("fc9.weight") && message.contains("fc1.weight"), message)
        }
    }
}
