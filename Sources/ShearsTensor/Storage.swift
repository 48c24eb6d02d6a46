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
        pointer = StoragePool.shared.allocate(floats: Swift.max(count, 1))
    }

    public convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit { StoragePool.shared.release(pointer, floats: Swift.max(count, 1)) }
}

/// A caching allocator for tensor buffers, keyed by exact size.
///
/// A training step allocates the same activation and gradient shapes every time. Fresh multi-megabyte blocks
/// from malloc are mmapped and zero-filled by the kernel on first touch — about 50,000 page faults per ResNet-20
/// step at batch 128 — so freed blocks are kept here and handed out again for the next request of the same size.
/// Blocks under 64 KiB go straight to malloc (its own bins are fast); the cache holds at most `capacityBytes`.
public final class StoragePool: @unchecked Sendable {
    public static let shared = StoragePool()

    /// Upper bound on the bytes kept for reuse (default 4 GiB; `SHEARS_POOL_MB` overrides).
    public var capacityBytes: Int
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    private let lock = NSLock()
    private static let minimumPooledFloats = 16 * 1024

    init() {
        let mb = ProcessInfo.processInfo.environment["SHEARS_POOL_MB"].flatMap(Int.init) ?? 4096
        capacityBytes = Swift.max(mb, 0) << 20
    }

    func allocate(floats n: Int) -> UnsafeMutablePointer<Float> {
        if n >= Self.minimumPooledFloats {
            lock.lock()
            if let p = free[n]?.popLast() {
                cachedBytes -= n * 4
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        var raw: UnsafeMutableRawPointer?
        let bytes = n * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("TensorStorage: could not allocate \(bytes) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: n)
    }

    func release(_ p: UnsafeMutablePointer<Float>, floats n: Int) {
        if n >= Self.minimumPooledFloats {
            lock.lock()
            if cachedBytes + n * 4 <= capacityBytes {
                free[n, default: []].append(p)
                cachedBytes += n * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        Foundation.free(p)
    }

    /// Returns every cached block to the system.
    public func trim() {
        lock.lock(); defer { lock.unlock() }
        for (_, ps) in free { for p in ps { Foundation.free(p) } }
        free = [:]
        cachedBytes = 0
    }

    /// Bytes currently cached for reuse.
    public var cached: Int { lock.lock(); defer { lock.unlock() }; return cachedBytes }
}
