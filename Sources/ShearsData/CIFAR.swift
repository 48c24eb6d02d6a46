import Foundation
import ShearsTensor

/// CIFAR-10 and CIFAR-100, the official "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// Each file is a sequence of fixed-size records with no header: the label byte(s), then 3072 pixel bytes —
/// the 1024 red values, then green, then blue, each a 32x32 plane in row-major order. That is already the
/// `[C, H, W]` layout of one image, so a record's pixels convert straight into its slot of the tensor. With
/// no header, the only integrity checks are that the size is a whole number of records and that every label
/// is in range; both are made before anything is converted.
enum CIFARReader {
    static let imageShape = [3, 32, 32]
    static let pixelBytes = 3072

    struct Format {
        let kind: DatasetKind
        let displayName: String
        let subdirectory: String       // what the official archive unpacks to
        let labelBytes: Int            // CIFAR-10: the label; CIFAR-100: coarse label, fine label
        let labelByteUsed: Int         // which of them is the class
        let labelLimits: [Int]         // valid range of each label byte
        let trainFiles: [String]
        let testFiles: [String]
        var recordSize: Int { labelBytes + CIFARReader.pixelBytes }
        var classes: Int { labelLimits[labelByteUsed] }
    }

    static let cifar10 = Format(
        kind: .cifar10, displayName: "CIFAR-10", subdirectory: "cifar-10-batches-bin",
        labelBytes: 1, labelByteUsed: 0, labelLimits: [10],
        trainFiles: (1...5).map { "data_batch_\($0).bin" }, testFiles: ["test_batch.bin"])

    /// CIFAR-100's records carry the coarse (20 superclasses) then the fine (100 classes) label; we train on
    /// the fine one, as the literature's "CIFAR-100" does. Both are range-checked, which also catches a
    /// CIFAR-10 file whose size happens to be a multiple of 3074.
    static let cifar100 = Format(
        kind: .cifar100, displayName: "CIFAR-100", subdirectory: "cifar-100-binary",
        labelBytes: 2, labelByteUsed: 1, labelLimits: [20, 100],
        trainFiles: ["train.bin"], testFiles: ["test.bin"])

    static func load(_ format: Format, split: DataSplit, directory: String) throws -> Dataset {
        let names = split == .train ? format.trainFiles : format.testFiles
        let paths = try locate(names, format: format, directory: directory)
        // Read and validate every file before allocating the float tensor.
        var files: [(path: String, bytes: [UInt8], records: Int)] = []
        for path in paths {
            let bytes = try FileBytes.read(path)
            let records = bytes.count / format.recordSize, extra = bytes.count % format.recordSize
            guard extra == 0 else {
                throw DataError("\(path): size \(bytes.count) bytes is not a multiple of the \(format.displayName) record size \(format.recordSize) (\(format.labelBytes) label byte(s) + \(pixelBytes) pixel bytes): expected whole records, found \(records) records and \(extra) extra bytes (truncated or not a \(format.displayName) binary file?)")
            }
            guard records > 0 else {
                throw DataError("\(path): expected \(format.displayName) records of \(format.recordSize) bytes, found an empty file")
            }
            for r in 0..<records {
                for (k, limit) in format.labelLimits.enumerated() {
                    let label = Int(bytes[r * format.recordSize + k])
                    if label >= limit {
                        let which = format.labelBytes == 1 ? "label" : (k == 0 ? "coarse label" : "fine label")
                        throw DataError("\(path): \(which) out of range in record \(r): expected 0..<\(limit), found \(label)")
                    }
                }
            }
            files.append((path, bytes, records))
        }
        let total = files.reduce(0) { $0 + $1.records }
        var images = Tensor(uninitializedShape: [total] + imageShape)
        var labels = [Int32]()
        labels.reserveCapacity(total)
        images.withUnsafeMutableBufferPointer { dst in
            var n = 0
            for file in files {
                file.bytes.withUnsafeBufferPointer { src in
                    for r in 0..<file.records {
                        let record = src.baseAddress! + r * format.recordSize
                        labels.append(Int32(record[format.labelByteUsed]))
                        Pixels.convert(record + format.labelBytes, count: pixelBytes,
                                       into: dst.baseAddress! + n * pixelBytes)
                        n += 1
                    }
                }
            }
        }
        return Dataset(name: "\(format.kind.rawValue)-\(split.rawValue)", images: images, labels: labels,
                       classes: format.classes, validated: ())
    }

    /// The split's files, in `directory` itself or in the subdirectory the official archive unpacks to. All
    /// files must come from the same place, so a half-copied directory is reported rather than mixed.
    private static func locate(_ names: [String], format: Format, directory: String) throws -> [String] {
        let places = [directory, (directory as NSString).appendingPathComponent(format.subdirectory)]
        for place in places {
            let paths = names.map { (place as NSString).appendingPathComponent($0) }
            if paths.allSatisfy({ FileBytes.firstExisting([$0]) != nil }) { return paths }
        }
        // Report the place that has the most of the files (or the directory itself when neither has any).
        let scored = places.map { place -> (String, [String]) in
            (place, names.filter { FileBytes.firstExisting([(place as NSString).appendingPathComponent($0)]) == nil })
        }
        let best = scored.min { $0.1.count < $1.1.count }!
        throw DataError("\(format.displayName): missing file(s) \(best.1.joined(separator: ", ")) in \(best.0): expected \(names.joined(separator: ", ")) in \(places.joined(separator: " or ")), found \(names.count - best.1.count) of \(names.count)")
    }
}
