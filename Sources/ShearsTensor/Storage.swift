import Foundation

/// The raw float32 buffer behind a `Tensor`: 64-byte aligned (what oneDNN's AVX kernels prefer), owned by a
/// class so that its pointer stays valid for as long as any tensor refers to it. Tensors share a storage
/// until one of them writes (copy-on-write, see `Tensor.ensureUnique`).
public final class TensorStorage {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("TensorStorage: could not allocate \(bytes) bytes")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    public convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit { free(pointer) }
}
