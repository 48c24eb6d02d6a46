import Foundation

/// How a rank-4 tensor's elements lie in memory. The *shape* is always the logical PyTorch shape
/// `[N, C, H, W]`; `.channelsLast` stores it as NHWC, the layout oneDNN's AVX2 convolutions run fastest on
/// without per-op reorders (PyTorch calls this `torch.channels_last`). Every other rank is `.contiguous`.
public enum MemoryFormat: String, Codable, Sendable {
    case contiguous     // row-major in the order of `shape` (NCHW for images)
    case channelsLast   // NHWC for a logical [N, C, H, W]
}

/// A float32 tensor with value semantics: a shape, a memory format and copy-on-write storage.
public struct Tensor {
    public private(set) var shape: [Int]
    public private(set) var format: MemoryFormat
    @usableFromInline var storage: TensorStorage

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    // MARK: creation

    /// A tensor of `shape` with every element equal to `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        self.shape = shape
        self.format = .contiguous
        self.storage = TensorStorage(count: shape.reduce(1, *))
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    /// A tensor from row-major (`.contiguous`) scalars.
    public init(shape: [Int], scalars: [Float]) {
        let n = shape.reduce(1, *)
        precondition(n == scalars.count,
                     "Tensor: shape \(shape) holds \(n) elements but \(scalars.count) scalars were given")
        self.shape = shape
        self.format = .contiguous
        self.storage = TensorStorage(count: n)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: n) }
    }

    /// A scalar (rank-0) tensor.
    public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// An uninitialised tensor, for kernels that overwrite every element.
    public init(uninitializedShape shape: [Int], format: MemoryFormat = .contiguous) {
        self.shape = shape
        self.format = shape.count == 4 ? format : .contiguous
        self.storage = TensorStorage(count: shape.reduce(1, *))
    }

    init(shape: [Int], format: MemoryFormat, storage: TensorStorage) {
        self.shape = shape
        self.format = format
        self.storage = storage
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
    public static func full(_ shape: [Int], _ value: Float) -> Tensor { Tensor(shape: shape, repeating: value) }
    /// Zeros with the same shape and memory format as `other`.
    public static func zeros(like other: Tensor) -> Tensor {
        var t = Tensor(uninitializedShape: other.shape, format: other.format)
        t.storage.pointer.initialize(repeating: 0, count: t.count)
        return t
    }

    // MARK: raw access

    /// Ensures this tensor is the only owner of its storage before a write (copy-on-write).
    @inlinable
    public mutating func ensureUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = TensorStorage(copying: storage) }
    }

    /// Read access to the elements in storage order (see `format`).
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Write access to the elements in storage order; copies first if the storage is shared.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        ensureUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The elements in logical row-major order, whatever the memory format.
    public var scalars: [Float] {
        let t = contiguous()
        return Array(UnsafeBufferPointer(start: t.storage.pointer, count: t.count))
    }

    /// The only element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: tensor of shape \(shape) has \(count) elements, expected 1")
        return storage.pointer[0]
    }

    /// Element at a logical multi-index.
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[storageOffset(indices)] }
        set {
            ensureUnique()
            storage.pointer[storageOffset(indices)] = newValue
        }
    }

    func storageOffset(_ idx: [Int]) -> Int {
        precondition(idx.count == rank, "Tensor subscript: \(idx.count) indices for a rank-\(rank) tensor \(shape)")
        for (i, d) in zip(idx, shape) { precondition(i >= 0 && i < d, "Tensor subscript: index \(idx) out of range for shape \(shape)") }
        if format == .channelsLast {
            let (c, h, w) = (shape[1], shape[2], shape[3])
            return ((idx[0] * h + idx[2]) * w + idx[3]) * c + idx[1]
        }
        var off = 0
        for (i, d) in zip(idx, shape) { off = off * d + i }
        return off
    }

    // MARK: memory format

    /// The same values stored row-major (NCHW). Free when already contiguous.
    public func contiguous() -> Tensor {
        guard format == .channelsLast else { return self }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var out = Tensor(uninitializedShape: shape, format: .contiguous)
        Self.nhwcToNCHW(storage.pointer, into: out.storage.pointer, n: n, c: c, hw: h * w)
        return out
    }

    /// Copies n images of c channels and hw pixels from NHWC order at `src` to NCHW order at `dst`.
    static func nhwcToNCHW(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, n: Int, c: Int, hw: Int) {
        for b in 0..<n {
            let s = src + b * hw * c, d = dst + b * c * hw
            for p in 0..<hw { for ch in 0..<c { d[ch * hw + p] = s[p * c + ch] } }
        }
    }

    /// The same values stored NHWC. Only rank-4 tensors have a channels-last form.
    public func channelsLast() -> Tensor {
        precondition(rank == 4, "Tensor.channelsLast: needs a rank-4 [N, C, H, W] tensor, got shape \(shape)")
        guard format == .contiguous else { return self }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var out = Tensor(uninitializedShape: shape, format: .channelsLast)
        let src = storage.pointer, dst = out.storage.pointer
        let hw = h * w
        for b in 0..<n {
            let s = src + b * c * hw, d = dst + b * hw * c
            for ch in 0..<c { for p in 0..<hw { d[p * c + ch] = s[ch * hw + p] } }
        }
        return out
    }

    /// `self` in the memory format `f`.
    public func `in`(_ f: MemoryFormat) -> Tensor { f == format ? self : (f == .contiguous ? contiguous() : channelsLast()) }

    /// Whether a C×H×W image stores identically in both formats (C == 1 or H·W == 1).
    var formatIsImmaterial: Bool { rank != 4 || shape[1] == 1 || shape[2] * shape[3] == 1 }

    // MARK: shape

    /// The same elements under a new shape (row-major). `-1` infers one dimension.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0,
                         "reshape: cannot infer -1 in \(newShape) for a tensor of shape \(shape)")
            resolved[i] = count / known
        }
        precondition(resolved.reduce(1, *) == count,
                     "reshape: tensor of shape \(shape) (\(count) elements) cannot become \(newShape)")
        let base = formatIsImmaterial ? self : contiguous()
        return Tensor(shape: resolved, format: .contiguous, storage: base.storage)
    }

    /// Flattens dimensions `startDim...` into one (PyTorch `flatten(start_dim)`).
    public func flattened(startDim: Int = 1) -> Tensor {
        precondition(startDim >= 0 && startDim <= Swift.max(rank - 1, 0), "flatten: start_dim \(startDim) out of range for shape \(shape)")
        return reshaped(Array(shape[..<startDim]) + [shape[startDim...].reduce(1, *)])
    }

    /// The transpose of a matrix.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transpose: needs a rank-2 tensor, got shape \(shape)")
        let (r, c) = (shape[0], shape[1])
        var out = Tensor(uninitializedShape: [c, r])
        let s = storage.pointer, d = out.storage.pointer
        for i in 0..<r { for j in 0..<c { d[j * r + i] = s[i * c + j] } }
        return out
    }

    /// Rows `range` along the first (batch) dimension, as a new tensor.
    public func slice(batch range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "slice: batch range \(range) out of bounds for shape \(shape)")
        let base = contiguous()
        let row = count / Swift.max(shape[0], 1)
        var out = Tensor(uninitializedShape: [range.count] + Array(shape.dropFirst()))
        out.storage.pointer.update(from: base.storage.pointer + range.lowerBound * row, count: range.count * row)
        return out
    }

    /// Stacks rows `indices` of the first dimension (a gathered batch).
    public func gather(batch indices: [Int]) -> Tensor {
        let base = contiguous()
        let row = count / Swift.max(shape[0], 1)
        var out = Tensor(uninitializedShape: [indices.count] + Array(shape.dropFirst()))
        for (k, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "gather: index \(i) out of bounds for shape \(shape)")
            (out.storage.pointer + k * row).update(from: base.storage.pointer + i * row, count: row)
        }
        return out
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let s = scalars
        let head = s.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(s.count > 8 ? ", …" : "")])"
    }
}
