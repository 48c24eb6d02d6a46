import XCTest
import ShearsData
import ShearsDistributed
@testable import ShearsExperiments
import ShearsNN
import ShearsOptim
import ShearsTensor

/// The standard step's data-parallel path (`TrainLoop.dataParallel` set) in one process computes what the plain
/// step computes, bit for bit (under mpirun the same calls are checked against one process by scripts/mpi_check.sh
/// and, through the commands, scripts/mpi_commands_check.sh), and refuses a batch it cannot share. One process
/// joins no data parallelism by itself.
final class DataParallelStepTests: XCTestCase {
    private func loop(seed: UInt64) -> TrainLoop {
        var g = Generator(seed: seed)
        let model = MLP(inputs: 784, hidden: [32], classes: 10, generator: &g)
        let data = makeSynthetic(count: 96, classes: 10, imageShape: [1, 28, 28], seed: 3)
        let loader = DataLoader(dataset: data, batchSize: 32, shuffle: true, seed: 4, prefetch: 0)
        return TrainLoop(model: model, parameters: model.namedParameters, loader: loader, total: 6,
                         learningRate: { it in 0.1 / Float(1 + it) }, divergence: { l, at in "diverged \(l) at \(at)" })
    }

    func testAloneItIsTheStandardStep() throws {
        let plain = loop(seed: 1)
        var wired = loop(seed: 1)
        wired.dataParallel = try DataParallel(model: wired.model, communicator: .single)
        XCTAssertNil(try plain.joinDataParallel(at: 0), "one process is not data-parallel")
        var a = LoopState(optimizer: SGD(learningRate: 0.1, momentum: 0.9)), b = LoopState(optimizer: SGD(learningRate: 0.1, momentum: 0.9))
        try plain.run(&a, hooks: [])
        try wired.run(&b, hooks: [])
        for ((name, x), (_, y)) in zip(plain.parameters, wired.parameters) { XCTAssertEqual(x.value.scalars, y.value.scalars, name) }
        XCTAssertNotEqual(plain.parameters[0].1.value.scalars, loop(seed: 1).parameters[0].1.value.scalars, "training moved the weights")
    }

    func testBatchTooSmallForTheRanksIsRefused() throws {
        let l = loop(seed: 2)
        let dp = try DataParallel(model: l.model, communicator: .single)
        var optimizer: any Optimizer = SGD(learningRate: 0.1)
        let empty = Batch(images: Tensor.zeros([0, 1, 28, 28]), labels: [], indices: [])
        XCTAssertThrowsError(try TrainLoop.dataParallelStep(l, dp, empty, 7, &optimizer, beforeUpdate: {})) { e in
            XCTAssertTrue("\(e)".contains("iteration 7") && "\(e)".contains("global batch of 0 over 1 ranks"), "\(e)")
        }
    }
}
