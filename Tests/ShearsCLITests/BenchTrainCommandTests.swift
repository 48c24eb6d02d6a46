import ArgumentParser
import Foundation
import XCTest
@testable import shears

/// `shears bench train --sparsity` as a user types it: refusals that name the flag, and runs that train a
/// dense-masked and a sparse copy side by side (the command itself throws when their losses disagree).
final class BenchTrainCommandTests: CommandTestCase {
    func testNonsenseSparseFlagsAreRefusedNamingTheFlag() {
        let cases: [([String], String)] = [
            (["bench", "train", "--model", "mlp", "--sparsity", "1"], "--sparsity"),
            (["bench", "train", "--model", "mlp", "--sparsity", "-0.1"], "--sparsity"),
            (["bench", "train", "--model", "mlp", "--sparsity", "nan"], "--sparsity"),
            (["bench", "train", "--model", "mlp", "--sparsity", "0.9", "--rounds", "0"], "--rounds"),
            (["bench", "train", "--model", "mlp", "--sparsity", "0.9", "--data", "mnist"], "--sparsity"),
            (["bench", "train", "--model", "mlp", "--sparsity", "0.9", "--sparse-kernels", "sometimes"], "sparse-kernels"),
        ]
        for (args, expected) in cases {
            guard let message = refusal(args) else { XCTFail("\(args) was accepted"); continue }
            XCTAssertTrue(message.contains(expected), "\(args): message \(message) should name \(expected)")
        }
    }

    func testSparseAndDenseMaskedStepsRunAndAgree() throws {
        for mode in ["on", "auto", "off"] {
            try run(["bench", "train", "--model", "mlp", "--batch-size", "4", "--sparsity", "0.9", "--steps", "2",
                     "--warmup", "1", "--rounds", "1", "--threads", "1", "--sparse-kernels", mode])
        }
        try run(["bench", "train", "--model", "resnet20", "--batch-size", "2", "--sparsity", "0.9", "--steps", "1",
                 "--warmup", "0", "--rounds", "1", "--threads", "1", "--sparse-kernels", "on"])
    }
}
