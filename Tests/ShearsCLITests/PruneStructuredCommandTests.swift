import Foundation
import XCTest
import ShearsExperiments
@testable import shears

final class PruneStructuredCommandTests: CommandTestCase {
    func testNonsenseIsRefusedNamingTheFlag() {
        let base = ["prune", "structured", "--model", "conv2", "--dataset", "synthetic", "--out", scratch.path]
        let cases: [([String], String)] = [
            (["--channel-ratio", "1.5"], "--channel-ratio"), (["--channel-ratio", "0"], "(0, 1)"),
            (["--channel-ratio", "nan"], "--channel-ratio"), (["--criterion", "snip"], "--criterion"),
            (["--round-to", "0"], "--round-to"), (["--steps", "0"], "--steps"), (["--bn-penalty", "-1"], "--bn-penalty"),
            (["--finetune-epochs", "-1"], "--finetune-epochs"), (["--batch-size", "1"], "--batch-size"),
        ]
        for (extra, word) in cases {
            let message = refusal(base + extra)
            XCTAssertNotNil(message, "\(extra)")
            XCTAssertTrue(message?.contains(word) ?? false, "\(extra): \(message ?? "accepted")")
        }
        XCTAssertTrue(refusal(["prune", "structured", "--model", "conv2"])?.contains("--out") ?? false)
    }

    func testRunWritesCompactedModelAndSummary() throws {
        let out = scratch.appendingPathComponent("s").path
        try run(["prune", "structured", "--model", "conv2", "--dataset", "synthetic", "--validation", "100",
                 "--train-subset", "64", "--batch-size", "32", "--channel-ratio", "0.3", "--round-to", "8",
                 "--allocation", "layerwise", "--threads", "1", "--out", out])
        let data = try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("summary.json"))
        let summary = try JSONDecoder().decode(StructuredPruningSummary.self, from: data)
        // convs 64 → 64 − round(19.2) = 45 → 48; linear 256 → 179 → 176.
        XCTAssertEqual(summary.after.widths, ["convs.0": 48, "convs.2": 48, "linear.0": 176, "linear.2": 176])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/masked.safetensors"))
    }
}
