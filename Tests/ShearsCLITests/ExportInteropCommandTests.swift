import ArgumentParser
import Foundation
import ShearsIO
import ShearsExperiments
import ShearsNN
import ShearsTensor
import XCTest
@testable import shears

/// `shears export --format onnx | compressed-tensors` as a user types it: refusals, a pruned run exported both
/// ways and read back, the normalisation metadata, and an ONNX file as the input. (ONNX Runtime and the
/// compressed-tensors package check these files in ShearsNNTests.)
final class ExportInteropCommandTests: CommandTestCase {
    private func prunedRun() throws -> String {
        let dir = scratch.appendingPathComponent("prune").path
        try run(["prune", "iterative", "--dataset", "synthetic", "--split", "pooled", "--iterations", "2", "--eval-every", "2it", "--cycles", "1",
                 "--rate", "0.5", "--threads", "1", "--prefetch", "0", "--out", dir])
        return dir + "/run_0/model.safetensors"
    }

    func testRefusals() throws {
        let input = scratch.appendingPathComponent("m.safetensors").path
        try SafetensorsRawFile(tensors: ["fc1.weight": RawTensor(float32: [0, 1], shape: [1, 2])]).write(path: input)
        let out = scratch.appendingPathComponent("m.onnx").path
        let cases: [([String], String)] = [
            (["export", input, "--format", "onnx", "--out", out], "--format onnx needs --model"),
            (["export", input, "--format", "csr", "--model", "resnet20", "--out", out], "--model only apply to --format onnx"),
            (["export", input, "--format", "onnx", "--model", "resnet21", "--out", out], "resnet21"),
            (["export", input, "--format", "onnx", "--model", "resnet20", "--input-shape", "3,32", "--out", out], "expected C,H,W"),
            (["export", input, "--format", "onnx", "--model", "resnet20", "--std", "0.2,0,0.3", "--out", out], "above 0"),
            (["export", input, "--format", "onnx", "--model", "resnet20", "--mean", "0.5,nan,0.5", "--out", out], "finite"),
            (["export", input, "--format", "onnx", "--model", "resnet20", "--mean", "0.1,0.2", "--out", out], "2 values for 3 input channels"),
            (["export", input, "--format", "onnx", "--model", "resnet20", "--classes", "0", "--out", out], "--classes must be at least 1"),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        // A state dict of another model is refused with PyTorch-style key listing, not a crash.
        XCTAssertThrowsError(try run(["export", input, "--format", "onnx", "--model", "lenet300-100", "--out", out])) {
            XCTAssertTrue("\($0)".contains("Missing key(s)"), "\($0)")
        }
    }

    func testPrunedRunExportsToONNXAndCompressedTensors() throws {
        let model = try prunedRun()
        let original = try SafetensorsRawFile.read(path: model).tensors
        let onnx = scratch.appendingPathComponent("m.onnx").path
        // The synthetic data set's images are 1×8×8 (64 features).
        let lines = try XCTUnwrap(try Shears.parseAsRoot(["export", model, "--model", "lenet300-100", "--format", "onnx", "--out", onnx,
                                                          "--input-shape", "1,8,8", "--mean", "0.1307", "--std", "0.3081"]) as? Export)
        let printed = try lines.onnx.export(model, to: onnx)
        XCTAssertTrue(printed[0].contains("output [batch, 10]") && printed[0].contains("normalisation in metadata_props"), printed[0])
        let graph = try GraphModel(contentsOf: onnx)
        XCTAssertEqual(graph.metadata["shears.mean"], "0.1307")
        XCTAssertEqual(graph.metadata["shears.std"], "0.3081")
        XCTAssertEqual(graph.metadata["shears.model"], "lenet300-100")
        for (name, v) in graph.stateDict {
            XCTAssertEqual(v.value.scalars.map(\.bitPattern), original[name]?.float32Bits, "\(name): kept exactly, zeros included")
        }

        // compressed-tensors from the run, then from the ONNX file's initializers: the same tensors either way.
        let ct = scratch.appendingPathComponent("m.ct.safetensors").path
        try run(["export", model, "--format", "compressed-tensors", "--out", ct])
        XCTAssertEqual(try SparseStateDict.read(path: ct).decoded.tensors, original)
        let fromONNX = scratch.appendingPathComponent("o.ct.safetensors").path
        let fromLines = try Export.export(onnx, as: .compressedTensors, to: fromONNX)
        XCTAssertTrue(fromLines.contains { $0.hasPrefix("compressed-tensors: 3 tensors (fc1.weight, fc2.weight, fc3.weight)") }, fromLines.joined(separator: "\n"))
        let back = try SparseStateDict.read(path: fromONNX).decoded
        for (name, t) in back.tensors { XCTAssertEqual(t, original[name], name) }
        XCTAssertEqual(back.metadata["shears.mean"], "0.1307", "the ONNX metadata's normalisation travels on")
        XCTAssertTrue(try Export.describe(ct)[0].contains("compressed-tensors"))
    }

    func testNormalisationComesFromTheStateDictMetadata() throws {
        let model = try prunedRun()
        var file = try SafetensorsRawFile.read(path: model)
        file.metadata["shears.mean"] = "0.25"
        file.metadata["shears.std"] = "0.5"
        let withMeta = scratch.appendingPathComponent("meta.safetensors").path
        try file.write(path: withMeta)
        let onnx = scratch.appendingPathComponent("meta.onnx").path
        try run(["export", withMeta, "--model", "lenet300-100", "--input-shape", "1,8,8", "--format", "onnx", "--out", onnx])
        let graph = try GraphModel(contentsOf: onnx)
        XCTAssertEqual(graph.metadata["shears.mean"], "0.25")
        XCTAssertEqual(graph.metadata["shears.std"], "0.5")
    }
}

/// `--model onnx:PATH` through a training command: the run trains the imported graph (its weights from the file).
final class ONNXModelTrainingTests: CommandTestCase {
    func testTrainAcceptsAnONNXModel() throws {
        let dir = scratch.appendingPathComponent("prune").path
        try run(["prune", "iterative", "--dataset", "synthetic", "--split", "pooled", "--iterations", "2", "--eval-every", "2it", "--cycles", "1",
                 "--rate", "0.5", "--threads", "1", "--prefetch", "0", "--out", dir])
        let onnx = scratch.appendingPathComponent("lenet.onnx").path
        try run(["export", dir + "/run_0/model.safetensors", "--model", "lenet300-100", "--input-shape", "1,8,8", "--format", "onnx", "--out", onnx])
        let train = scratch.appendingPathComponent("train").path
        try run(["train", "--model", "onnx:\(onnx)", "--dataset", "synthetic", "--iterations", "3", "--eval-every", "3it",
                 "--validation", "100", "--threads", "1", "--prefetch", "0", "--out", train])
        let config = try String(contentsOfFile: train + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("onnx:"), config)
        let trained = try SafetensorsRawFile.read(path: train + "/model.safetensors").tensors
        XCTAssertEqual(Set(trained.keys), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])

        // A relative onnx:PATH is stored absolute (as --init is), so the run resumes from any working directory.
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(scratch.path))
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let relative = scratch.appendingPathComponent("relative").path
        try run(["train", "--model", "onnx:lenet.onnx", "--dataset", "synthetic", "--iterations", "3", "--eval-every", "3it",
                 "--validation", "100", "--threads", "1", "--prefetch", "0", "--out", relative])
        let saved = try XCTUnwrap(try RunDirectory(path: relative).readJSON(TrainingConfig.self, from: "config.json"))
        XCTAssertEqual(saved.model.onnxPath, URL(fileURLWithPath: onnx).standardizedFileURL.path)

        // Structured pruning of the imported graph: compacted into model.onnx (the same graph, narrower
        // initializers), which `eval` of the directory runs to the summary's accuracy.
        let structured = scratch.appendingPathComponent("structured").path
        try run(["prune", "structured", "--model", "onnx:\(onnx)", "--dataset", "synthetic", "--validation", "100", "--train-subset", "256",
                 "--batch-size", "32", "--channel-ratio", "0.5", "--allocation", "layerwise", "--threads", "1", "--out", structured])
        let small = try GraphModel(contentsOf: structured + "/model.onnx")
        XCTAssertEqual(small.namedParameters.first { $0.0 == "fc1.weight" }?.1.shape, [150, 64])
        let summary = try JSONDecoder().decode(StructuredPruningSummary.self,
                                               from: Data(contentsOf: URL(fileURLWithPath: structured + "/summary.json")))
        XCTAssertLessThanOrEqual(summary.maskedVersusCompacted, 1e-5 * 10)
        let io = scratch.appendingPathComponent("io.safetensors").path
        try run(["eval", structured, "--io-out", io, "--io-examples", "100000", "--threads", "1"])
        let file = try SafetensorsFile.read(path: io).tensors
        let logits = try XCTUnwrap(file["output"]), labels = try XCTUnwrap(file["label"]).scalars, k = logits.shape[1], v = logits.scalars
        let correct = labels.indices.filter { r in Float((0..<k).max { v[r * k + $0] < v[r * k + $1] }!) == labels[r] }.count
        XCTAssertEqual(Double(correct) / Double(labels.count), summary.after.testAccuracy, accuracy: 1e-9)
    }
}
