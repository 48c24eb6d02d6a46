// SparseInference (ShearsNN/SparseInference.swift): prepare's per-layer decisions and outputs, the rule that
// forms act only with grad mode off (training after prepare is bit-for-bit the training without it), and
// that an optimizer step, a mask and a state-dict load each drop the forms of the weights they write.

import Foundation
import XCTest
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class SparseInferenceTests: XCTestCase {
    /// Zeroes a seeded fraction `sparsity` of every rank ≥ 2 weight of `model`.
    func prune(_ model: any Layer, sparsity: Double, seed: UInt64) {
        var g = Generator(seed: seed)
        for (_, p) in model.namedParameters where p.shape.count >= 2 {
            p.value.withUnsafeMutableBufferPointer { b in
                for i in 0..<b.count where Double(g.nextFloat()) < sparsity { b[i] = 0 }
            }
        }
    }

    func weights(_ model: any Layer) -> [(String, Variable)] { model.namedParameters.filter { $0.1.shape.count >= 2 } }

    func forward(_ model: any Layer, _ x: Tensor) -> Tensor {
        Context.with(.inference) { GradMode.withoutGrad { model(Variable(x)).value } }
    }

    func testPrepareDecidesPerLayerAndKeepsTheOutputs() throws {
        for (name, shape) in [(ModelName.lenet300100, [1, 28, 28]), (.resnet20, [3, 16, 16])] {
            var g = Generator(seed: 8001)
            let net = try makeModel(name, inputShape: shape, classes: 10, generator: &g)
            prune(net, sparsity: 0.95, seed: 8002)
            let x = Tensor.normal([3] + shape, generator: &g)
            let dense = forward(net, x)
            let decisions = SparseInference.prepare(net, batchSize: 3, inputShape: shape, repetitions: 2)
            XCTAssertEqual(decisions.map(\.name), weights(net).map(\.0), "\(name): one decision per weight, in use order")
            for d in decisions {
                let p = net.namedParameters.first { $0.0 == d.name }!.1
                XCTAssertEqual(p.inferenceForm != nil, d.chosen, "\(d.name): a form is attached exactly when chosen")
                XCTAssertEqual(d.chosen, d.sparseMicroseconds < d.denseMicroseconds, "\(d.name): chosen means measured faster")
                XCTAssertEqual(d.sparsity, 0.95, accuracy: 0.05)
                XCTAssertEqual(d.inputShape.first, 3)
                XCTAssertEqual(d.method == nil, d.weightShape.count == 2, "\(d.name): a conv layout only for convolutions")
            }
            let sparse = forward(net, x)
            XCTAssertLessThan(sparse.maxAbsDifference(dense), 1e-5 * max(1, dense.max()), "\(name) output")
            SparseInference.release(net)
            XCTAssertTrue(net.namedParameters.allSatisfy { $0.1.inferenceForm == nil }, "release drops every form")
        }
    }

    func testFormsActOnlyWithGradModeOffAndTrainingIsUnchanged() throws {
        var g1 = Generator(seed: 8003), g2 = Generator(seed: 8003)
        let a = try makeModel(.resnet20, inputShape: [3, 8, 8], classes: 10, generator: &g1)
        let b = try makeModel(.resnet20, inputShape: [3, 8, 8], classes: 10, generator: &g2)
        prune(a, sparsity: 0.9, seed: 8004)
        prune(b, sparsity: 0.9, seed: 8004)
        // Every weight gets a form, whatever the timings say, so that any use of one would show.
        let forms = weights(a).map { (_, p) -> SparseWeight in
            let f = SparseWeight(p.value)
            p.inferenceForm = f
            return f
        }
        var g = Generator(seed: 8005)
        let x = Tensor.normal([4, 3, 8, 8], generator: &g)
        let labels: [Int32] = [1, 4, 7, 9]
        var losses: [Float] = []
        var optimizers = [SGD(learningRate: 0.1, momentum: 0.9), SGD(learningRate: 0.1, momentum: 0.9)]
        for (k, net) in [a, b].enumerated() {
            net.zeroGrad()
            let loss = softmaxCrossEntropy(logits: net(Variable(x)), labels: labels)
            loss.backward()
            losses.append(loss.value.scalar)
            if k == 0 { XCTAssertTrue(forms.allSatisfy { $0.uses == 0 }, "grad mode on: no form was used") }
        }
        XCTAssertEqual(losses[0], losses[1], "the training forward ignores the forms")
        for ((name, pa), (_, pb)) in zip(a.namedParameters, b.namedParameters) {
            XCTAssertEqual(pa.grad?.scalars, pb.grad?.scalars, "\(name): gradients identical to a never-prepared model")
        }
        // Evaluation with grad off does use them.
        _ = forward(a, x)
        XCTAssertTrue(forms.allSatisfy { $0.uses == 1 }, "grad mode off: every form was used once")
        // And the optimizer step that follows drops them.
        optimizers[0].step(a.namedParameters)
        optimizers[1].step(b.namedParameters)
        XCTAssertTrue(weights(a).allSatisfy { $0.1.inferenceForm == nil }, "an optimizer step drops the forms")
        for ((name, pa), (_, pb)) in zip(a.namedParameters, b.namedParameters) {
            XCTAssertEqual(pa.value.scalars, pb.value.scalars, "\(name): the same step on both")
        }
    }

    func testMaskApplicationAndStateDictLoadDropTheForms() throws {
        var g = Generator(seed: 8006)
        let net = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
        prune(net, sparsity: 0.9, seed: 8007)
        func attachAll() { for (_, p) in weights(net) { p.inferenceForm = SparseWeight(p.value) } }

        attachAll()
        let fc2 = net.namedParameters.first { $0.0 == "fc2.weight" }!.1
        let mask = Mask(["fc2.weight": Tensor.zeros(fc2.shape)])
        mask.apply(to: net.namedParameters)
        XCTAssertNil(fc2.inferenceForm, "applying a mask drops the masked weight's form")
        XCTAssertNotNil(net.namedParameters.first { $0.0 == "fc1.weight" }!.1.inferenceForm, "unmasked weights keep theirs")
        XCTAssertEqual(fc2.value.max(), 0)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sparse-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try saveStateDict(net, to: file)
        attachAll()
        try loadStateDict(net, from: file)
        XCTAssertTrue(weights(net).allSatisfy { $0.1.inferenceForm == nil }, "loading a state dict drops every form")
    }
}
