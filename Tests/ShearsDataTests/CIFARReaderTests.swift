import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// The CIFAR readers on files written in the official binary format.
final class CIFARReaderTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes the five CIFAR-10 training batches (2, 1, 3, 1, 2 records) into `place`; returns the labels and
    /// pixels in the order the reader must produce them (batch 1 first).
    private func writeCIFAR10Train(in place: String) throws -> (labels: [Int32], pixels: [[UInt8]]) {
        var labels: [Int32] = [], pixels: [[UInt8]] = []
        for (b, n) in [2, 1, 3, 1, 2].enumerated() {
            let ls = (0..<n).map { UInt8((b * 3 + $0 * 7) % 10) }
            let recs = Fixtures.cifarRecords(labels: ls.map { [$0] }, salt: b)
            try Fixtures.write(recs.file, to: Fixtures.path(place, "data_batch_\(b + 1).bin"))
            labels += ls.map { Int32($0) }
            pixels += recs.pixels
        }
        return (labels, pixels)
    }

    func testCIFAR10Train() throws {
        let expected = try writeCIFAR10Train(in: directory)
        let d = try loadDataset(.cifar10, split: .train, directory: directory)
        XCTAssertEqual(d.count, 9)
        XCTAssertEqual(d.images.shape, [9, 3, 32, 32])
        XCTAssertEqual(d.classes, 10)
        XCTAssertEqual(d.labels, expected.labels)
        for i in 0..<9 { XCTAssertEqual(rawPixels(d, i), expected.pixels[i], "image \(i)") }
    }

    func testCIFAR10PlanesAreRGBRowMajor() throws {
        // One record whose R plane is 10, G plane 20, B plane 30, except pixel (row 1, col 2) of G = 200.
        var px = [UInt8](repeating: 10, count: 1024) + [UInt8](repeating: 20, count: 1024) + [UInt8](repeating: 30, count: 1024)
        px[1024 + 1 * 32 + 2] = 200
        try Fixtures.write([7] + px, to: Fixtures.path(directory, "test_batch.bin"))
        let d = try loadDataset(.cifar10, split: .test, directory: directory)
        XCTAssertEqual(d.labels, [7])
        XCTAssertEqual(d.images[0, 0, 5, 5], 10 / 255)
        XCTAssertEqual(d.images[0, 1, 1, 2], 200 / 255)
        XCTAssertEqual(d.images[0, 1, 2, 1], 20 / 255)
        XCTAssertEqual(d.images[0, 2, 31, 31], 30 / 255)
        XCTAssertEqual(d.name, "cifar10-test")
    }

    func testCIFAR10InArchiveSubdirectory() throws {
        let sub = Fixtures.path(directory, "cifar-10-batches-bin")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let expected = try writeCIFAR10Train(in: sub)
        let recs = Fixtures.cifarRecords(labels: [[3], [9]], salt: 42)
        try Fixtures.write(recs.file, to: Fixtures.path(sub, "test_batch.bin"))
        let train = try loadDataset(.cifar10, split: .train, directory: directory)
        XCTAssertEqual(train.labels, expected.labels)
        let test = try loadDataset(.cifar10, split: .test, directory: directory)
        XCTAssertEqual(test.labels, [3, 9])
        XCTAssertEqual(rawPixels(test, 1), recs.pixels[1])
    }

    func testCIFAR100UsesFineLabel() throws {
        let coarseFine: [[UInt8]] = [[3, 99], [19, 0], [0, 42], [11, 57]]
        let recs = Fixtures.cifarRecords(labels: coarseFine, salt: 5)
        try Fixtures.write(recs.file, to: Fixtures.path(directory, "train.bin"))
        let d = try loadDataset(.cifar100, split: .train, directory: directory)
        XCTAssertEqual(d.classes, 100)
        XCTAssertEqual(d.labels, [99, 0, 42, 57])
        XCTAssertEqual(d.images.shape, [4, 3, 32, 32])
        for i in 0..<4 { XCTAssertEqual(rawPixels(d, i), recs.pixels[i], "image \(i)") }
    }

    func testCIFAR100InArchiveSubdirectory() throws {
        let sub = Fixtures.path(directory, "cifar-100-binary")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let recs = Fixtures.cifarRecords(labels: [[1, 2], [3, 4]], salt: 1)
        try Fixtures.write(recs.file, to: Fixtures.path(sub, "test.bin"))
        let d = try loadDataset(.cifar100, split: .test, directory: directory)
        XCTAssertEqual(d.labels, [2, 4])
        XCTAssertEqual(d.name, "cifar100-test")
    }
}
