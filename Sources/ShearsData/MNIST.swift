import Foundation
import ShearsTensor

/// MNIST and Fashion-MNIST: the same four IDX files, 28x28 grey images, 10 classes.
enum MNISTReader {
    static let classes = 10

    static func fileNames(_ split: DataSplit) -> (images: String, labels: String) {
        switch split {
        case .train: return ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
        case .test: return ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        }
    }

    /// Reads one split from `directory`; each file may be raw or gzipped (`.gz`). When both exist the raw one
    /// is read (it is what a user who unpacked the download intends, and it needs no inflating).
    static func load(_ kind: DatasetKind, split: DataSplit, directory: String) throws -> Dataset {
        let names = fileNames(split)
        let imagePath = try locate(names.images, in: directory, kind: kind)
        let labelPath = try locate(names.labels, in: directory, kind: kind)
        let images = try IDX.readImages(imagePath)
        let labels = try IDX.readLabels(labelPath)
        guard images.count == labels.count else {
            throw DataError("\(kind.rawValue) \(split.rawValue): image/label count mismatch: \(imagePath) holds \(images.count) images, so \(labelPath) should hold \(images.count) labels, but it holds \(labels.count)")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw DataError("\(labelPath): label out of range at index \(bad): expected 0..<\(classes) (\(kind.rawValue) has \(classes) classes), found \(labels[bad])")
        }
        let plane = images.rows * images.cols
        var tensor = Tensor(uninitializedShape: [images.count, 1, images.rows, images.cols])
        tensor.withUnsafeMutableBufferPointer { dst in
            images.bytes.withUnsafeBufferPointer { src in
                Pixels.convert(src.baseAddress! + IDX.Images.headerSize, count: images.count * plane,
                               into: dst.baseAddress!)
            }
        }
        return Dataset(name: "\(kind.rawValue)-\(split.rawValue)", images: tensor,
                       labels: labels.map { Int32($0) }, classes: classes, validated: ())
    }

    private static func locate(_ name: String, in directory: String, kind: DatasetKind) throws -> String {
        let base = (directory as NSString).appendingPathComponent(name)
        let candidates = [base, base + ".gz"]
        guard let path = FileBytes.firstExisting(candidates) else {
            throw DataError("\(kind.rawValue): missing file \(name): expected \(candidates.joined(separator: " or ")), found neither")
        }
        return path
    }
}
