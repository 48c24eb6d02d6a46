import CZlib
import Foundation
import ShearsData
import ShearsTensor
import XCTest

/// Writers for small files in the real on-disk formats (IDX, gzip, CIFAR binary), so the readers are tested
/// against bytes laid out exactly as the official downloads lay them out.
enum Fixtures {
    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shears-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    /// Deterministic, position-dependent pixel bytes, so a misplaced pixel shows up.
    static func pixels(count: Int, salt: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 37 &+ salt &* 101 &+ ($0 >> 8)) % 256) }
    }

    /// An IDX3 image file: magic 2051, count, rows, cols, then the pixels.
    static func idxImages(count: Int, rows: Int, cols: Int, pixels: [UInt8], magic: UInt32 = 2051) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(count)) + bigEndian(UInt32(rows)) + bigEndian(UInt32(cols)) + pixels
    }

    /// An IDX1 label file: magic 2049, count, then the labels.
    static func idxLabels(_ labels: [UInt8], count: Int? = nil, magic: UInt32 = 2049) -> [UInt8] {
        bigEndian(magic) + bigEndian(UInt32(count ?? labels.count)) + labels
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Writes `bytes` gzip-compressed with zlib's own gzip writer (what `gzip` itself produces).
    static func writeGzip(_ bytes: [UInt8], to path: String) throws {
        guard let gz = gzopen(path, "wb") else { throw DataError("test: gzopen failed for \(path)") }
        let written = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        guard gzclose(gz) == Z_OK, Int(written) == bytes.count else { throw DataError("test: gzwrite failed for \(path)") }
    }

    /// The gzip encoding of `bytes`, via a temporary file.
    static func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = path(dir, "x.gz")
        try writeGzip(bytes, to: p)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
    }

    /// A small MNIST-format split: `count` images of rows×cols and labels `i % 10`, written raw or gzipped.
    struct IDXSplit {
        let pixels: [UInt8]
        let labels: [UInt8]
        let rows: Int, cols: Int
    }

    @discardableResult
    static func writeMNIST(_ directory: String, split: DataSplit, count: Int, rows: Int = 4, cols: Int = 3,
                           gzip: Bool, salt: Int = 0) throws -> IDXSplit {
        let prefix = split == .train ? "train" : "t10k"
        let pixels = pixels(count: count * rows * cols, salt: salt)
        let labels = (0..<count).map { UInt8(($0 * 7 + salt) % 10) }
        let images = idxImages(count: count, rows: rows, cols: cols, pixels: pixels)
        let labelFile = idxLabels(labels)
        let suffix = gzip ? ".gz" : ""
        let writer: ([UInt8], String) throws -> Void = gzip ? writeGzip : write
        try writer(images, path(directory, "\(prefix)-images-idx3-ubyte\(suffix)"))
        try writer(labelFile, path(directory, "\(prefix)-labels-idx1-ubyte\(suffix)"))
        return IDXSplit(pixels: pixels, labels: labels, rows: rows, cols: cols)
    }

    /// CIFAR records: `labelBytes` label bytes then 3072 pixel bytes (R, G, B planes of 32x32).
    static func cifarRecords(labels: [[UInt8]], salt: Int) -> (file: [UInt8], pixels: [[UInt8]]) {
        var file: [UInt8] = []
        var images: [[UInt8]] = []
        for (r, l) in labels.enumerated() {
            let px = pixels(count: 3072, salt: salt * 1000 + r)
            file += l + px
            images.append(px)
        }
        return (file, images)
    }
}

/// Asserts that `body` throws a `DataError` whose message contains every one of `parts`.
func assertDataError<T>(_ body: @autoclosure () throws -> T, mentions parts: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a DataError mentioning \(parts), but nothing was thrown", file: file, line: line)
    } catch let error as DataError {
        for p in parts where !error.description.contains(p) {
            XCTFail("DataError message does not mention \"\(p)\": \(error.description)", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DataError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// The pixel bytes of image `i` of a dataset, recovered from its [0, 1] floats.
func rawPixels(_ d: Dataset, _ i: Int) -> [UInt8] {
    d.images.slice(batch: i..<(i + 1)).scalars.map { UInt8(($0 * 255).rounded()) }
}
