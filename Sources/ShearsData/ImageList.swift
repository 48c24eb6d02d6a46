import Foundation
import ShearsTensor

/// One image file and its class.
struct LabelledFile: Equatable {
    let path: String
    let label: Int32
}

/// Decodes a list of image files into a `Dataset` of `[N, 3, size, size]` images, shared by the folder and
/// Tiny-ImageNet readers.
///
/// Images are decoded once, at load time, into the float tensor the rest of the data layer works on
/// (augmentation, splits, statistics, prefetching all stay as they are for CIFAR): a batch then costs a
/// gather, not a decode. The price is memory — 4·3·size² bytes per image, 49 KB at 64×64, 4.9 GB for
/// Tiny-ImageNet's 100,000 training images. Decoding runs on every core, each worker writing its images'
/// slots; the first failure in file order is reported.
enum ImageList {
    static func load(_ files: [LabelledFile], classes: Int, size: Int, name: String) throws -> Dataset {
        let n = files.count, row = 3 * size * size
        guard n > 0 else { throw DataError("\(name): no images to load") }
        var images = Tensor(uninitializedShape: [n, 3, size, size])
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, n))
        let failures = FailureList(count: workers)
        images.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                // Contiguous chunks: a worker's first failure is its lowest-indexed one.
                for i in stride(from: worker * n / workers, to: (worker + 1) * n / workers, by: 1) {
                    do {
                        let image = try ImageDecoder.load(files[i].path)
                        Resampling.resizeAndCrop(image, size: size, into: base.pointer + i * row)
                    } catch {
                        failures.record(worker, index: i, error)
                        return
                    }
                }
            }
        }
        if let error = failures.first { throw error }
        return Dataset(name: name, images: images, labels: files.map(\.label), classes: classes, validated: ())
    }

    /// The image files under `directory` (recursively, hidden entries skipped) with one of `extensions`
    /// (case-insensitive), sorted by path so the order never depends on the file system.
    static func imageFiles(in directory: String, extensions: Set<String> = ["png", "jpg", "jpeg"]) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: directory) else {
            throw DataError("\(directory): cannot list the folder")
        }
        var out: [String] = []
        for case let relative as String in e {
            guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }),
                  extensions.contains((relative as NSString).pathExtension.lowercased()) else { continue }
            let full = (directory as NSString).appendingPathComponent(relative)
            if FileBytes.firstExisting([full]) != nil { out.append(full) }
        }
        return out.sorted()
    }

    /// The non-hidden sub-folders of `directory`, sorted by name.
    static func subfolders(of directory: String) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw DataError("\(directory): cannot read the folder: \(error.localizedDescription)")
        }
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name),
                                                                          isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }
}

/// A pointer handed to `concurrentPerform`'s workers, each writing disjoint slots.
struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// Each worker's first error, with the index of the file that caused it.
final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [(index: Int, error: Error)?]

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ worker: Int, index: Int, _ error: Error) {
        lock.lock(); errors[worker] = (index, error); lock.unlock()
    }

    var first: Error? {
        lock.lock(); defer { lock.unlock() }
        return errors.compactMap { $0 }.min { $0.index < $1.index }?.error
    }
}
