import Foundation
import ShearsIO
import ShearsNN
import ShearsTensor
import XCTest

/// ONNX export of every zoo family, checked by its readers: `onnx.checker` (full check) and ONNX Runtime, whose
/// outputs must equal Shears' eval-mode outputs to 1e-4, with half of every weight pruned to zero and batch-norm
/// statistics away from their defaults (so a dropped zero or a wrong BN attribute shows). Each export is also
/// imported back (`GraphModel`): same names, bit-identical weights, the same outputs.
///
/// WRN-28-10 itself (36.5M parameters, ≈ 146 MB of ONNX) is not exported here to keep the suite fast; WRN-10-2
/// runs the same `WideResNet` / `WideBasicBlock` emitters (identity and projection shortcuts, final BN-ReLU).
final class ONNXExportTests: XCTestCase {
    /// Prunes every other element of each rank ≥ 2 weight and moves batch-norm statistics off 0 / 1.
    func perturb(_ net: any Layer, _ g: inout Generator) {
        for (name, v) in net.namedParameters + net.namedBuffers {
            if v.shape.count >= 2 {
                var t = v.value
                t.withUnsafeMutableBufferPointer { b in for i in stride(from: 0, to: b.count, by: 2) { b[i] = 0 } }
                v.value = t
            } else if name.hasSuffix("running_mean") {
                v.value = Tensor.uniform(v.shape, low: -0.2, high: 0.2, generator: &g)
            } else if name.hasSuffix("running_var") {
                v.value = Tensor.uniform(v.shape, low: 0.5, high: 1.5, generator: &g)
            } else if name.hasSuffix(".weight") && v.shape.count == 1 {
                v.value = Tensor.uniform(v.shape, low: 0.5, high: 1.5, generator: &g)
            }
        }
    }

    func evalOutput(_ net: any Layer, _ x: Tensor) -> Tensor {
        Context.with(.inference) { GradMode.withoutGrad { net(Variable(x)).value } }
    }

    /// Exports `net`, runs the checker and ONNX Runtime on it, and compares; returns the peer's JSON.
    @discardableResult
    func check(_ label: String, _ net: any Layer, input: [Int], classes: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        var g = Generator(seed: 7)
        perturb(net, &g)
        let x = Tensor.normal([2] + input, generator: &g)
        let expected = evalOutput(net, x)
        let dir = try InteropPeer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let onnxPath = dir.appendingPathComponent("\(label).onnx").path
        let mean = Array(repeating: "0.5", count: input[0]).joined(separator: ","), std = Array(repeating: "0.25", count: input[0]).joined(separator: ",")
        let proto = try ONNXExport.model(net, inputShape: input, classes: classes, metadata: [ONNXExport.meanKey: mean, ONNXExport.stdKey: std])
        try ONNXExport.write(proto, to: onnxPath)
        let io = dir.appendingPathComponent("io.safetensors").path, out = dir.appendingPathComponent("out.safetensors").path
        try SafetensorsFile.write(path: io, tensors: ["input": x])
        let report = try InteropPeer.run(["onnx", onnxPath, io, out], file: file, line: line)
        let y = try XCTUnwrap(SafetensorsFile.read(path: out).tensors["output"], file: file, line: line)
        XCTAssertEqual(y.shape, [2, classes], "\(label): ONNX Runtime's output shape", file: file, line: line)
        let scale = max(1, expected.scalars.map(abs).max() ?? 1)
        XCTAssertLessThan(y.maxAbsDifference(expected) / scale, 1e-4, "\(label): ONNX Runtime vs Shears eval output", file: file, line: line)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any], file: file, line: line)
        XCTAssertEqual(json["opset"] as? Int, 17, file: file, line: line)
        XCTAssertEqual((json["input"] as? [Any])?.first as? String, "batch", "\(label): batch dimension is dynamic", file: file, line: line)
        XCTAssertEqual(json["metadata"] as? [String: String], [ONNXExport.meanKey: mean, ONNXExport.stdKey: std], file: file, line: line)
        let stateNames = Set((net.namedParameters + net.namedBuffers).map(\.0).filter { !$0.hasSuffix("num_batches_tracked") })
        XCTAssertEqual(Set(json["initializers"] as? [String] ?? []), stateNames, "\(label): initializers carry the state dict's names", file: file, line: line)

        // Imported back: the same state, bit for bit, and the same outputs.
        let back = try GraphModel(contentsOf: onnxPath)
        XCTAssertEqual(back.inputShape, input, file: file, line: line)
        let original = Dictionary(uniqueKeysWithValues: (net.namedParameters + net.namedBuffers).map { ($0.0, $0.1.value.contiguous()) })
        for (name, v) in back.namedParameters + back.namedBuffers {
            let same = original[name].map { o in
                o.shape == v.shape && o.withUnsafeBufferPointer { a in v.value.withUnsafeBufferPointer { b in memcmp(a.baseAddress!, b.baseAddress!, 4 * a.count) == 0 } }
            } ?? false
            XCTAssertTrue(same, "\(label): \(name) round trip is not bit-identical", file: file, line: line)
        }
        XCTAssertLessThan(evalOutput(back, x).maxAbsDifference(expected) / scale, 1e-4, "\(label): re-imported output", file: file, line: line)
        return json
    }

    func zoo(_ name: ModelName, _ input: [Int], classes: Int = 10) throws -> any Layer {
        var g = Generator(seed: 3)
        return try makeModel(name, inputShape: input, classes: classes, generator: &g)
    }

    func testMLPExportRunsInONNXRuntime() throws {
        try check("lenet300-100", try zoo(.lenet300100, [1, 28, 28]), input: [1, 28, 28], classes: 10)
    }

    func testConvNetExportRunsInONNXRuntime() throws {
        try check("conv4", try zoo(.conv4, [3, 8, 8], classes: 7), input: [3, 8, 8], classes: 7)
    }

    func testVGGExportRunsInONNXRuntime() throws {
        try check("vgg11", try zoo(.vgg11, [3, 32, 32]), input: [3, 32, 32], classes: 10)
    }

    func testResNetCIFARExportRunsInONNXRuntime() throws {
        try check("resnet20", try zoo(.resnet20, [3, 16, 16]), input: [3, 16, 16], classes: 10)
    }

    func testResNet18ImageNetStemExportRunsInONNXRuntime() throws {
        // 72×72 > 64 selects the ImageNet stem: conv7×7/2 and the padded max pool.
        try check("resnet18", try zoo(.resnet18, [3, 72, 72]), input: [3, 72, 72], classes: 10)
    }

    func testResNet50BottleneckExportRunsInONNXRuntime() throws {
        try check("resnet50", try zoo(.resnet50, [3, 16, 16], classes: 5), input: [3, 16, 16], classes: 5)
    }

    func testWideResNetExportRunsInONNXRuntime() throws {
        var g = Generator(seed: 5)
        try check("wrn-10-2", WideResNet(depth: 10, widen: 2, classes: 10, dropout: 0.3, generator: &g), input: [3, 16, 16], classes: 10)
    }

    func testImportedGraphExportsBack() throws {
        let fixture = try XCTUnwrap(Bundle.module.path(forResource: "tiny_cnn", ofType: "onnx", inDirectory: "Fixtures"))
        try check("tiny_cnn", try GraphModel(contentsOf: fixture), input: [3, 16, 16], classes: 5)
    }

    func testUnexportableLayerIsAnErrorNamingIt() {
        struct Custom: Layer {
            func callAsFunction(_ x: Variable) -> Variable { x }
            var namedParameters: [(String, Variable)] { [] }
        }
        XCTAssertThrowsError(try ONNXExport.model(Custom(), inputShape: [1, 2, 2], classes: 4)) { error in
            XCTAssertTrue("\(error)".contains("Custom") && "\(error)".contains("ONNXExportable"), "\(error)")
        }
    }
}

/// `compressed_tensors` (the PyPI package, in the test venv) decompresses Shears' compressed-tensors export of a
/// pruned model back to the dense state dict, bit for bit; Shears reads the same file back identically.
final class CompressedTensorsPeerTests: XCTestCase {
    func testCompressedTensorsDecompressesPrunedModelsBitForBit() throws {
        var g = Generator(seed: 9)
        let models: [(String, any Layer)] = [
            ("lenet", try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)),
            ("resnet20", try makeModel(.resnet20, inputShape: [3, 16, 16], classes: 10, generator: &g)),
        ]
        let dir = try InteropPeer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Both models in one state dict (names prefixed), so that Python starts once.
        var tensors: [String: RawTensor] = [:]
        var weights: [String] = []
        for (label, net) in models {
            for (_, w) in net.namedParameters where w.shape.count >= 2 {   // ≈ 70 % pruned, as +0.0
                w.value = Tensor(shape: w.shape, scalars: w.value.scalars.map { abs($0) < 0.03 || Int(abs($0) * 1e4) % 10 < 7 ? 0 : $0 })
            }
            let path = dir.appendingPathComponent("\(label).safetensors").path
            try saveStateDict(net, to: path)
            for (name, t) in try SafetensorsRawFile.read(path: path).tensors { tensors["\(label).\(name)"] = t }
            weights += net.namedParameters.filter { $0.1.shape.count >= 2 }.map { "\(label).\($0.0)" }
        }
        let dense = dir.appendingPathComponent("dense.safetensors").path
        let compressed = dir.appendingPathComponent("ct.safetensors").path
        try SafetensorsRawFile(tensors: tensors, metadata: ["format": "pt"]).write(path: dense)
        try SparseStateDict.write(tensors, metadata: ["format": "pt"], as: .compressedTensors, to: compressed)
        let report = try InteropPeer.run(["decompress", compressed, dense])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
        XCTAssertEqual(json["compressed"] as? [String], weights.sorted(), "every layer weight compressed")
        XCTAssertEqual(json["tensors"] as? Int, tensors.count)
        XCTAssertEqual(try SparseStateDict.read(path: compressed).decoded.tensors, tensors, "Shears reads it back")
    }
}
