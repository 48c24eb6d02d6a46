// SparseTraining (ShearsNN/SparseTraining.swift): training steps with the sparse training forms attached equal
// the dense masked steps (LeNet-300-100 and a ResNet-20 with its stride-2 and 1×1 layers and first layer), the
// forms survive optimizer steps, and prepare's modes (auto times, on attaches every masked weight, off none).

import XCTest
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class SparseTrainingTests: XCTestCase {
    /// Zeroes a seeded fraction `sparsity` of every rank ≥ 2 weight and returns the matching 0/1 masks.
    func prune(_ model: any Layer, sparsity: Double, seed: UInt64) -> [String: Tensor] {
        var g = Generator(seed: seed)
        var masks: [String: Tensor] = [:]
        for (name, p) in model.namedParameters where p.shape.count >= 2 {
            var m = Tensor.ones(p.shape)
            p.value.withUnsafeMutableBufferPointer { b in
                m.withUnsafeMutableBufferPointer { mb in
                    for i in 0..<b.count where Double(g.nextFloat()) < sparsity { b[i] = 0; mb[i] = 0 }
                }
            }
            masks[name] = m
        }
        return masks
    }

    func relative(_ a: Tensor, _ b: Tensor) -> Float { a.maxAbsDifference(b) / max(1, max(b.max(), -b.min())) }

    /// Three SGD steps (momentum, weight decay, masked) on a dense and a sparse-prepared copy of the same model.
    func checkSteps(_ name: ModelName, inputShape: [Int], batch: Int, sparsity: Double) throws {
        var g1 = Generator(seed: 8201), g2 = Generator(seed: 8201)
        let dense = try makeModel(name, inputShape: inputShape, classes: 10, generator: &g1)
        let sparse = try makeModel(name, inputShape: inputShape, classes: 10, generator: &g2)
        let masks = prune(dense, sparsity: sparsity, seed: 8202)
        XCTAssertEqual(prune(sparse, sparsity: sparsity, seed: 8202).keys.sorted(), masks.keys.sorted())
        let decisions = SparseTraining.prepare(model: sparse, masks: masks, batchSize: batch, inputShape: inputShape, mode: .on)
        XCTAssertEqual(decisions.count, masks.count, "\(name): one decision per masked weight")
        XCTAssertTrue(decisions.allSatisfy(\.chosen), "\(name): `on` attaches every masked weight")
        var g = Generator(seed: 8203)
        let x = Tensor.normal([batch] + inputShape, generator: &g)
        let labels = (0..<batch).map { _ in Int32(g.nextInt(below: 10)) }
        let sgd = SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        var optimizers = [MaskedOptimizer(sgd, mask: Mask(masks)), MaskedOptimizer(sgd, mask: Mask(masks))]
        for step in 0..<3 {
            var losses: [Float] = []
            for (k, net) in [dense, sparse].enumerated() {
                net.zeroGrad()
                let loss = softmaxCrossEntropy(logits: net(Variable(x)), labels: labels)
                loss.backward()
                optimizers[k].step(net.namedParameters)
                losses.append(loss.value.scalar)
            }
            XCTAssertEqual(losses[1], losses[0], accuracy: 1e-5 * max(1, abs(losses[0])), "\(name) step \(step): loss")
            for ((pname, pd), (_, ps)) in zip(dense.namedParameters, sparse.namedParameters) {
                XCTAssertLessThan(relative(ps.value, pd.value), 1e-5, "\(name) step \(step): \(pname) after the step")
            }
        }
        for (pname, p) in sparse.namedParameters where masks[pname] != nil {
            XCTAssertNotNil(p.trainingForm, "\(pname): the form survives three optimizer steps")
            XCTAssertEqual(p.trainingForm?.uses, 3, "\(pname): and ran in each of them")
        }
    }

    func testLeNetStepsEqualTheDenseMaskedSteps() throws {
        try checkSteps(.lenet300100, inputShape: [1, 28, 28], batch: 12, sparsity: 0.9)
    }

    func testResNet20StepsEqualTheDenseMaskedSteps() throws {
        try checkSteps(.resnet20, inputShape: [3, 8, 8], batch: 4, sparsity: 0.8)
    }

    func testModes() throws {
        var g = Generator(seed: 8204)
        let net = try makeModel(.lenet300100, inputShape: [1, 28, 28], classes: 10, generator: &g)
        var masks = prune(net, sparsity: 0.98, seed: 8205)
        masks["fc3.weight"] = nil   // an unmasked weight is never attached
        let weights = net.namedParameters.filter { $0.1.shape.count == 2 }

        let auto = SparseTraining.prepare(model: net, masks: masks, batchSize: 8, inputShape: [1, 28, 28], mode: .auto, repetitions: 1)
        XCTAssertEqual(auto.map(\.name), weights.map(\.0), "one decision per weight, in use order")
        for d in auto {
            let p = weights.first { $0.0 == d.name }!.1
            XCTAssertEqual(p.trainingForm != nil, d.chosen, "\(d.name): attached exactly when chosen")
            if masks[d.name] == nil {
                XCTAssertFalse(d.chosen)
                XCTAssertNil(d.denseMicroseconds)
            } else {
                XCTAssertEqual(d.sparsity, 0.98, accuracy: 0.01)
                let (dt, st) = (try XCTUnwrap(d.denseMicroseconds), try XCTUnwrap(d.sparseMicroseconds))
                XCTAssertTrue(dt > 0 && st > 0)
                XCTAssertEqual(d.chosen, st < dt, "\(d.name): chosen means measured faster")
            }
            XCTAssertNil(p.grad, "\(d.name): timing leaves no gradient behind")
        }
        let off = SparseTraining.prepare(model: net, masks: masks, batchSize: 8, inputShape: [1, 28, 28], mode: .off)
        XCTAssertTrue(off.allSatisfy { !$0.chosen } && weights.allSatisfy { $0.1.trainingForm == nil }, "off attaches nothing")
        SparseTraining.attach(model: net, masks: masks, chosen: ["fc1.weight", "fc3.weight"])
        XCTAssertNotNil(weights[0].1.trainingForm, "attach re-applies a decision")
        XCTAssertNil(weights[2].1.trainingForm, "but not to a weight without a mask")
        XCTAssertEqual(SparseTraining.releaseStale(net), [], "nothing grew back")
        let fc1 = weights[0].1
        let pruned = masks["fc1.weight"]!.scalars.firstIndex(of: 0)!
        fc1.value.withUnsafeMutableBufferPointer { $0[pruned] = 0.5 }   // as gRDA may bring an entry back
        XCTAssertEqual(SparseTraining.releaseStale(net), ["fc1.weight"], "a weight that grew outside its structure is released")
        XCTAssertNil(fc1.trainingForm)
        SparseTraining.attach(model: net, masks: masks, chosen: ["fc1.weight"])
        SparseTraining.release(net)
        XCTAssertTrue(weights.allSatisfy { $0.1.trainingForm == nil }, "release drops every form")
    }
}
