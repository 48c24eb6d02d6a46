import Foundation
import XCTest
@testable import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// `--sparse-kernels` in the one loop (`SparseKernelsRun`): pruned cycles train on the sparse kernels and agree with
/// the dense masked path to float rounding; a killed run resumes bit-identically on the layers its checkpoint
/// recorded; dynamic sparse training keeps grown connections in the sparse structure.
final class SparseKernelsInLoopTests: RunTestCase {
    override func tearDownWithError() throws {
        SparseKernelsRun.mode = .off
        try super.tearDownWithError()
    }

    private func finalWeights(_ d: RunDirectory) throws -> [String: [Float]] {
        try SafetensorsFile.read(path: d.path("run_0/model.safetensors")).tensors.mapValues(\.scalars)
    }

    private func config() -> IterativePruningConfig {
        var c = quickPruningConfig(cycles: 2, evalEvery: 8)
        c.rate = 0.8   // 36 % → 4 % remaining: sparse enough that every layer has a structure to use
        c.training.momentum = 0.9
        return c
    }

    func testPrunedCyclesOnTheSparseKernelsAgreeWithTheDenseMaskedPath() throws {
        let c = config()
        SparseKernelsRun.mode = .off
        let dense = try dir("off")
        _ = try IterativePruning.run(c, in: dense, options: quietOptions())
        SparseKernelsRun.mode = .on
        let sparse = try dir("on")
        _ = try IterativePruning.run(c, in: sparse, options: quietOptions())
        let a = try finalWeights(dense), b = try finalWeights(sparse)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        var worst: Float = 0, differs = false
        for (name, x) in a {
            for (u, v) in zip(x, b[name]!) {
                worst = max(worst, abs(u - v) / max(1, abs(u)))
                if (u == 0) != (v == 0) { differs = true }
            }
        }
        XCTAssertLessThan(worst, 1e-4, "two pruned cycles on the sparse kernels drifted from the dense masked path")
        XCTAssertFalse(differs, "the sparse kernels changed which weights are zero")
        // The sparse kernels did run: their sums in another order leave the weights not all bit-identical.
        XCTAssertNotEqual(a, b, "--sparse-kernels on computed exactly what off computed: were the forms attached?")
        XCTAssertNil(try SafetensorsFile.read(path: dense.path("run_0/checkpoint.safetensors")).metadata["sparse_kernels_layers"])
    }

    func testKilledRunResumesBitIdenticallyOnTheRecordedLayers() throws {
        let c = config()
        SparseKernelsRun.mode = .on
        let whole = try dir("whole")
        _ = try IterativePruning.run(c, in: whole, options: quietOptions())
        let resumed = try dir("resumed")
        XCTAssertThrowsError(try IterativePruning.run(c, in: resumed, options: quietOptions(stopAfterCycle: 1, stopAfterIteration: 11)))
        // The checkpoint of the killed cycle names the layers that trained sparse, for the mask they were chosen for.
        let meta = try SafetensorsFile.read(path: resumed.path("run_0/checkpoint.safetensors")).metadata
        XCTAssertEqual(meta["sparse_kernels_layers"].map { Set($0.split(separator: ",").map(String.init)) },
                       Set(["fc1.weight", "fc2.weight", "fc3.weight"]))
        XCTAssertNotNil(meta["sparse_kernels_mask"])
        XCTAssertThrowsError(try IterativePruning.run(c, in: resumed, options: quietOptions(stopAfterCycle: 2, stopAfterIteration: 9)))
        _ = try IterativePruning.run(c, in: resumed, options: quietOptions())
        XCTAssertEqual(try finalWeights(whole), try finalWeights(resumed))
    }

    func testGrownConnectionsJoinTheSparseStructure() throws {
        var g = Generator(seed: 5)
        let model = MLP(inputs: 16, hidden: [12], classes: 4, generator: &g)
        let weights = model.namedParameters.filter { $0.1.value.rank == 2 }
        var keep = Mask.ones(for: weights)
        keep.tensors = keep.tensors.mapValues { t in Tensor(shape: t.shape, scalars: t.scalars.indices.map { $0 % 3 == 0 ? 1 : 0 }) }
        keep.apply(to: weights)
        SparseTraining.attach(model: model, masks: keep.tensors, chosen: Set(weights.map(\.0)))
        // Grow one connection of fc1 (position 1, pruned before) and give it a value.
        var grown = keep
        var t = grown.tensors["fc1.weight"]!.scalars
        t[1] = 1
        grown.tensors["fc1.weight"] = Tensor(shape: grown.tensors["fc1.weight"]!.shape, scalars: t)
        var state = LoopState(optimizer: masked(SGD(learningRate: 0.1), mask: grown))
        refreshSparseKernels(model, mask: grown, &state)
        let w = weights.first { $0.0 == "fc1.weight" }!.1
        var values = w.value.scalars
        values[1] = 0.5
        w.value = Tensor(shape: w.shape, scalars: values)
        let x = Variable(Tensor.normal([3, 16], generator: &g))
        let withForms = model(x).value.scalars
        SparseTraining.release(model)
        XCTAssertEqual(withForms, model(x).value.scalars, accuracy: 1e-5, "the grown connection is missing from the sparse forward")
        XCTAssertEqual(state.position.sparseKernels?.layers.sorted(), weights.map(\.0).sorted())
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) where abs(x - y) > accuracy { XCTFail("\(message): \(x) vs \(y)", file: file, line: line); return }
}
