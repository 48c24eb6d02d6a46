import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsTensor
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

    /// A compacted model goes wherever a model file goes, rebuilt at the widths in its metadata: `eval` (its logits
    /// give the summary's test accuracy), `export --format onnx` (the graph, imported back, gives the same logits),
    /// and `train --init` (trains at those widths); a model of other layers refuses the widths naming the file.
    func testTheCompactedModelEvaluatesExportsAndTrainsAtItsWidths() throws {
        let out = scratch.appendingPathComponent("s").path
        try run(["prune", "structured", "--model", "lenet300-100", "--dataset", "synthetic", "--validation", "100",
                 "--train-subset", "256", "--batch-size", "32", "--channel-ratio", "0.5", "--allocation", "layerwise",
                 "--threads", "1", "--out", out])
        let model = out + "/model.safetensors"
        let summary = try JSONDecoder().decode(StructuredPruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
        XCTAssertEqual(summary.after.widths, ["fc1": 150, "fc2": 50])
        XCTAssertNotNil(try SafetensorsRawFile.read(path: model).metadata["shears.mean"], "the normalisation travels with it")
        let io = scratch.appendingPathComponent("io.safetensors").path
        let data = ["--model", "lenet300-100", "--dataset", "synthetic", "--validation", "100"]
        try run(["eval", model, "--io-out", io, "--io-examples", "100000", "--threads", "1"] + data)
        let file = try SafetensorsFile.read(path: io).tensors
        let logits = try XCTUnwrap(file["output"]), labels = try XCTUnwrap(file["label"]).scalars
        let rows = logits.shape[0], k = logits.shape[1], v = logits.scalars
        let correct = (0..<rows).filter { r in Float((0..<k).max { v[r * k + $0] < v[r * k + $1] }!) == labels[r] }.count
        XCTAssertEqual(Double(correct) / Double(rows), summary.after.testAccuracy, accuracy: 1e-9)

        let onnx = scratch.appendingPathComponent("small.onnx").path
        try run(["export", model, "--model", "lenet300-100", "--input-shape", "1,8,8", "--format", "onnx", "--out", onnx])
        let graph = try GraphModel(contentsOf: onnx)
        XCTAssertEqual(graph.namedParameters.first { $0.0.hasSuffix("weight") }?.1.shape, [150, 64], "the compacted first layer")
        let back = Context.with(.inference) { GradMode.withoutGrad { graph(Variable(try! XCTUnwrap(file["input"]))).value } }
        XCTAssertLessThanOrEqual(back.maxAbsDifference(logits), 1e-5)

        let trained = scratch.appendingPathComponent("more").path
        try run(["train", "--init", model, "--iterations", "2", "--eval-every", "2it", "--threads", "1", "--prefetch", "0", "--out", trained] + data)
        XCTAssertEqual(try SafetensorsFile.read(path: trained + "/model.safetensors").tensors["fc2.weight"]?.shape, [50, 150])
        XCTAssertThrowsError(try run(["eval", model, "--model", "conv2", "--dataset", "synthetic", "--validation", "100", "--threads", "1"])) {
            XCTAssertTrue("\($0)".contains("shears.widths") && "\($0)".contains("model.safetensors"), "\($0)")
        }
    }
}
