import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// Every kind of bad input gives a `DataError` that names the file, what was expected and what was found —
/// never a crash and never silently wrong data.
final class ReaderErrorTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func file(_ name: String) -> String { Fixtures.path(directory, name) }
    private func loadMNIST(_ split: DataSplit = .train) throws -> Dataset {
        try loadDataset(.mnist, split: split, directory: directory)
    }

    // MARK: missing files

    func testMissingMNISTFile() throws {
        try Fixtures.writeMNIST(directory, split: .train, count: 2, gzip: false)
        try FileManager.default.removeItem(atPath: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte"), file("train-labels-idx1-ubyte.gz"), "missing", "found neither"])
    }

    func testMissingDirectory() {
        let nowhere = file("does-not-exist")
        assertDataError(try loadDataset(.mnist, split: .test, directory: nowhere), mentions: [nowhere, "t10k-images-idx3-ubyte"])
        assertDataError(try loadDataset(.cifar100, split: .test, directory: nowhere), mentions: [nowhere, "test.bin", "cifar-100-binary"])
    }

    func testMissingCIFAR10Batch() throws {
        for b in [1, 2, 4, 5] {
            try Fixtures.write(Fixtures.cifarRecords(labels: [[1]], salt: b).file, to: file("data_batch_\(b).bin"))
        }
        assertDataError(try loadDataset(.cifar10, split: .train, directory: directory),
                        mentions: ["data_batch_3.bin", directory, "found 4 of 5"])
    }

    // MARK: truncation

    func testTruncatedImageFile() throws {
        let bytes = Fixtures.idxImages(count: 3, rows: 4, cols: 4, pixels: Fixtures.pixels(count: 48))
        try Fixtures.write(Array(bytes.dropLast(5)), to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1, 2, 3]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), "truncated", "3 images of 4x4",
                                                    "expected 64 bytes", "found 59 bytes"])
    }

    func testTruncatedImageHeader() throws {
        try Fixtures.write(Fixtures.bigEndian(2051) + [0, 0], to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), "16-byte header", "found only 6 bytes"])
    }

    func testTruncatedLabelFile() throws {
        try Fixtures.write(Fixtures.idxImages(count: 3, rows: 2, cols: 2, pixels: Fixtures.pixels(count: 12)),
                           to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1, 2], count: 3), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte"), "truncated", "3 labels",
                                                    "expected 11 bytes", "found 10 bytes"])
    }

    func testTrailingBytesAreRejected() throws {
        try Fixtures.write(Fixtures.idxImages(count: 1, rows: 2, cols: 2, pixels: Fixtures.pixels(count: 5)),
                           to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), "trailing", "expected 20 bytes", "found 21"])
    }

    func testAbsurdHeaderDoesNotCrash() throws {
        // Header dimensions whose product overflows a 64-bit Int.
        let header = Fixtures.bigEndian(2051) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max)
        try Fixtures.write(header + [1, 2, 3], to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), "impossible size", "found 19 bytes"])
    }

    // MARK: wrong magic numbers

    func testWrongImageMagic() throws {
        try Fixtures.write(Fixtures.idxImages(count: 1, rows: 2, cols: 2, pixels: Fixtures.pixels(count: 4), magic: 2049),
                           to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), "magic", "expected 2051", "found 2049", "swapped"])
    }

    func testWrongLabelMagic() throws {
        try Fixtures.writeMNIST(directory, split: .test, count: 2, gzip: false)
        try Fixtures.write(Fixtures.idxLabels([1, 2], magic: 0x0000_0802), to: file("t10k-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(.test), mentions: [file("t10k-labels-idx1-ubyte"), "magic", "expected 2049", "found 2050"])
    }

    // MARK: inconsistent contents

    func testImageLabelCountMismatch() throws {
        try Fixtures.write(Fixtures.idxImages(count: 3, rows: 2, cols: 2, pixels: Fixtures.pixels(count: 12)),
                           to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([1, 2]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-images-idx3-ubyte"), file("train-labels-idx1-ubyte"),
                                                    "count mismatch", "3 images", "holds 2"])
    }

    func testMNISTLabelOutOfRange() throws {
        try Fixtures.write(Fixtures.idxImages(count: 3, rows: 2, cols: 2, pixels: Fixtures.pixels(count: 12)),
                           to: file("train-images-idx3-ubyte"))
        try Fixtures.write(Fixtures.idxLabels([9, 10, 0]), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte"), "index 1", "expected 0..<10", "found 10"])
    }

    func testCIFAR10LabelOutOfRange() throws {
        try Fixtures.write(Fixtures.cifarRecords(labels: [[2], [0], [10]], salt: 0).file, to: file("test_batch.bin"))
        assertDataError(try loadDataset(.cifar10, split: .test, directory: directory),
                        mentions: [file("test_batch.bin"), "record 2", "expected 0..<10", "found 10"])
    }

    func testCIFAR100LabelsOutOfRange() throws {
        try Fixtures.write(Fixtures.cifarRecords(labels: [[2, 5], [1, 100]], salt: 0).file, to: file("test.bin"))
        assertDataError(try loadDataset(.cifar100, split: .test, directory: directory),
                        mentions: [file("test.bin"), "fine label", "record 1", "expected 0..<100", "found 100"])
        try Fixtures.write(Fixtures.cifarRecords(labels: [[20, 5]], salt: 0).file, to: file("test.bin"))
        assertDataError(try loadDataset(.cifar100, split: .test, directory: directory),
                        mentions: [file("test.bin"), "coarse label", "expected 0..<20", "found 20"])
    }

    func testCIFAR10SizeNotMultipleOfRecord() throws {
        let recs = Fixtures.cifarRecords(labels: [[1], [2]], salt: 0).file
        try Fixtures.write(Array(recs.dropLast(100)), to: file("test_batch.bin"))
        assertDataError(try loadDataset(.cifar10, split: .test, directory: directory),
                        mentions: [file("test_batch.bin"), "6046 bytes", "not a multiple", "3073", "found 1 records and 2973 extra bytes"])
    }

    func testCIFAR100SizeNotMultipleOfRecord() throws {
        // A CIFAR-10 file (3073-byte records) read as CIFAR-100 (3074-byte records).
        try Fixtures.write(Fixtures.cifarRecords(labels: [[1]], salt: 0).file, to: file("train.bin"))
        assertDataError(try loadDataset(.cifar100, split: .train, directory: directory),
                        mentions: [file("train.bin"), "3073 bytes", "3074", "found 0 records and 3073 extra bytes"])
    }

    func testEmptyCIFARFile() throws {
        try Fixtures.write([], to: file("test_batch.bin"))
        assertDataError(try loadDataset(.cifar10, split: .test, directory: directory), mentions: [file("test_batch.bin"), "empty"])
    }

    // MARK: bad gzip

    /// A valid gzip of an MNIST label file, for the corruption tests.
    private func gzippedLabels() throws -> [UInt8] { try Fixtures.gzipped(Fixtures.idxLabels((0..<200).map { UInt8($0 % 10) })) }

    private func writeImagesFor200Labels() throws {
        try Fixtures.write(Fixtures.idxImages(count: 200, rows: 1, cols: 1, pixels: Fixtures.pixels(count: 200)),
                           to: file("train-images-idx3-ubyte"))
    }

    func testCorruptGzipData() throws {
        try writeImagesFor200Labels()
        var gz = try gzippedLabels()
        gz[10] = 0x07   // first deflate block header: BFINAL = 1, BTYPE = 11 (reserved, invalid)
        try Fixtures.write(gz, to: file("train-labels-idx1-ubyte.gz"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte.gz"), "corrupt gzip", "invalid block type"])
    }

    func testGzipChecksumMismatch() throws {
        try writeImagesFor200Labels()
        var gz = try gzippedLabels()
        gz[gz.count - 8] ^= 0xff   // the CRC-32 in the trailer
        try Fixtures.write(gz, to: file("train-labels-idx1-ubyte.gz"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte.gz"), "corrupt gzip", "incorrect data check"])
    }

    func testTruncatedGzip() throws {
        try writeImagesFor200Labels()
        let gz = try gzippedLabels()
        try Fixtures.write(Array(gz.prefix(gz.count - 12)), to: file("train-labels-idx1-ubyte.gz"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte.gz"), "truncated gzip", "end of the file"])
    }

    func testGzSuffixOnNonGzipData() throws {
        try writeImagesFor200Labels()
        try Fixtures.write(Fixtures.idxLabels((0..<200).map { UInt8($0 % 10) }), to: file("train-labels-idx1-ubyte.gz"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte.gz"), "not a gzip file", "expected magic bytes 1f 8b", "found 00 00"])
    }

    func testGarbageAfterGzipMember() throws {
        try writeImagesFor200Labels()
        try Fixtures.write(try gzippedLabels() + [0x41, 0x42, 0x43], to: file("train-labels-idx1-ubyte.gz"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte.gz"), "trailing byte", "41 42 43"])
    }

    func testGzippedDataWithoutSuffixGetsAHint() throws {
        try writeImagesFor200Labels()
        try Fixtures.write(try gzippedLabels(), to: file("train-labels-idx1-ubyte"))
        assertDataError(try loadMNIST(), mentions: [file("train-labels-idx1-ubyte"), "magic", "gzip data"])
    }

    func testErrorsReadWellThroughLocalizedDescription() throws {
        do {
            _ = try loadMNIST()
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.localizedDescription.contains("train-images-idx3-ubyte"), error.localizedDescription)
        }
    }
}
