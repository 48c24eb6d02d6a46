import CMPIShim
import Foundation
import ShearsTensor

/// A failed MPI call or a disagreement between ranks, with what was expected.
public struct DistributedError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How `allreduce` combines the ranks' values.
public enum ReduceOp: Int32, Sendable {
    case sum, min, max
    var shim: Int32 { rawValue }
}

/// The processes of one data-parallel run. Under `mpirun` it is MPI_COMM_WORLD (Open MPI loaded at run time by
/// the CMPIShim target); otherwise a single process, rank 0 of 1, for which every collective is the identity and
/// no MPI library is touched, so the same code path serves both.
///
/// Every collective must be called by every rank, in the same order (MPI's rule); results are the same bits on
/// every rank (a sum of two floats does not depend on which rank adds, and Open MPI's reduction algorithms give
/// each rank the same combined buffer) — `checkIdentical` verifies that where it matters.
public final class Communicator {
    public let rank: Int
    public let size: Int
    /// Whether MPI is in use (false for a single process, where nothing was loaded).
    public let usesMPI: Bool
    /// Rank 0 alone writes run directories, checkpoints, metrics and logs.
    public var isWriter: Bool { rank == 0 }

    init(rank: Int, size: Int, usesMPI: Bool) {
        self.rank = rank
        self.size = size
        self.usesMPI = usesMPI
    }

    /// One process without MPI (tests, and any run not started by mpirun).
    public static let single = Communicator(rank: 0, size: 1, usesMPI: false)

    nonisolated(unsafe) private static var cachedWorld: Communicator?

    /// The job's communicator: MPI's world under mpirun (initialised on the first call), else `single`. Throws
    /// when the process was started by mpirun but Open MPI cannot be loaded or initialised.
    public static func world() throws -> Communicator {
        if let cachedWorld { return cachedWorld }
        let world: Communicator
        switch shears_mpi_init() {
        case 1: world = Communicator(rank: Int(shears_mpi_rank()), size: Int(shears_mpi_size()), usesMPI: true)
        case 0: world = .single
        default: throw DistributedError(String(cString: shears_mpi_error()))
        }
        cachedWorld = world
        return world
    }

    func check(_ rc: Int32) throws {
        if rc != 0 { throw DistributedError("rank \(rank) of \(size): \(String(cString: shears_mpi_error()))") }
    }

    public func barrier() throws {
        guard usesMPI else { return }
        try check(shears_mpi_barrier())
    }

    /// Ends every rank of the job with `code` after printing `message` (for an error found on one rank that the
    /// others, blocked in a collective, could never learn of).
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("shears: rank \(rank) of \(size): \(message)\n".utf8))
        shears_mpi_abort(code)
        fatalError("unreachable")
    }

    // MARK: allreduce

    /// In-place sum of a Float buffer over all ranks.
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard usesMPI, size > 1, let base = buffer.baseAddress else { return }
        try forChunks(buffer.count) { at, n in
            try check(shears_mpi_allreduce(base + at, Int64(n), Int32(SHEARS_MPI_FLOAT.rawValue), ReduceOp.sum.shim))
        }
    }

    /// In-place mean over all ranks: the sum times 1/size (the same multiplication on every rank).
    public func allreduceMean(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allreduceSum(buffer)
        guard size > 1 else { return }
        let inverse = 1 / Float(size)
        for i in buffer.indices { buffer[i] *= inverse }
    }

    /// Sum, min or max of doubles (metrics, losses, scores in double precision).
    public func allreduce(_ values: [Double], _ op: ReduceOp = .sum) throws -> [Double] {
        guard usesMPI, size > 1, !values.isEmpty else { return values }
        var v = values
        try v.withUnsafeMutableBufferPointer { b in
            try forChunks(b.count) { at, n in
                try check(shears_mpi_allreduce(b.baseAddress! + at, Int64(n), Int32(SHEARS_MPI_DOUBLE.rawValue), op.shim))
            }
        }
        return v
    }

    /// Sum, min or max of integers (counts, step numbers, agreement checks).
    public func allreduce(_ values: [Int], _ op: ReduceOp = .sum) throws -> [Int] {
        guard usesMPI, size > 1, !values.isEmpty else { return values }
        var v = values.map(Int64.init)
        try v.withUnsafeMutableBufferPointer { b in
            try forChunks(b.count) { at, n in
                try check(shears_mpi_allreduce(b.baseAddress! + at, Int64(n), Int32(SHEARS_MPI_INT64.rawValue), op.shim))
            }
        }
        return v.map(Int.init)
    }

    /// Starts an in-place sum of `buffer` over all ranks (MPI_Iallreduce); the buffer must stay alive and
    /// untouched until the returned reduction completes.
    public func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        guard usesMPI, size > 1, let base = buffer.baseAddress, buffer.count > 0 else { return PendingReduction(nil, self) }
        guard buffer.count <= Int(Int32.max) else {
            throw DistributedError("startAllreduceSum: \(buffer.count) floats in one buffer, at most \(Int32.max)")
        }
        var request: UnsafeMutableRawPointer?
        try check(shears_mpi_iallreduce(base, Int64(buffer.count), Int32(SHEARS_MPI_FLOAT.rawValue), ReduceOp.sum.shim, &request))
        return PendingReduction(request, self)
    }

    // MARK: broadcast

    /// Rank `root`'s bytes on every rank (the other ranks' arrays are replaced, whatever their length).
    public func broadcast(_ bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        guard usesMPI, size > 1 else { return bytes }
        try checkRoot(root)
        let count = try broadcastCount(bytes.count, root: root)
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try check(shears_mpi_bcast($0.baseAddress, Int64(count), Int32(root))) }
        return out
    }

    /// Rank `root`'s tensor (shape, memory format and values) on every rank.
    public func broadcast(_ tensor: Tensor, root: Int = 0) throws -> Tensor {
        guard usesMPI, size > 1 else { return tensor }
        let header = try broadcast(Array(TensorHeader(tensor).encoded.utf8), root: root)
        guard let h = TensorHeader(decoding: String(decoding: header, as: UTF8.self)) else {
            throw DistributedError("broadcast: rank \(rank) received a tensor header it cannot read")
        }
        var t = rank == root ? tensor : Tensor(uninitializedShape: h.shape, format: h.format)
        try t.withUnsafeMutableBufferPointer { b in
            try check(shears_mpi_bcast(b.baseAddress, Int64(b.count * 4), Int32(root)))
        }
        return t
    }

    private func broadcastCount(_ n: Int, root: Int) throws -> Int {
        var v = Int64(n)
        try check(shears_mpi_bcast(&v, 8, Int32(root)))
        guard v >= 0 else { throw DistributedError("broadcast: rank \(root) sent a negative length \(v)") }
        return Int(v)
    }

    private func checkRoot(_ root: Int) throws {
        guard (0..<size).contains(root) else { throw DistributedError("broadcast: root \(root) is not a rank of 0..<\(size)") }
    }

    /// MPI counts are 32-bit: split long buffers.
    private func forChunks(_ count: Int, _ body: (Int, Int) throws -> Void) throws {
        let chunk = 1 << 28
        var at = 0
        while at < count { let n = Swift.min(chunk, count - at); try body(at, n); at += n }
    }
}

/// A non-blocking allreduce in flight. `test()` lets MPI progress it (Open MPI advances non-blocking collectives
/// only inside MPI calls); `wait()` blocks until it is done.
public final class PendingReduction {
    private var request: UnsafeMutableRawPointer?
    private let communicator: Communicator
    public private(set) var isDone: Bool

    init(_ request: UnsafeMutableRawPointer?, _ communicator: Communicator) {
        self.request = request
        self.communicator = communicator
        self.isDone = request == nil
    }

    @discardableResult
    public func test() throws -> Bool {
        guard !isDone else { return true }
        var done: Int32 = 0
        try communicator.check(shears_mpi_test(&request, &done))
        if done != 0 { isDone = true }
        return isDone
    }

    public func wait() throws {
        guard !isDone else { return }
        try communicator.check(shears_mpi_wait(&request))
        isDone = true
    }
}

/// A tensor's shape and memory format as one line of text, sent ahead of its values.
struct TensorHeader {
    let shape: [Int]
    let format: MemoryFormat

    init(_ t: Tensor) { shape = t.shape; format = t.format }

    var encoded: String { "\(format.rawValue) " + shape.map(String.init).joined(separator: ",") }

    init?(decoding text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, let f = MemoryFormat(rawValue: String(parts[0])) else { return nil }
        let dims = parts[1].isEmpty ? [] : parts[1].split(separator: ",").map { Int($0) }
        guard dims.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        shape = dims.map { $0! }
        format = f
    }
}
