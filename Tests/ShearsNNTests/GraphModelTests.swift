import Foundation
import ONNXProto
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor
import XCTest

/// ONNX import: the fixtures PyTorch exported (scripts/make_onnx_fixtures.py) run to PyTorch's outputs, train and
/// prune; bad files and unsupported graphs are errors naming what is wrong; `ModelName` spells `onnx:PATH`.
final class GraphModelTests: XCTestCase {
    func fixture(_ name: String, _ ext: String) throws -> String {
        try XCTUnwrap(Bundle.module.path(forResource: name, ofType: ext, inDirectory: "Fixtures"), "fixture \(name).\(ext)")
    }

    /// The fixture's model and PyTorch's input / output pair.
    func load(_ name: String) throws -> (GraphModel, Tensor, Tensor) {
        let model = try GraphModel(contentsOf: try fixture(name, "onnx"))
        let io = try SafetensorsFile.read(path: try fixture("\(name).io", "safetensors"))
        return (model, try XCTUnwrap(io.tensors["input"]), try XCTUnwrap(io.tensors["output"]))
    }

    func checkAgainstPyTorch(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (model, x, expected) = try load(name)
        let y = Context.with(.inference) { GradMode.withoutGrad { model(Variable(x)).value } }
        XCTAssertEqual(y.shape, expected.shape, file: file, line: line)
        XCTAssertLessThan(y.maxAbsDifference(expected), 1e-4, "\(name): Shears vs PyTorch eval output", file: file, line: line)
    }

    func testTinyCNNMatchesPyTorch() throws { try checkAgainstPyTorch("tiny_cnn") }
    func testTinyMLPMatchesPyTorch() throws { try checkAgainstPyTorch("tiny_mlp") }

    func testParametersCarryPyTorchNames() throws {
        let (cnn, _, _) = try load("tiny_cnn")
        let params = Dictionary(uniqueKeysWithValues: cnn.namedParameters.map { ($0.0, $0.1.shape) })
        XCTAssertEqual(params["stem.weight"], [8, 3, 3, 3])
        XCTAssertEqual(params["grouped.weight"], [8, 2, 3, 3])
        XCTAssertEqual(params["fc.weight"], [5, 8])
        XCTAssertEqual(params["bn1.weight"], [8])
        XCTAssertNil(params["bn1.running_mean"], "running statistics are buffers, not parameters")
        XCTAssertEqual(Set(cnn.namedBuffers.map(\.0)), ["bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var"])
        let (mlp, _, _) = try load("tiny_mlp")
        XCTAssertEqual(Set(mlp.namedParameters.map(\.0)), ["fc1.weight", "fc1.bias", "proj", "shift", "fc2.weight", "fc2.bias"])
    }

    /// A few SGD steps on one batch: the loss falls and every parameter receives a gradient (every op has a backward).
    func trainsAFewSteps(_ name: String, classes: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let (model, x, _) = try load(name)
        var g = Generator(seed: 11)
        let labels = (0..<x.shape[0]).map { _ in Int32(g.nextInt(below: classes)) }
        var sgd = SGD(learningRate: 0.05, momentum: 0.9)
        var losses: [Float] = []
        for step in 0..<8 {
            model.zeroGrad()
            let loss = softmaxCrossEntropy(logits: model(Variable(x)), labels: labels)
            loss.backward()
            if step == 0 {
                for (n, p) in model.namedParameters {
                    let norm = try XCTUnwrap(p.grad, "\(name): \(n) has no gradient", file: file, line: line).norm()
                    XCTAssertGreaterThan(norm, 0, "\(name): \(n)'s gradient is zero", file: file, line: line)
                }
            }
            sgd.step(model.namedParameters)
            losses.append(loss.value.scalar)
        }
        XCTAssertLessThan(losses.last!, losses.first! * 0.8, "\(name): losses \(losses)", file: file, line: line)
    }

    func testTinyCNNTrains() throws { try trainsAFewSteps("tiny_cnn", classes: 5) }
    func testTinyMLPTrains() throws { try trainsAFewSteps("tiny_mlp", classes: 4) }

    func testTrainingUpdatesBatchNormRunningStatistics() throws {
        let (model, x, _) = try load("tiny_cnn")
        let before = model.namedBuffers.map { $0.1.value.scalars }
        _ = Context.with(.training) { model(Variable(x)) }
        let after = model.namedBuffers.map { $0.1.value.scalars }
        XCTAssertNotEqual(before, after)
        _ = Context.with(.inference) { model(Variable(x)) }
        XCTAssertEqual(after, model.namedBuffers.map { $0.1.value.scalars }, "inference leaves the statistics alone")
    }

    func testPrunesLikeAZooModel() throws {
        let (model, _, _) = try load("tiny_cnn")
        let selected = PrunableSelection().select(model).map(\.0)
        XCTAssertEqual(selected, ["stem.weight", "grouped.weight", "dilated.weight", "gate.weight", "down.weight", "fc.weight"])
        let params = PrunableSelection().select(model)
        let scores = try MagnitudeScore().scores(model: model, parameters: params, mask: Mask.ones(for: params))
        let mask = prune(scores: scores, mask: Mask.ones(for: params), fraction: 0.5, allocation: .global,
                         shapes: Dictionary(uniqueKeysWithValues: params.map { ($0.0, $0.1.shape) }))
        mask.apply(to: params)
        let total = params.reduce(0) { $0 + $1.1.value.count }
        let zeros = params.reduce(0) { $0 + $1.1.value.scalars.filter { $0 == 0 }.count }
        XCTAssertEqual(zeros, total / 2, "half of the selected weights pruned")
    }

    // MARK: bad input

    /// A one-node model around `node` on a [N, 3, 4, 4] input.
    func model(_ node: Onnx_NodeProto, initializers: [Onnx_TensorProto] = []) -> Onnx_ModelProto {
        var m = try! ONNXExport.model(MLP(inputs: 1, hidden: [], classes: 1, generator: &dummyGenerator), inputShape: [3, 4, 4], classes: 1)
        m.graph.node = [node]
        m.graph.initializer = initializers
        m.graph.output[0].name = node.output[0]
        return m
    }
    var dummyGenerator = Generator(seed: 0)

    func testUnsupportedOpIsAnErrorNamingNodeOpAndSupportedList() {
        var node = Onnx_NodeProto()
        node.opType = "Softmax"
        node.name = "/head/Softmax"
        node.input = ["input"]
        node.output = ["probs"]
        XCTAssertThrowsError(try GraphModel(model: model(node), source: "net.onnx")) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("net.onnx") && m.contains("\"/head/Softmax\"") && m.contains("Softmax"), m)
            XCTAssertTrue(m.contains("supported: Conv, Gemm, MatMul"), m)
        }
    }

    func testInconsistentShapesAreErrorsNamingTheNode() {
        var node = Onnx_NodeProto()
        node.opType = "Conv"
        node.name = "/conv/Conv"
        node.input = ["input", "w"]
        node.output = ["y"]
        let w = Onnx_TensorProto(name: "w", float: Tensor.zeros([4, 5, 3, 3]))   // 5 input channels, the input has 3
        XCTAssertThrowsError(try GraphModel(model: model(node, initializers: [w]), source: "bad.onnx")) { error in
            XCTAssertTrue("\(error)".contains("Conv node \"/conv/Conv\"") && "\(error)".contains("[4, 5, 3, 3]"), "\(error)")
        }
        node.attribute = [.ints("pads", [1, 0, 1, 0])]
        let w3 = Onnx_TensorProto(name: "w", float: Tensor.zeros([4, 3, 3, 3]))
        XCTAssertThrowsError(try GraphModel(model: model(node, initializers: [w3]), source: "bad.onnx")) { error in
            XCTAssertTrue("\(error)".contains("pads [1, 0, 1, 0]"), "\(error)")
        }
    }

    func testFlatInputGraphTakesImages() throws {
        var g = Generator(seed: 2)
        let mlp = MLP(inputs: 16, hidden: [6], classes: 3, generator: &g)
        let flat = try ONNXExport.model(mlp, inputShape: [16], classes: 3)     // input [batch, 16], as a PyTorch MLP
        let graph = try GraphModel(model: flat, source: "mlp.onnx", inputShape: [1, 4, 4])
        XCTAssertTrue(graph.flattensInput)
        let x = Tensor.normal([2, 1, 4, 4], generator: &g)
        let expected = mlp(Variable(x)).value
        XCTAssertEqual(graph(Variable(x)).value.scalars, expected.scalars)
        // Exported for image inputs, it starts with a Flatten and reads back as an image model.
        let images = try ONNXExport.model(graph, inputShape: [1, 4, 4], classes: 3)
        XCTAssertEqual(images.graph.node.first?.opType, "Flatten")
        let back = try GraphModel(model: images, source: "back.onnx")
        XCTAssertFalse(back.flattensInput)
        XCTAssertEqual(back(Variable(x)).value.scalars, expected.scalars)
    }

    func testDropoutIsTheIdentity() throws {
        var node = Onnx_NodeProto()
        node.opType = "Dropout"
        node.name = "/drop/Dropout"
        node.input = ["input"]
        node.output = ["y"]
        let graph = try GraphModel(model: model(node), source: "drop.onnx")
        var g = Generator(seed: 1)
        let x = Tensor.normal([2, 3, 4, 4], generator: &g)
        for phase in [LearningPhase.training, .inference] {
            XCTAssertEqual(Context.with(phase) { graph(Variable(x)).value.scalars }, x.scalars)
        }
    }

    func testUnreadableFilesAreErrorsNamingTheFile() throws {
        let dir = try InteropPeer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try GraphModel(contentsOf: dir.appendingPathComponent("missing.onnx").path)) {
            XCTAssertTrue("\($0)".contains("missing.onnx"), "\($0)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try fixture("tiny_cnn", "onnx")))
        let truncated = dir.appendingPathComponent("truncated.onnx")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        XCTAssertThrowsError(try GraphModel(contentsOf: truncated.path)) { XCTAssertTrue("\($0)".contains("truncated.onnx"), "\($0)") }
        let text = dir.appendingPathComponent("text.onnx")
        try Data("not a model at all\n".utf8).write(to: text)
        XCTAssertThrowsError(try GraphModel(contentsOf: text.path)) { XCTAssertTrue("\($0)".contains("text.onnx"), "\($0)") }
    }

    // MARK: names

    func testModelNameSpellsZooAndONNX() throws {
        XCTAssertEqual(ModelName(rawValue: "resnet20"), .resnet20)
        XCTAssertEqual(ModelName(rawValue: "onnx:nets/a.onnx")?.onnxPath, "nets/a.onnx")
        XCTAssertNil(ModelName(rawValue: "onnx:"))
        XCTAssertNil(ModelName(rawValue: "resnet21"))
        XCTAssertEqual(ModelName.allCases.count, 14)
        XCTAssertFalse(ModelName.allCases.contains { $0.onnxPath != nil })
        // The JSON of a zoo name is the same one string as before (run directories' config.json do not change).
        XCTAssertEqual(String(decoding: try JSONEncoder().encode([ModelName.lenet300100]), as: UTF8.self), "[\"lenet300-100\"]")
        let decoded = try JSONDecoder().decode([ModelName].self, from: Data("[\"wrn-28-10\",\"onnx:x.onnx\"]".utf8))
        XCTAssertEqual(decoded, [.wrn28x10, ModelName(onnxPath: "x.onnx")])
        XCTAssertThrowsError(try JSONDecoder().decode([ModelName].self, from: Data("[\"nope\"]".utf8)))
    }

    func testMakeModelBuildsTheGraphAndChecksShapes() throws {
        let path = try fixture("tiny_cnn", "onnx")
        var g = Generator(seed: 0)
        let net = try makeModel(ModelName(onnxPath: path), inputShape: [3, 16, 16], classes: 5, generator: &g)
        XCTAssertTrue(net is GraphModel)
        XCTAssertThrowsError(try makeModel(ModelName(onnxPath: path), inputShape: [3, 16, 16], classes: 10, generator: &g)) {
            XCTAssertTrue("\($0)".contains("10 classes"), "\($0)")
        }
        XCTAssertThrowsError(try makeModel(ModelName(onnxPath: path), inputShape: [1, 16, 16], classes: 5, generator: &g)) {
            XCTAssertTrue("\($0)".contains("[1, 16, 16]"), "\($0)")
        }
    }
}
