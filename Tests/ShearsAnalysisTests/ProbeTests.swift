import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ShearsData
import ShearsNN
import ShearsTensor
@testable import ShearsAnalysis

final class ProbeTests: XCTestCase {
    /// Linear(2 → 1) with W = [1, −1], b = 0.5 and the loss mean((y − t)²), t = the batch labels.
    func tinyModel() -> Linear {
        var g = Generator(seed: 1)
        let m = Linear(2, 1, generator: &g)
        m.weight.value = Tensor(shape: [1, 2], scalars: [1, -1])
        m.bias!.value = Tensor(shape: [1], scalars: [0.5])
        return m
    }

    func mse(_ model: any Layer, _ batch: Batch) -> Variable {
        let n = batch.labels.count
        return mseLoss(model(Variable(batch.images)), target: Tensor(shape: [n, 1], scalars: batch.labels.map(Float.init)))
    }

    func testGradientValuesMatchHandComputedAndLeaveModelUnchanged() {
        let model = tinyModel()
        let b1 = Batch(images: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), labels: [0, 1], indices: [0, 1])
        let b2 = Batch(images: Tensor(shape: [1, 2], scalars: [1, 0]), labels: [1], indices: [2])
        let sentinel = Tensor(shape: [1, 2], scalars: [42, -42])
        model.weight.grad = sentinel
        XCTAssertNil(model.bias!.grad)

        // b1: y = [−0.5, −0.5], y − t = [−0.5, −1.5], ∂L/∂W = (2/2)·Σ(y − t)·x = [−5, −7].
        let one = gradientValues(model: model, batches: [b1], loss: mse, parameters: [("weight", model.weight)])
        XCTAssertEqual(one.count, 2)
        XCTAssertEqual(one[0], -5, accuracy: 1e-5)
        XCTAssertEqual(one[1], -7, accuracy: 1e-5)

        // b2: y = 1.5, y − t = 0.5, ∂L/∂W = 2·0.5·[1, 0] = [1, 0]; the average over both batches [−2, −3.5].
        let both = gradientValues(model: model, batches: [b1, b2], loss: mse, parameters: model.namedParameters)
        XCTAssertEqual(both.count, 3)   // weight then bias
        XCTAssertEqual(both[0], -2, accuracy: 1e-5)
        XCTAssertEqual(both[1], -3.5, accuracy: 1e-5)
        // ∂L/∂b: b1 (2/2)·(−2) = −2, b2 2·0.5 = 1 → −0.5.
        XCTAssertEqual(both[2], -0.5, accuracy: 1e-5)

        // Masked: only the alive entries (mask ≠ 0); parameters without a mask stay whole.
        let masked = gradientValues(model: model, batches: [b1, b2], loss: mse, parameters: model.namedParameters,
                                    excludingMasked: ["weight": Tensor(shape: [1, 2], scalars: [0, 1])])
        XCTAssertEqual(masked.count, 2)
        XCTAssertEqual(masked[0], -3.5, accuracy: 1e-5)
        XCTAssertEqual(masked[1], -0.5, accuracy: 1e-5)

        // Unchanged weights and gradients.
        XCTAssertEqual(model.weight.value.scalars, [1, -1])
        XCTAssertEqual(model.bias!.value.scalars, [0.5])
        XCTAssertEqual(model.weight.grad?.scalars, sentinel.scalars)
        XCTAssertNil(model.bias!.grad)
        XCTAssertEqual(weightParameters(of: model).map(\.0), ["weight"])
    }

    func testGradientValuesRestoresBatchNormBuffers() {
        var g = Generator(seed: 3)
        let net = ResNetLikeProbe(generator: &g)
        let before = net.stateDict.map { $0.1.value.scalars }
        let x = randomBatch([4, 3, 4, 4], classes: 2, seed: 9)
        let vals = gradientValues(model: net, batches: [x], loss: { m, b in
            softmaxCrossEntropy(logits: m(Variable(b.images)), labels: b.labels)
        }, parameters: weightParameters(of: net))
        XCTAssertEqual(vals.count, weightParameters(of: net).reduce(0) { $0 + $1.1.value.count })
        XCTAssertTrue(vals.contains { $0 != 0 })
        XCTAssertEqual(net.stateDict.map { $0.1.value.scalars }, before, "parameters and running statistics restored")
        XCTAssertTrue(net.parameters.allSatisfy { $0.grad == nil })
        XCTAssertEqual(Context.phase, .training)
    }

    func testPostReLUActivations() {
        var g = Generator(seed: 2)
        let mlp = MLP(inputs: 12, hidden: [7, 5], classes: 3, generator: &g)
        let b1 = randomBatch([4, 3, 2, 2], classes: 3, seed: 1)   // flattened to [4, 12]
        let b2 = randomBatch([2, 12], classes: 3, seed: 2)
        let acts = postReLUActivations(of: mlp, batches: [b1, b2])
        XCTAssertEqual(acts.count, (4 + 2) * (7 + 5))
        XCTAssertTrue(acts.allSatisfy { $0 >= 0 })
        XCTAssertTrue(acts.contains { $0 > 0 })
        // The first layer of the first batch equals relu(x·W1ᵀ + b1) by hand.
        let x = b1.images.scalars, w = mlp.layers[0].weight.value.scalars, bias = mlp.layers[0].bias!.value.scalars
        for i in 0..<4 {
            for j in 0..<7 {
                var s = bias[j]
                for k in 0..<12 { s += x[i * 12 + k] * w[j * 12 + k] }
                XCTAssertEqual(acts[i * 7 + j], max(s, 0), accuracy: 1e-5)
            }
        }
        XCTAssertTrue(mlp.parameters.allSatisfy { $0.grad == nil })
        XCTAssertEqual(Context.phase, .training)
    }

    // MARK: - Chart

    final class Collector: NSObject, XMLParserDelegate {
        var paths: [String] = []
        var texts: [String] = []
        private var current = ""
        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            if elementName == "path" { paths.append(attributeDict["d"] ?? "") }
            current = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            if elementName == "text" { texts.append(current) }
            current = ""
        }
    }

    func testChartHasOnePathPerCycle() throws {
        let edges = Histogram.uniformEdges(-1, 1, bins: 10)
        var g = Generator(seed: 5)
        let records = [100.0, 80, 64].enumerated().map { m, p -> CycleDistribution in
            let s = Float(p / 100)
            let grads = (0..<500).map { _ in Float(g.nextNormal()) * 0.3 * s }
            let acts = (0..<500).map { _ in max(0, Float(g.nextNormal()) * s) }
            return CycleDistribution(cycle: m, percentRemaining: p, gradients: .fixed(grads, edges: edges),
                                     activations: .sturges(acts))
        }
        for kind in DistributionKind.allCases {
            let svg = distributionChart(records, kind: kind, title: "Fig. 1").render()
            let parser = XMLParser(data: Data(svg.utf8))
            let c = Collector()
            parser.delegate = c
            XCTAssertTrue(parser.parse(), "well-formed SVG")
            XCTAssertEqual(c.paths.count, 3)
            XCTAssertTrue(c.paths.allSatisfy { $0.split(separator: "L").count == 10 || kind == .activations })
            XCTAssertTrue(c.paths.allSatisfy { !$0.isEmpty })
            for label in ["P = 100%", "P = 80%", "P = 64%", "Fig. 1"] { XCTAssertTrue(c.texts.contains(label), label) }
            XCTAssertTrue(c.texts.contains { $0.contains(kind == .gradients ? "gradient" : "activation") })
            XCTAssertTrue(c.texts.contains { $0.hasPrefix("density") })
        }
        // A record without activations is left out of the activations chart.
        var partial = records
        partial[2].activations = nil
        XCTAssertEqual(distributionChart(partial, kind: .activations, title: "t").series.count, 2)
        XCTAssertEqual(percentRemainingLabel(51.2), "P = 51.2%")
        XCTAssertEqual(percentRemainingLabel(5.72), "P = 5.72%")
        XCTAssertEqual(percentRemainingLabel(0.8 * 0.8 * 0.8 * 100), "P = 51.2%")
        let back = try JSONDecoder().decode([CycleDistribution].self, from: JSONEncoder().encode(records))
        XCTAssertEqual(back, records)
    }
}

/// conv → batch norm → ReLU → global pool → linear: a model with buffers a training-mode forward updates.
struct ResNetLikeProbe: Layer {
    let conv: Conv2d
    let bn: BatchNorm
    let fc: Linear
    init(generator g: inout Generator) {
        conv = Conv2d(3, 4, kernel: 3, padding: 1, bias: false, generator: &g)
        bn = BatchNorm(4)
        fc = Linear(4, 2, generator: &g)
    }
    func callAsFunction(_ x: Variable) -> Variable { fc(flatten(globalAvgPool2d(relu(bn(conv(x)))))) }
    var namedParameters: [(String, Variable)] {
        prefixed("conv", conv.namedParameters) + prefixed("bn", bn.namedParameters) + prefixed("fc", fc.namedParameters)
    }
    var namedBuffers: [(String, Variable)] { prefixed("bn", bn.namedBuffers) }
}

func randomBatch(_ shape: [Int], classes: Int, seed: UInt64) -> Batch {
    var g = Generator(seed: seed)
    let x = Tensor.normal(shape, generator: &g)
    let y = (0..<shape[0]).map { _ in Int32(g.nextInt(below: classes)) }
    return Batch(images: x, labels: y, indices: Array(0..<shape[0]))
}
