import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// `Dataset` operations and the synthetic set.
final class DatasetTests: XCTestCase {
    /// Three 2-channel 1x2 images, with known values.
    static func handMade() -> Dataset {
        let scalars: [Float] = [
            0.0, 0.2,   0.5, 0.5,    // image 0: channel 0, channel 1
            0.4, 0.6,   0.5, 0.5,    // image 1
            1.0, 0.8,   0.5, 0.5,    // image 2
        ]
        return Dataset(name: "hand", images: Tensor(shape: [3, 2, 1, 2], scalars: scalars), labels: [0, 1, 2], classes: 3)
    }

    func testBasicProperties() {
        let d = Self.handMade()
        XCTAssertEqual(d.count, 3)
        XCTAssertEqual(d.imageShape, [2, 1, 2])
        XCTAssertEqual(d.classCounts(), [1, 1, 1])
    }

    func testChannelStatistics() {
        // Channel 0 holds 0, .2, .4, .6, .8, 1 → mean 0.5, population variance
        // (0.25 + 0.09 + 0.01 + 0.01 + 0.09 + 0.25) / 6 = 0.7 / 6; channel 1 is constant.
        let s = Self.handMade().channelStatistics()
        XCTAssertEqual(s.mean[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.std[0], Float(0.7 / 6).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(s.mean[1], 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.std[1], 0, accuracy: 1e-6)
    }

    func testChannelStatisticsOfEmptyDatasetIsIdentity() {
        let s = Self.handMade().prefix(0).channelStatistics()
        XCTAssertEqual(s.mean, [0, 0])
        XCTAssertEqual(s.std, [1, 1])
    }

    func testSubsetAndPrefix() {
        let d = Self.handMade()
        let s = d.subset([2, 0, 2])
        XCTAssertEqual(s.labels, [2, 0, 2])
        XCTAssertEqual(s.images.shape, [3, 2, 1, 2])
        XCTAssertEqual(Array(s.images.scalars[0..<4]), [1.0, 0.8, 0.5, 0.5])
        XCTAssertEqual(Array(s.images.scalars[4..<8]), [0.0, 0.2, 0.5, 0.5])
        XCTAssertEqual(s.classes, 3)
        let p = d.prefix(2)
        XCTAssertEqual(p.labels, [0, 1])
        XCTAssertEqual(p.images.scalars, Array(d.images.scalars[0..<8]))
        XCTAssertEqual(d.prefix(10).count, 3)
    }

    func testSyntheticIsDeterministicAndWellFormed() {
        let a = makeSynthetic(count: 103, classes: 4, imageShape: [2, 3, 3], seed: 7)
        let b = makeSynthetic(count: 103, classes: 4, imageShape: [2, 3, 3], seed: 7)
        let c = makeSynthetic(count: 103, classes: 4, imageShape: [2, 3, 3], seed: 8)
        XCTAssertEqual(a.images.scalars, b.images.scalars)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(a.images.scalars, c.images.scalars)
        XCTAssertNotEqual(a.labels, c.labels)
        XCTAssertEqual(a.images.shape, [103, 2, 3, 3])
        XCTAssertEqual(a.classCounts(), [26, 26, 26, 25])
        XCTAssertGreaterThanOrEqual(a.images.min(), 0)
        XCTAssertLessThanOrEqual(a.images.max(), 1)
    }

    /// A nearest-class-mean classifier fit on one seed's draw classifies another seed's draw well: the
    /// classes are separable, and two seeds share the class means (train and test sets).
    func testSyntheticIsLearnableAcrossSeeds() {
        let shape = [1, 8, 8], classes = 5
        let train = makeSynthetic(count: 500, classes: classes, imageShape: shape, seed: 1)
        let test = makeSynthetic(count: 200, classes: classes, imageShape: shape, seed: 2)
        let pixels = 64
        var centroids = [[Float]](repeating: [Float](repeating: 0, count: pixels), count: classes)
        let x = train.images.scalars
        for i in 0..<train.count { for k in 0..<pixels { centroids[Int(train.labels[i])][k] += x[i * pixels + k] } }
        let counts = train.classCounts()
        for c in 0..<classes { centroids[c] = centroids[c].map { $0 / Float(counts[c]) } }
        let t = test.images.scalars
        var correct = 0
        for i in 0..<test.count {
            let distances = centroids.map { c in (0..<pixels).reduce(Float(0)) { $0 + pow(t[i * pixels + $1] - c[$1], 2) } }
            if distances.firstIndex(of: distances.min()!)! == Int(test.labels[i]) { correct += 1 }
        }
        XCTAssertGreaterThan(Double(correct) / Double(test.count), 0.95)
    }

    func testSyntheticThroughLoadDataset() throws {
        // Only the 2,000-example test split: generating the 10,000-example training split is slow in debug builds.
        let test = try loadDataset(.synthetic, split: .test, directory: "/nonexistent")
        XCTAssertEqual(test.count, 2_000)
        XCTAssertEqual(test.imageShape, [1, 28, 28])
        XCTAssertEqual(test.classes, 10)
        XCTAssertEqual(test.classCounts(), [Int](repeating: 200, count: 10))
    }

    func testKindsAndSplitsAreCodableByName() throws {
        XCTAssertEqual(DatasetKind(rawValue: "fashion-mnist"), .fashionMNIST)
        XCTAssertEqual(DatasetKind.allCases.map(\.rawValue), ["mnist", "fashion-mnist", "cifar10", "cifar100", "synthetic", "npz", "folder", "tiny-imagenet"])
        XCTAssertEqual(DatasetKind.cifar100.classes, 100)
        let json = try JSONEncoder().encode([DataSplit.train, .test])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"["train","test"]"#)
    }

    func testPaddedAddsZerosAroundEveryPlane() {
        // 2 images × 1 channel × 2×3, padded by 1 → 4×5.
        let d = Dataset(name: "t", images: Tensor(shape: [2, 1, 2, 3], scalars: (1...12).map(Float.init)), labels: [0, 1], classes: 2)
        let p = d.padded(by: 1)
        XCTAssertEqual(p.images.shape, [2, 1, 4, 5])
        XCTAssertEqual(Array(p.images.scalars[0..<20]), [0, 0, 0, 0, 0,
                                                         0, 1, 2, 3, 0,
                                                         0, 4, 5, 6, 0,
                                                         0, 0, 0, 0, 0])
        XCTAssertEqual(Array(p.images.scalars[20..<40]).filter { $0 != 0 }, [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(p.labels, d.labels)
        XCTAssertEqual(d.padded(by: 0).images.shape, [2, 1, 2, 3])
    }
}
