import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// The IDX reader on files written in the real MNIST format, raw and gzipped.
final class MNISTReaderTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func check(_ d: Dataset, against s: Fixtures.IDXSplit, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(d.count, count, file: file, line: line)
        XCTAssertEqual(d.images.shape, [count, 1, s.rows, s.cols], file: file, line: line)
        XCTAssertEqual(d.images.format, .contiguous, file: file, line: line)
        XCTAssertEqual(d.imageShape, [1, s.rows, s.cols], file: file, line: line)
        XCTAssertEqual(d.classes, 10, file: file, line: line)
        XCTAssertEqual(d.labels, s.labels.map { Int32($0) }, file: file, line: line)
        // Exactly raw / 255, in file order (row-major within each image).
        XCTAssertEqual(d.images.scalars, s.pixels.map { Float($0) / 255 }, file: file, line: line)
    }

    func testReadsRawIDX() throws {
        let train = try Fixtures.writeMNIST(directory, split: .train, count: 7, gzip: false)
        let test = try Fixtures.writeMNIST(directory, split: .test, count: 3, rows: 2, cols: 5, gzip: false, salt: 9)
        check(try loadDataset(.mnist, split: .train, directory: directory), against: train, count: 7)
        check(try loadDataset(.mnist, split: .test, directory: directory), against: test, count: 3)
        XCTAssertEqual(try loadDataset(.mnist, split: .train, directory: directory).name, "mnist-train")
    }

    func testReadsGzippedIDX() throws {
        let train = try Fixtures.writeMNIST(directory, split: .train, count: 11, gzip: true)
        check(try loadDataset(.mnist, split: .train, directory: directory), against: train, count: 11)
    }

    func testFashionMNISTReadsTheSameFiles() throws {
        let s = try Fixtures.writeMNIST(directory, split: .test, count: 5, gzip: true, salt: 3)
        let d = try loadDataset(.fashionMNIST, split: .test, directory: directory)
        check(d, against: s, count: 5)
        XCTAssertEqual(d.name, "fashion-mnist-test")
    }

    func testMixedRawAndGzippedFiles() throws {
        let s = try Fixtures.writeMNIST(directory, split: .train, count: 4, gzip: false)
        // Compress only the label file: each file independently may be raw or .gz.
        let labels = Fixtures.path(directory, "train-labels-idx1-ubyte")
        try Fixtures.writeGzip([UInt8](try Data(contentsOf: URL(fileURLWithPath: labels))), to: labels + ".gz")
        try FileManager.default.removeItem(atPath: labels)
        check(try loadDataset(.mnist, split: .train, directory: directory), against: s, count: 4)
    }

    func testRawFileIsPreferredWhenBothExist() throws {
        let raw = try Fixtures.writeMNIST(directory, split: .train, count: 3, gzip: false, salt: 1)
        try Fixtures.writeMNIST(directory, split: .train, count: 6, gzip: true, salt: 2)
        check(try loadDataset(.mnist, split: .train, directory: directory), against: raw, count: 3)
    }

    func testEmptySplitIsValid() throws {
        let s = try Fixtures.writeMNIST(directory, split: .test, count: 0, gzip: true)
        check(try loadDataset(.mnist, split: .test, directory: directory), against: s, count: 0)
    }

    func testConcatenatedGzipMembersAreOneStream() throws {
        // `cat a.gz b.gz` is valid gzip (RFC 1952 §2.2) and gunzips to a + b.
        let pixels = Fixtures.pixels(count: 2 * 3 * 3)
        let file = Fixtures.idxImages(count: 2, rows: 3, cols: 3, pixels: pixels)
        let joined = try Fixtures.gzipped(Array(file[..<10])) + Fixtures.gzipped(Array(file[10...]))
        try Fixtures.write(joined, to: Fixtures.path(directory, "t10k-images-idx3-ubyte.gz"))
        try Fixtures.write(Fixtures.idxLabels([4, 2]), to: Fixtures.path(directory, "t10k-labels-idx1-ubyte"))
        let d = try loadDataset(.mnist, split: .test, directory: directory)
        XCTAssertEqual(d.images.scalars, pixels.map { Float($0) / 255 })
        XCTAssertEqual(d.labels, [4, 2])
    }
}
