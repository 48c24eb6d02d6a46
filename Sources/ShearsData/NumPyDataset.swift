import Foundation
import ShearsTensor

/// How the image array of a NumPy dataset is laid out.
public enum ImageLayout: String, Codable, CaseIterable, Sendable {
    /// Decided from the shape (see `NumPyDataset.layout`).
    case auto
    /// `[N, C, H, W]` (PyTorch's).
    case nchw
    /// `[N, H, W, C]` (Keras', PIL's, what `np.stack` of image arrays gives).
    case nhwc
}

/// A dataset stored as NumPy arrays: a `.npz` archive (`numpy.savez` or `savez_compressed`) or a directory of
/// `.npy` files, holding `x_train`, `y_train`, `x_test`, `y_test`.
///
/// - Images: uint8 (scaled by 1/255, as the other readers) or float32 (taken as they are, so they should
///   already be in the range the model expects, normally [0, 1]; NaN or ±inf is an error), of rank 4
///   (`[N, C, H, W]` or `[N, H, W, C]`) or rank 3 (`[N, H, W]`, one grey channel).
/// - Labels: int64, int32 or uint8, shape `[N]` or `[N, 1]`, non-negative; the number of classes is the
///   largest label of train and test + 1 unless given (then every label must be below it).
enum NumPyDataset {
    static let arrayNames = ["x_train", "y_train", "x_test", "y_test"]

    static func load(path: String, split: DataSplit, layout: ImageLayout, classes: Int?) throws -> Dataset {
        let source = try NumPySource(path: path)
        let yTrain = try labels(source.array("y_train"), name: source.describe("y_train"))
        let yTest = try labels(source.array("y_test"), name: source.describe("y_test"))
        let classCount = classes ?? (max(yTrain.max() ?? 0, yTest.max() ?? 0) + 1)
        let own = split == .train ? yTrain : yTest, yName = source.describe(split == .train ? "y_train" : "y_test")
        if let bad = own.firstIndex(where: { $0 >= classCount }) {
            throw DataError("\(yName): label out of range at index \(bad): expected 0..<\(classCount) (--classes), found \(own[bad])")
        }
        let xKey = split == .train ? "x_train" : "x_test", xName = source.describe(xKey)
        let images = try imageTensor(source.array(xKey), layout: layout, name: xName)
        guard images.shape[0] == own.count else {
            throw DataError("\(xName) holds \(images.shape[0]) images but \(yName) holds \(own.count) labels: expected one label per image")
        }
        return Dataset(name: "npz-\(split.rawValue)", images: images, labels: own.map { Int32($0) }, classes: classCount,
                       validated: ())
    }

    static func labels(_ a: NPYArray, name: String) throws -> [Int] {
        guard a.dtype != .float32 else {
            throw DataError("\(name): labels are float32: expected int64, int32 or uint8 class indices (y.astype(np.int64))")
        }
        guard a.shape.count == 1 || (a.shape.count == 2 && a.shape[1] == 1) else {
            throw DataError("\(name): labels of shape \(a.shape): expected rank 1 ([N]) or [N, 1]")
        }
        let values = a.integers()
        if let bad = values.firstIndex(where: { $0 < 0 || $0 > Int(Int32.max) }) {
            throw DataError("\(name): label out of range at index \(bad): expected a class index ≥ 0, found \(values[bad])")
        }
        return values
    }

    /// Channels at position 1 (NCHW) or last (NHWC): `auto` takes whichever of the two dimensions is 1 or 3
    /// (grey or RGB). When both are (a `[N, 3, 32, 3]` array) or neither is (4-channel images), the shape
    /// cannot decide and `layout` must be given. Returns the position of C.
    static func channelAxis(_ shape: [Int], layout: ImageLayout, name: String) throws -> Int {
        switch layout {
        case .nchw: return 1
        case .nhwc: return 3
        case .auto:
            let first = [1, 3].contains(shape[1]), last = [1, 3].contains(shape[3])
            if first && !last { return 1 }
            if last && !first { return 3 }
            let why = first ? "both dimension 1 (\(shape[1])) and dimension 3 (\(shape[3])) could be the channels"
                            : "neither dimension 1 (\(shape[1])) nor dimension 3 (\(shape[3])) is a channel count of 1 or 3"
            throw DataError("\(name): cannot tell NCHW from NHWC for images of shape \(shape): \(why); pass the layout explicitly (--layout nchw or --layout nhwc)")
        }
    }

    /// The image array as `[N, C, H, W]` float32 (uint8 scaled by 1/255).
    static func imageTensor(_ a: NPYArray, layout: ImageLayout, name: String) throws -> Tensor {
        guard a.dtype == .uint8 || a.dtype == .float32 else {
            throw DataError("\(name): images are \(a.dtype.rawValue): expected uint8 or float32 (x.astype(np.float32) / 255)")
        }
        guard a.shape.count == 4 || a.shape.count == 3 else {
            throw DataError("\(name): images of shape \(a.shape) (rank \(a.shape.count)): expected rank 4 ([N, C, H, W] or [N, H, W, C]) or rank 3 ([N, H, W], grey)")
        }
        let s = a.shape.count == 3 ? [a.shape[0], a.shape[1], a.shape[2], 1] : a.shape
        let axis = a.shape.count == 3 ? 3 : try channelAxis(s, layout: layout, name: name)
        let (n, c, h, w) = axis == 1 ? (s[0], s[1], s[2], s[3]) : (s[0], s[3], s[1], s[2])
        guard n > 0 && c > 0 && h > 0 && w > 0 else {
            throw DataError("\(name): images of shape \(a.shape): expected at least one image with non-empty dimensions")
        }
        var out = Tensor(uninitializedShape: [n, c, h, w])
        var bad: Int?
        out.withUnsafeMutableBufferPointer { dst in
            a.data.withUnsafeBytes { raw in
                bad = convert(raw, dtype: a.dtype, into: dst.baseAddress!, count: n * c * h * w,
                              plane: h * w, channels: c, channelsLast: axis == 3)
            }
        }
        if let bad {
            throw DataError("\(name): non-finite pixel value at flat index \(bad): expected finite float32 images")
        }
        return out
    }

    /// Copies (transposing NHWC → NCHW) and scales; returns the index of the first non-finite value, if any.
    private static func convert(_ raw: UnsafeRawBufferPointer, dtype: NPYArray.DType, into dst: UnsafeMutablePointer<Float>,
                                count: Int, plane: Int, channels c: Int, channelsLast: Bool) -> Int? {
        let table = Pixels.table
        let bytes = raw.bindMemory(to: UInt8.self)
        for i in 0..<count {
            // i is the source (row-major) index; its destination in NCHW order:
            var j = i
            if channelsLast {
                let image = i / (plane * c), rest = i % (plane * c), pixel = rest / c, ch = rest % c
                j = (image * c + ch) * plane + pixel
            }
            if dtype == .uint8 {
                dst[j] = table[Int(bytes[i])]
            } else {
                let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                if !v.isFinite { return i }
                dst[j] = v
            }
        }
        return nil
    }
}

/// Where the arrays come from: the members `NAME.npy` of a `.npz` archive, or the files `NAME.npy` of a directory.
struct NumPySource {
    let path: String
    let archive: ZipArchive?

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError("\(path): no such file or directory: expected a .npz file or a directory of .npy files (\(NumPyDataset.arrayNames.map { "\($0).npy" }.joined(separator: ", ")))")
        }
        self.path = path
        archive = isDirectory.boolValue ? nil : try ZipArchive(path: path)
    }

    func describe(_ key: String) -> String {
        archive == nil ? (path as NSString).appendingPathComponent("\(key).npy") : "\(path) [\(key).npy]"
    }

    func array(_ key: String) throws -> NPYArray {
        if let archive {
            guard let m = archive.member(named: "\(key).npy") else {
                throw DataError("\(path): no array '\(key)' in the archive: expected members \(NumPyDataset.arrayNames.map { "\($0).npy" }.joined(separator: ", ")), found \(archive.members.map(\.name).joined(separator: ", "))")
            }
            return try NPYArray(archive.extract(m), name: describe(key))
        }
        let file = describe(key)
        guard FileBytes.firstExisting([file]) != nil else {
            throw DataError("\(file): missing file: a directory of .npy arrays needs \(NumPyDataset.arrayNames.map { "\($0).npy" }.joined(separator: ", "))")
        }
        return try NPYArray(FileBytes.read(file), name: file)
    }
}
