import Foundation
import XCTest
@testable import ShearsExperiments
import ShearsData
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// `prune dynamic` (SET, RigL) as a protocol: constant sparsity with a changing mask, and exact resume.
final class DynamicSparseTrainingTests: RunTestCase {
    /// LeNet-300-100 on the synthetic set, 40 iterations of 50 with momentum; ΔT = 5 until 0.75 · 40 = 30: updates
    /// at 5, 10, 15, 20, 25; evaluation and checkpoint every 8.
    private func quickConfig(_ method: DynamicSparseMethod) -> DynamicSparseConfig {
        var c = DynamicSparseConfig()
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.split = .pooled
        c.training.epochs = nil
        c.training.iterations = 40
        c.training.batchSize = 50
        c.training.lr = 0.05
        c.training.momentum = 0.9
        c.training.evalEvery = StepSpec(8, .iterations)
        c.method = method
        c.sparsity = 0.8
        c.updateEvery = 5
        c.dropFraction = 0.5
        return c
    }

    private func tensors(_ d: RunDirectory, _ file: String) throws -> [String: [Float]] {
        try SafetensorsFile.read(path: d.path(file)).tensors.mapValues(\.scalars)
    }

    func testSparsityStaysConstantWhileTheMaskMoves() throws {
        for method in DynamicSparseMethod.allCases {
            let c = quickConfig(method)
            let d = try dir("run-\(method)")
            let s = try DynamicSparseTraining.run(c, in: d, options: quietOptions())
            XCTAssertEqual(s.maskUpdates, 5, "\(method): updates at 5, 10, 15, 20, 25")
            XCTAssertEqual(s.total, 64 * 300 + 300 * 100 + 100 * 10, "the three LeNet-300-100 weights on 8 × 8 inputs")
            XCTAssertEqual(s.remaining, 50_200 - 40_160, "ERK keeps N − ⌈s·N⌉")
            // The mask moved away from the initial random one, with the same count per layer.
            let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
            let initial = DynamicSparseTraining.initialMask(c, prunable: c.selection.select(setup.model))
            let final = try tensors(d, "mask.safetensors")
            XCTAssertTrue(final != initial.tensors.mapValues(\.scalars), "\(method): the mask changed")
            for (name, m) in final { XCTAssertEqual(m.reduce(0, +), initial[name]!.scalars.reduce(0, +), "\(method) \(name)") }
            // Pruned weights are exactly 0 in the saved model; every metrics row measured the same % remaining.
            let weights = try tensors(d, "model.safetensors")
            for (name, m) in final { XCTAssertTrue(zip(m, weights[name]!).allSatisfy { $0 == 1 || $1 == 0 }, "\(method) \(name)") }
            let rows = try JSONLines.numericRows(from: d.path("metrics.jsonl"))
            XCTAssertEqual(rows.count, 5)
            XCTAssertTrue(rows.allSatisfy { abs($0["percent_remaining"]! - s.percentRemaining) < 1e-9 })
            XCTAssertEqual(rows.map { $0["mask_updates"]! }, [1, 3, 4, 5, 5])   // at iterations 8, 16, 24, 32, 40
        }
    }

    /// Killed after iteration 13 (checkpoint at 8: the update at 10 is replayed, with RigL's gradient) and after 27
    /// (past the last update), then run to the end: bit-identical weights, mask and accuracies.
    func testResumeIsBitIdentical() throws {
        for method in DynamicSparseMethod.allCases {
            let c = quickConfig(method)
            let a = try dir("full-\(method)"), b = try dir("resumed-\(method)")
            let full = try DynamicSparseTraining.run(c, in: a, options: quietOptions())
            XCTAssertThrowsError(try DynamicSparseTraining.run(c, in: b, options: quietOptions(stopAfterIteration: 13))) {
                XCTAssertTrue($0 is TrainingInterrupted, "\($0)")
            }
            XCTAssertThrowsError(try DynamicSparseTraining.run(c, in: b, options: quietOptions(stopAfterIteration: 27)))
            let resumed = try DynamicSparseTraining.run(c, in: b, options: quietOptions())
            // Compared as Booleans: a failure printing every weight would bury the message.
            XCTAssertTrue(try tensors(a, "model.safetensors") == tensors(b, "model.safetensors"), "\(method): the weights differ after resume")
            XCTAssertTrue(try tensors(a, "mask.safetensors") == tensors(b, "mask.safetensors"), "\(method): the masks differ after resume")
            XCTAssertEqual(full.testAccuracyFinal, resumed.testAccuracyFinal)
            XCTAssertEqual(full.testAccuracyAtBestValidation, resumed.testAccuracyAtBestValidation)
            XCTAssertEqual(try JSONLines.numericRows(from: b.path("metrics.jsonl")).count, 5, "each evaluation once")
        }
    }

    /// RigL grows where the *dense* gradient is largest: the gradient of the step's batch at the step's weights, read
    /// before `MaskedOptimizer` zeroes it at pruned positions (had it been read after, every candidate would tie at 0
    /// and the lowest indices would grow). One step with ΔT = 1, against a gradient computed here independently.
    func testRigLGrowsWhereTheDenseGradientOfTheStepIsLargest() throws {
        var c = quickConfig(.rigl)
        c.updateEvery = 1
        let setup = try TrainingSetup(c.training, prefetch: 0, say: { _ in })
        let prunable = c.selection.select(setup.model)
        let mask = DynamicSparseTraining.initialMask(c, prunable: prunable)
        mask.apply(to: prunable)
        // The first batch the loop draws, at the starting weights.
        let batch = try XCTUnwrap(setup.loader.epoch(0).first(where: { _ in true }))
        setup.model.zeroGrad()
        softmaxCrossEntropy(logits: setup.model(Variable(batch.images)), labels: batch.labels).backward()
        let dense = Dictionary(uniqueKeysWithValues: prunable.map { ($0.0, $0.1.grad!.scalars) })
        setup.model.zeroGrad()

        let hook = DynamicSparsityHook(config: c, weights: prunable, mask: mask, total: setup.total)
        var loop = TrainLoop(model: setup.model, parameters: setup.parameters, loader: setup.loader, total: 1,
                             learningRate: { _ in c.training.lr }, divergence: { _, _ in "diverged" })
        loop.step = { loop, batch, iteration, optimizer in
            try TrainLoop.standardStep(loop, batch, iteration, &optimizer) { hook.captureDenseGradients(atStep: iteration + 1) }
        }
        var state = LoopState(optimizer: masked(makeOptimizer(c.training), mask: mask))
        try loop.run(&state, hooks: [hook])
        var grewSomewhere = false
        for name in mask.names {
            let before = mask[name]!.scalars, after = hook.mask[name]!.scalars, g = dense[name]!
            let grown = before.indices.filter { before[$0] == 0 && after[$0] == 1 }
            let expected = before.indices.filter { before[$0] == 0 }.sorted { (-abs(g[$0]), $0) < (-abs(g[$1]), $1) }.prefix(grown.count)
            XCTAssertTrue(Set(grown) == Set(expected), "\(name): the grown positions are not the top-|g| inactive ones")
            grewSomewhere = grewSomewhere || !grown.isEmpty
        }
        XCTAssertTrue(grewSomewhere)
    }

    func testRefusesValuesOutOfRangeNamingTheFlag() {
        var c = quickConfig(.set)
        for (change, flag) in [({ (c: inout DynamicSparseConfig) in c.sparsity = 1 }, "--sparsity"),
                               ({ $0.sparsity = 0 }, "--sparsity"),
                               ({ $0.updateEvery = 0 }, "--update-every"),
                               ({ $0.dropFraction = 0 }, "--drop-fraction"),
                               ({ $0.dropFraction = 1.5 }, "--drop-fraction"),
                               ({ $0.endUpdate = 0 }, "--end-update"),
                               ({ $0.endUpdate = 1.01 }, "--end-update")] as [((inout DynamicSparseConfig) -> Void, String)] {
            c = quickConfig(.set)
            change(&c)
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains(flag), "\($0)") }
        }
    }
}
