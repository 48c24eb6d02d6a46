import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// The real MNIST shipped in Data/mnist (gzipped IDX) loads completely and correctly. Reference values were
/// computed independently with Python's gzip + numpy from the same files.
final class EmbeddedMNISTTests: XCTestCase {
    /// Read once for the whole class (inflating and converting 47 MB is the slow part of this suite).
    nonisolated(unsafe) static var cached: (train: Dataset, test: Dataset)?

    static func mnist() throws -> (train: Dataset, test: Dataset) {
        if let cached { return cached }
        let dir = try embeddedMNISTDirectory()
        let loaded = (try loadDataset(.mnist, split: .train, directory: dir), try loadDataset(.mnist, split: .test, directory: dir))
        cached = loaded
        return loaded
    }

    func testDirectoryIsFound() throws {
        let dir = try embeddedMNISTDirectory()
        XCTAssertTrue(dir.hasSuffix("Data/mnist"), dir)
        XCTAssertTrue(FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("t10k-labels-idx1-ubyte.gz")))
    }

    func testTrainingSet() throws {
        let train = try Self.mnist().train
        XCTAssertEqual(train.count, 60_000)
        XCTAssertEqual(train.images.shape, [60_000, 1, 28, 28])
        XCTAssertEqual(train.classes, 10)
        XCTAssertEqual(train.classCounts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        XCTAssertEqual(Array(train.labels.prefix(10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
        // The first image (a 5): 166 lit pixels summing to 27525; a row through its middle.
        let first = rawPixels(train, 0)
        XCTAssertEqual(first.reduce(0) { $0 + Int($1) }, 27525)
        XCTAssertEqual(first.filter { $0 > 0 }.count, 166)
        XCTAssertEqual(Array(first[14 * 28 + 10 ..< 14 * 28 + 18]), [0, 0, 0, 81, 240, 253, 253, 119])
        XCTAssertEqual(rawPixels(train, 59_999).reduce(0) { $0 + Int($1) }, 20920)
        let head = train.prefix(1000).images
        XCTAssertEqual(head.min(), 0)
        XCTAssertEqual(head.max(), 1)
    }

    func testTestSet() throws {
        let test = try Self.mnist().test
        XCTAssertEqual(test.count, 10_000)
        XCTAssertEqual(test.classCounts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        XCTAssertEqual(Array(test.labels.prefix(10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
        XCTAssertEqual(rawPixels(test, 0).reduce(0) { $0 + Int($1) }, 18454)
    }

    func testChannelStatisticsAreTheFamousConstants() throws {
        // The (0.1307, 0.3081) every MNIST normalisation uses.
        let s = try Self.mnist().train.channelStatistics()
        XCTAssertEqual(s.mean.count, 1)
        XCTAssertEqual(s.mean[0], 0.130660, accuracy: 1e-6)
        XCTAssertEqual(s.std[0], 0.308108, accuracy: 1e-6)
    }
}
