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
            (["--channel-ratio", "nan"], "--channel-ratio"), (["--criterion", "l3"], "--criterion"), (["--normalize", "median"], "--normalize"),
            (["--retrain", "rewind"], "--schedule iterative"), (["--retrain", "rewind", "--schedule", "gradual"], "--retrain"),
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

    /// `--criterion magnitude` is the per-weight criterion summed per filter: the L1 filter norm, so the same channels
    /// and the same compacted model as `--criterion l1`; `snip` (data-driven) runs through the same registry.
    func testPerWeightCriteriaPruneChannels() throws {
        let base = ["prune", "structured", "--model", "conv2", "--dataset", "synthetic", "--validation", "100",
                    "--train-subset", "64", "--batch-size", "32", "--channel-ratio", "0.5", "--finetune-epochs", "0",
                    "--threads", "1"]
        var models: [String: [String: [Float]]] = [:]
        for criterion in ["l1", "magnitude", "snip"] {
            let out = scratch.appendingPathComponent(criterion).path
            try run(base + ["--criterion", criterion, "--out", out])
            models[criterion] = try SafetensorsFile.read(path: out + "/model.safetensors").tensors.mapValues(\.scalars)
        }
        XCTAssertEqual(models["l1"], models["magnitude"])
        XCTAssertEqual(models["snip"]?.keys.sorted(), models["l1"]?.keys.sorted())
        XCTAssertNotEqual(models["snip"], models["l1"], "SNIP ranks by |w·∂L/∂w|, not |w|")
    }

    /// Global allocation ranks normalised scores by default (`--normalize mean`); `none` keeps the raw filter norms,
    /// under which Conv-2's first conv (fan-in 27) loses far more than the second (fan-in 576).
    func testGlobalAllocationNormalisesByDefault() throws {
        let base = ["prune", "structured", "--model", "conv2", "--dataset", "synthetic", "--validation", "100",
                    "--train-subset", "64", "--batch-size", "32", "--channel-ratio", "0.5", "--finetune-epochs", "0",
                    "--allocation", "global", "--threads", "1"]
        func widths(_ extra: [String], _ name: String) throws -> [String: Int] {
            let out = scratch.appendingPathComponent(name).path
            try run(base + extra + ["--out", out])
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))
            let summary = try JSONDecoder().decode(StructuredPruningSummary.self, from: data)
            XCTAssertEqual(summary.config.normalization, extra.isEmpty ? .mean : .raw)
            return summary.after.widths
        }
        let normalised = try widths([], "mean"), raw = try widths(["--normalize", "none"], "none")
        XCTAssertLessThan(raw["convs.0"]!, 16, "raw L1 norms: the first conv ranks lowest as a whole")
        XCTAssertGreaterThan(normalised["convs.0"]!, 2 * raw["convs.0"]!, "\(normalised) vs \(raw)")
    }

    /// Torch-Pruning (DepGraph) on Shears' own seeded ResNet-20, with Shears' criterion (L1 of every producing filter
    /// of a group, summed), keeps the same channels: every compacted tensor equal, residual stages included
    /// (bench/torch_structured.py widths, in the test venv of scripts/setup_pyenv.sh).
    func testTorchPruningKeepsTheSameChannels() throws {
        let python = ProcessInfo.processInfo.environment["SHEARS_TEST_PYTHON"]
            ?? Self.root.appendingPathComponent(".venv-test/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("no Python test venv at \(python): create it with `bash scripts/setup_pyenv.sh` (make test runs it)")
        }
        for (ratio, roundTo) in [("0.5", "8"), ("0.75", "1")] {
            let dir = scratch.appendingPathComponent("tp-\(ratio)").path
            try run(["bench", "structured", "--model", "resnet20", "--channel-ratio", ratio, "--allocation", "layerwise",
                     "--round-to", roundTo, "--iterations", "1", "--threads", "1", "--save", dir])
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [Self.root.appendingPathComponent("bench/torch_structured.py").path, "widths", "--model", "resnet20",
                           "--ratio", ratio, "--round-to", roundTo, "--shears-dir", dir, "--threads", "1"]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out; p.standardError = err
            try p.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, String(decoding: stderr, as: UTF8.self))
            let line = try XCTUnwrap(try JSONSerialization.jsonObject(with: stdout) as? [String: Any])
            XCTAssertEqual(line["same_widths"] as? Bool, true, "\(line)")
            XCTAssertEqual(line["same_channels"] as? Bool, true, "\(line)")
            XCTAssertEqual(line["tensors"] as? Int, 107, "every tensor of ResNet-20 compared")
        }
    }

    /// `shears report` on structured runs: one section with every run's numbers, the widths of every layer before and
    /// after, and the accuracy-against-MACs and -parameters charts.
    func testReportShowsWidthsAndAccuracyAgainstMACs() throws {
        let base = ["prune", "structured", "--model", "conv2", "--dataset", "synthetic", "--validation", "100",
                    "--train-subset", "64", "--batch-size", "32", "--finetune-epochs", "0", "--threads", "1"]
        let a = scratch.appendingPathComponent("a").path, b = scratch.appendingPathComponent("b").path
        try run(base + ["--channel-ratio", "0.5", "--allocation", "layerwise", "--out", a])
        try run(base + ["--channel-ratio", "0.25", "--criterion", "l2", "--out", b])
        let out = scratch.appendingPathComponent("report").path
        try run(["report", "half=" + a, "quarter=" + b, "--out", out])
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("Structured pruning (2 runs)"), md)
        // conv2: convs.0 and convs.2 (64 channels), linear.0 and linear.2 (256); layerwise 50 % keeps 32 and 128.
        XCTAssertTrue(md.contains("| convs.0 | 64 | 32 |"), md)
        XCTAssertTrue(md.contains("| linear.0 | 256 | 128 |"), md)
        XCTAssertTrue(md.contains("| half | conv2 | l1 | layerwise | 50.00 |"), md)
        let figures = try FileManager.default.contentsOfDirectory(atPath: out + "/figures")
        for figure in ["structured-macs", "structured-parameters"] {
            XCTAssertTrue(figures.contains { $0.hasSuffix("-\(figure).svg") }, "\(figure) in \(figures)")
        }
    }

    /// `--retrain rewind` resets the kept weights to the starting model's after each round: the same first round as
    /// `finetune` (nothing trained yet), then other weights; the config records it, and `finetune` stays the absent
    /// default so configs from before the flag still match.
    func testIterativeRewindingResetsToTheStart() throws {
        let base = ["prune", "structured", "--model", "lenet300-100", "--dataset", "synthetic", "--validation", "100",
                    "--train-subset", "128", "--batch-size", "32", "--channel-ratio", "0.5", "--allocation", "layerwise",
                    "--schedule", "iterative", "--steps", "2", "--finetune-epochs", "1", "--threads", "1"]
        var tensors: [String: [String: [Float]]] = [:]
        for retrain in ["finetune", "rewind"] {
            let out = scratch.appendingPathComponent(retrain).path
            try run(base + ["--retrain", retrain, "--out", out])
            tensors[retrain] = try SafetensorsFile.read(path: out + "/model.safetensors").tensors.mapValues(\.scalars)
            let summary = try JSONDecoder().decode(StructuredPruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json")))
            XCTAssertEqual(summary.config.retrain, retrain == "rewind" ? .rewind : nil)
            XCTAssertEqual(summary.after.widths, ["fc1": 150, "fc2": 50])
        }
        XCTAssertNotEqual(tensors["finetune"], tensors["rewind"])
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}
