// Sharding a global batch by rank: the shards partition it in order, differ by at most one example, and their
// loss shares (n_r / n) add up to 1; bad ranks and batches too small for the ranks get a clear message.

import XCTest
import ShearsData
@testable import ShearsDistributed
import ShearsTensor

final class ShardingTests: XCTestCase {
    private func batch(_ n: Int) -> Batch {
        Batch(images: Tensor(shape: [n, 1, 2, 2], scalars: (0..<(4 * n)).map(Float.init)),
              labels: (0..<n).map { Int32($0 % 10) }, indices: (0..<n).map { 100 + $0 })
    }

    func testShardsPartitionTheBatchInOrder() throws {
        for (n, ranks) in [(64, 2), (64, 3), (7, 4), (5, 5)] {
            let b = batch(n)
            let shards = try (0..<ranks).map { try b.shard(rank: $0, of: ranks) }
            XCTAssertEqual(shards.flatMap(\.batch.indices), b.indices, "\(n) over \(ranks): in order, each example once")
            XCTAssertEqual(shards.flatMap(\.batch.labels), b.labels)
            XCTAssertEqual(shards.flatMap { $0.batch.images.scalars }, b.images.scalars)
            let sizes = shards.map(\.range.count)
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(n) over \(ranks): sizes \(sizes)")
            XCTAssertEqual(shards.reduce(0) { $0 + $1.lossShare }, 1, accuracy: 1e-12)
            for s in shards { XCTAssertEqual(s.lossShare, Double(s.range.count) / Double(n)) }
        }
        let uneven = try batch(64).shard(rank: 2, of: 3)
        XCTAssertEqual(uneven.range, 42..<64)
        XCTAssertEqual(uneven.batch.images.shape, [22, 1, 2, 2])
    }

    func testBatchSmallerThanRanksGivesEmptyShardsWithZeroShare() throws {
        let s = try batch(1).shard(rank: 0, of: 2)
        XCTAssertTrue(s.isEmpty)
        XCTAssertEqual(s.lossShare, 0)
        XCTAssertEqual(try batch(1).shard(rank: 1, of: 2).lossShare, 1)
    }

    func testBadRankIsAnError() {
        XCTAssertThrowsError(try batch(4).shard(rank: 2, of: 2)) { e in
            XCTAssertTrue("\(e)".contains("rank 2 is not one of 0..<2"), "\(e)")
        }
        XCTAssertThrowsError(try batch(4).shard(rank: 0, of: 0))
    }

    func testShardingProblemNamesTheSizes() {
        XCTAssertNil(shardingProblem(globalBatch: 128, ranks: 8, minimumPerRank: 2))
        let message = shardingProblem(globalBatch: 3, ranks: 2, minimumPerRank: 2)
        XCTAssertNotNil(message)
        XCTAssertTrue(message!.contains("global batch of 3 over 2 ranks") && message!.contains("at least 4"), message!)
        XCTAssertNotNil(shardingProblem(globalBatch: 8, ranks: 0))
    }
}
