// Without mpirun: the world is one process, no MPI library is loaded, every collective is the identity, and
// data-parallel training computes exactly what plain training computes (the multi-rank equivalence is checked
// under mpirun by scripts/mpi_check.sh).

import XCTest
import Foundation
import ShearsData
@testable import ShearsDistributed
import ShearsNN
import ShearsTensor

final class SingleProcessTests: XCTestCase {
    func testWorldIsOneProcessWithoutMPI() throws {
        guard ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil else {
            throw XCTSkip("running under mpirun; this test is about a plain process")
        }
        let world = try Communicator.world()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertFalse(world.usesMPI)
        XCTAssertTrue(world.isWriter)
        let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
        XCTAssertFalse(maps.contains("libmpi"), "a single process must not map libmpi")
    }

    func testCollectivesAreTheIdentity() throws {
        let c = Communicator.single
        var buffer: [Float] = [1.5, -2, 3]
        try buffer.withUnsafeMutableBufferPointer { try c.allreduceMean($0) }
        XCTAssertEqual(buffer, [1.5, -2, 3])
        XCTAssertEqual(try c.allreduce([1.25, 2], .max), [1.25, 2])
        XCTAssertEqual(try c.allreduce([3, 4], .sum), [3, 4])
        XCTAssertEqual(try c.broadcast([1, 2, 3] as [UInt8]), [1, 2, 3])
        XCTAssertEqual(try c.broadcast([0.1, 0.2] as [Double]), [0.1, 0.2])
        let t = Tensor(shape: [2], scalars: [4, 5])
        XCTAssertEqual(try c.broadcast(["a": t])["a"]?.scalars, [4, 5])
        XCTAssertEqual(try c.reduceScores(["a": t])["a"]?.scalars, [4, 5])
        XCTAssertEqual(try c.differingFromRoot([("a", Variable(t))]), [])
        let pending = try buffer.withUnsafeMutableBufferPointer { try c.startAllreduceSum($0) }
        XCTAssertTrue(try pending.test())
        try c.barrier()
    }

    func testDataParallelAloneLeavesGradientsBitIdentical() throws {
        var g1 = Generator(seed: 9), g2 = Generator(seed: 9)
        let plain = MLP(inputs: 8, hidden: [6], classes: 3, generator: &g1)
        let parallel = MLP(inputs: 8, hidden: [6], classes: 3, generator: &g2)
        var g = Generator(seed: 10)
        let global = Batch(images: Tensor.normal([5, 8], generator: &g), labels: [0, 1, 2, 1, 0], indices: Array(0..<5))
        softmaxCrossEntropy(logits: plain(Variable(global.images)), labels: global.labels).backward()
        let dp = try DataParallel(model: parallel, communicator: .single, syncBatchNorm: true)
        XCTAssertNil(Context.batchNormSynchronizer, "one process never synchronises batch norm")
        let shard = try dp.shard(global)
        XCTAssertEqual(shard.range, 0..<5)
        dp.beginBackward()
        softmaxCrossEntropy(logits: parallel(Variable(shard.batch.images)), labels: shard.batch.labels).backward()
        try dp.averageGradients()
        XCTAssertEqual(try dp.globalMean(0.75), 0.75, "alone, the global mean is the shard's")
        for ((name, a), (_, b)) in zip(plain.namedParameters, parallel.namedParameters) {
            XCTAssertEqual(a.grad!.scalars, b.grad!.scalars, name)
        }
    }

    func testBucketsFollowBackwardOrderAndSize() throws {
        var g = Generator(seed: 11)
        let net = MLP.lenet300100(generator: &g)   // fc1 235,200 + 300, fc2 30,000 + 100, fc3 1,000 + 10 floats
        let averager = try GradientAverager(parameters: net.namedParameters, communicator: .single, bucketBytes: 100_000)
        // Reverse order: fc3.bias, fc3.weight, fc2.bias, fc2.weight (≥ 100 kB: close), fc1.bias, fc1.weight.
        XCTAssertEqual(averager.bucketBytes, [4 * (10 + 1_000 + 100 + 30_000), 4 * (300 + 235_200)])
        XCTAssertThrowsError(try GradientAverager(parameters: net.namedParameters, communicator: .single, bucketBytes: 0))
    }

    func testTensorHeaderRoundTripsAndRejectsNonsense() {
        for t in [Tensor(shape: [2, 3], repeating: 1), Tensor(3), Tensor(shape: [1, 2, 2, 2], repeating: 0).channelsLast()] {
            let h = TensorHeader(decoding: TensorHeader(t).encoded)
            XCTAssertEqual(h?.shape, t.shape)
            XCTAssertEqual(h?.format, t.format)
        }
        XCTAssertNil(TensorHeader(decoding: "sideways 2,3"))
        XCTAssertNil(TensorHeader(decoding: "contiguous 2,-3"))
        XCTAssertNil(TensorHeader(decoding: "contiguous"))
    }
}
