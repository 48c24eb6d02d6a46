import Foundation
@testable import ShearsData
import ShearsTensor
import XCTest

/// Order, coverage, determinism, resume, prefetching and normalisation of `DataLoader`.
final class DataLoaderTests: XCTestCase {
    let data = SplitsTests.numbered(103)

    private func collect(_ loader: DataLoader, epoch: Int, start: Int = 0) -> [Batch] { Array(loader.epoch(epoch, startingAt: start)) }

    func testEveryExampleExactlyOncePerEpoch() {
        let loader = DataLoader(dataset: data, batchSize: 10, shuffle: true, seed: 1)
        XCTAssertEqual(loader.batchesPerEpoch, 11)
        for e in 0..<3 {
            let batches = collect(loader, epoch: e)
            XCTAssertEqual(batches.count, 11)
            XCTAssertEqual(batches.map(\.indices.count), [Int](repeating: 10, count: 10) + [3])
            let indices = batches.flatMap(\.indices)
            XCTAssertEqual(indices.sorted(), Array(0..<103))
            for b in batches {
                // Images and labels belong to the listed examples.
                XCTAssertEqual(SplitsTests.ids(Dataset(name: "b", images: b.images, labels: b.labels, classes: 10)), b.indices)
                XCTAssertEqual(b.labels, b.indices.map { Int32($0 % 10) })
            }
        }
    }

    func testUnshuffledIsInOrder() {
        let loader = DataLoader(dataset: data, batchSize: 25, shuffle: false, seed: 1)
        XCTAssertEqual(collect(loader, epoch: 4).flatMap(\.indices), Array(0..<103))
    }

    func testSameSeedSameOrderDifferentEpochsDifferentOrders() {
        let a = DataLoader(dataset: data, batchSize: 16, shuffle: true, seed: 42)
        let b = DataLoader(dataset: data, batchSize: 16, shuffle: true, seed: 42)
        let c = DataLoader(dataset: data, batchSize: 16, shuffle: true, seed: 43)
        XCTAssertEqual(collect(a, epoch: 0).flatMap(\.indices), collect(b, epoch: 0).flatMap(\.indices))
        XCTAssertEqual(collect(a, epoch: 0).flatMap(\.indices), a.order(epoch: 0))
        XCTAssertNotEqual(a.order(epoch: 0), a.order(epoch: 1))
        XCTAssertNotEqual(a.order(epoch: 1), a.order(epoch: 2))
        XCTAssertNotEqual(a.order(epoch: 0), c.order(epoch: 0))
        XCTAssertNotEqual(a.order(epoch: 0), Array(0..<103))
        // The order of epoch 5 does not depend on whether epochs 0–4 were ever iterated.
        XCTAssertEqual(DataLoader(dataset: data, batchSize: 16, shuffle: true, seed: 42).order(epoch: 5), a.order(epoch: 5))
    }

    func testResumeEqualsTailOfFullEpoch() {
        let loader = DataLoader(dataset: data, batchSize: 8, shuffle: true, seed: 9, augmentation: Augmentation(randomCrop: 1, horizontalFlip: true))
        let full = collect(loader, epoch: 3)
        for start in [0, 1, 7, 12] {
            let resumed = collect(DataLoader(dataset: data, batchSize: 8, shuffle: true, seed: 9,
                                             augmentation: Augmentation(randomCrop: 1, horizontalFlip: true)),
                                  epoch: 3, start: start)
            XCTAssertEqual(resumed.count, full.count - start)
            for (r, f) in zip(resumed, full[start...]) {
                XCTAssertEqual(r.indices, f.indices)
                XCTAssertEqual(r.labels, f.labels)
                XCTAssertEqual(r.images.scalars, f.images.scalars)
            }
        }
        XCTAssertEqual(collect(loader, epoch: 3, start: 13).count, 0)
        XCTAssertEqual(collect(loader, epoch: 3, start: 99).count, 0)
        XCTAssertEqual(loader.batch(epoch: 3, index: 5).images.scalars, full[5].images.scalars)
    }

    func testPrefetchOnAndOffIdentical() {
        let images = makeSynthetic(count: 37, classes: 3, imageShape: [3, 6, 5], seed: 4)
        let stats = images.channelStatistics()
        var results: [[Batch]] = []
        for prefetch in [0, 1, 2, 5] {
            let loader = DataLoader(dataset: images, batchSize: 4, shuffle: true, seed: 77, augmentation: .cifar,
                                    mean: stats.mean, std: stats.std, prefetch: prefetch)
            results.append(collect(loader, epoch: 2))
        }
        for other in results.dropFirst() {
            XCTAssertEqual(other.count, results[0].count)
            for (a, b) in zip(results[0], other) {
                XCTAssertEqual(a.indices, b.indices)
                XCTAssertEqual(a.labels, b.labels)
                XCTAssertEqual(a.images.scalars, b.images.scalars)
            }
        }
    }

    func testSequenceCanBeIteratedTwice() {
        let loader = DataLoader(dataset: data, batchSize: 10, shuffle: true, seed: 2, augmentation: .cifar)
        let epoch = loader.epoch(1)
        let first = Array(epoch), second = Array(epoch)
        XCTAssertEqual(first.map(\.indices), second.map(\.indices))
        XCTAssertEqual(first.map(\.images.scalars), second.map(\.images.scalars))
    }

    func testDropLast() {
        let loader = DataLoader(dataset: data, batchSize: 10, shuffle: true, seed: 1, dropLast: true)
        XCTAssertEqual(loader.batchesPerEpoch, 10)
        let batches = collect(loader, epoch: 0)
        XCTAssertEqual(batches.count, 10)
        XCTAssertTrue(batches.allSatisfy { $0.indices.count == 10 && $0.images.shape == [10, 1, 2, 2] })
        XCTAssertEqual(Set(batches.flatMap(\.indices)).count, 100)
        let exact = DataLoader(dataset: data.prefix(100), batchSize: 10, shuffle: false, seed: 1, dropLast: true)
        XCTAssertEqual(exact.batchesPerEpoch, 10)
        XCTAssertEqual(DataLoader(dataset: data, batchSize: 200, shuffle: false, seed: 1, dropLast: true).batchesPerEpoch, 0)
        XCTAssertEqual(DataLoader(dataset: data, batchSize: 200, shuffle: false, seed: 1).batchesPerEpoch, 1)
    }

    func testNormalisationGivesZeroMeanUnitStd() {
        let d = makeSynthetic(count: 64, classes: 4, imageShape: [3, 4, 4], seed: 3)
        let s = d.channelStatistics()
        let loader = DataLoader(dataset: d, batchSize: 10, shuffle: true, seed: 5, mean: s.mean, std: s.std)
        let batches = collect(loader, epoch: 0)
        let all = Dataset(name: "all", images: concatenate(batches.map(\.images)), labels: batches.flatMap(\.labels), classes: 4)
        let normalised = all.channelStatistics()
        for c in 0..<3 {
            XCTAssertEqual(normalised.mean[c], 0, accuracy: 1e-5)
            XCTAssertEqual(normalised.std[c], 1, accuracy: 1e-5)
        }
        // Elementwise: (x − mean) / std of the gathered example.
        let b = batches[0], x = d.subset(b.indices).images
        for c in 0..<3 { XCTAssertEqual(b.images[1, c, 2, 3], (x[1, c, 2, 3] - s.mean[c]) / s.std[c], accuracy: 1e-6) }
    }

    func testConstantChannelIsOnlyCentred() {
        // Channel 1 of the hand-made set is constant 0.5: std 0 must not produce infinities.
        let d = DatasetTests.handMade()
        let s = d.channelStatistics()
        let loader = DataLoader(dataset: d, batchSize: 3, shuffle: false, seed: 0, mean: s.mean, std: s.std)
        let b = Array(loader.epoch(0))[0]
        XCTAssertTrue(b.images.isFinite)
        XCTAssertEqual(b.images[2, 1, 0, 1], 0)
        XCTAssertEqual(b.images[2, 0, 0, 0], (1 - 0.5) / s.std[0], accuracy: 1e-6)
    }

    func testAbandoningAnEpochEarlyFreesItsThread() throws {
        let loader = DataLoader(dataset: data, batchSize: 1, shuffle: true, seed: 1, prefetch: 2)
        for _ in 0..<20 {
            let iterator = loader.epoch(0).makeIterator()
            XCTAssertNotNil(iterator.next())   // the producer is now blocked on a full queue
        }
        // Also an iterator never advanced, and a loop broken out of.
        _ = loader.epoch(1).makeIterator()
        for batch in loader.epoch(2) where batch.indices.count == 1 { break }
        let deadline = Date().addingTimeInterval(5)
        while PrefetchThreads.count > 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(PrefetchThreads.count, 0, "prefetch threads still running after their iterators were dropped")
    }

    private func concatenate(_ tensors: [Tensor]) -> Tensor {
        let rest = Array(tensors[0].shape.dropFirst())
        return Tensor(shape: [tensors.reduce(0) { $0 + $1.shape[0] }] + rest, scalars: tensors.flatMap(\.scalars))
    }
}
