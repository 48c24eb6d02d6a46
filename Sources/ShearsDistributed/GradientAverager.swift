import Foundation
import ShearsTensor

/// Averages the gradients of a data-parallel step over the ranks: Σ_r w_r·∇L_r with w_r = n_r/n (`Shard`), which
/// is exactly the gradient of the mean loss over the global batch, also when shards differ in size.
///
/// Gradients travel in buckets of about `bucketBytes` (parameters in reverse registration order, the order in
/// which backward produces them, as PyTorch DDP does). With `overlap`, each parameter's `onGradientReady` hook
/// copies its gradient into its bucket as soon as backward has finished accumulating it, and a full bucket's
/// MPI_Iallreduce starts at once, while backward goes on. Buckets start strictly in index order, so that every
/// rank issues the same collectives in the same order (MPI's rule) whatever order its hooks fire in.
///
/// Per step: `begin(lossShare:)` before backward, `finish()` after it (before the optimizer step). A parameter
/// whose gradient is nil at `finish` contributes zeros (a rank with an empty shard), and every parameter leaves
/// `finish` with the averaged gradient, the same bits on every rank. A parameter backward never reaches also
/// holds back every bucket after its own until `finish` (as in DDP without `find_unused_parameters`): list only
/// the parameters the loss uses. With one process both calls do nothing.
public final class GradientAverager {
    public let communicator: Communicator
    public let overlap: Bool
    let parameters: [Variable]
    let buckets: [GradientBucket]
    /// Bucket index and offset (in floats) of each parameter.
    private let place: [(bucket: Int, offset: Int)]
    private var isStaged: [Bool]
    private var armed = false
    private var share: Float = 1
    private var nextLaunch = 0
    private var started = 0.0
    /// Timing of the last `finish()`.
    public private(set) var lastTiming = AveragingTiming()

    public init(parameters: [(String, Variable)], communicator: Communicator, bucketBytes: Int = 2 << 20,
                overlap: Bool = true) throws {
        guard bucketBytes >= 4 else { throw DistributedError("GradientAverager: bucketBytes must be at least 4, got \(bucketBytes)") }
        self.communicator = communicator
        self.overlap = overlap
        self.parameters = parameters.map(\.1)
        var buckets: [GradientBucket] = [], place = [(bucket: Int, offset: Int)](repeating: (0, 0), count: parameters.count)
        var members: [Int] = [], floats = 0
        for i in parameters.indices.reversed() {
            place[i] = (buckets.count, floats)
            members.append(i)
            floats += parameters[i].1.value.count
            if floats * 4 >= bucketBytes || i == 0 {
                buckets.append(GradientBucket(members: members, floats: floats))
                members = []; floats = 0
            }
        }
        self.buckets = buckets
        self.place = place
        self.isStaged = [Bool](repeating: false, count: parameters.count)
        if communicator.size > 1 && overlap {
            for (i, p) in self.parameters.enumerated() {
                p.onGradientReady = { [unowned self] _ in self.ready(i) }
            }
        }
    }

    deinit {
        for p in parameters { p.onGradientReady = nil }
        for b in buckets { b.buffer.deallocate() }
    }

    /// Bucket sizes in bytes, in launch order.
    public var bucketBytes: [Int] { buckets.map { $0.floats * 4 } }

    /// Arms the hooks for the coming backward pass; `lossShare` is this rank's w_r.
    public func begin(lossShare: Double) {
        guard communicator.size > 1 else { return }
        share = Float(lossShare)
        for b in buckets { b.reset() }
        for i in isStaged.indices { isStaged[i] = false }
        nextLaunch = 0
        armed = true
        started = now()
    }

    /// Launches what is left, waits for every bucket and writes the averaged gradients back.
    public func finish() throws {
        guard communicator.size > 1 else { return }
        let backwardEnd = now()
        armed = false
        for (i, p) in parameters.enumerated() where !isStaged[i] {
            stage(i, p)
        }
        try launchReady()
        let waitStart = now()
        for b in buckets { try b.pending?.wait() }
        let done = now()
        for (i, p) in parameters.enumerated() { p.grad = unstage(i, p) }
        lastTiming = AveragingTiming(backward: backwardEnd - started, exposedWait: done - waitStart,
                                     launchedDuringBackward: buckets.filter { $0.launchedAt.map { $0 < backwardEnd } ?? false }.count,
                                     buckets: buckets.count)
    }

    /// Hook: parameter `i`'s gradient is final for this backward pass.
    private func ready(_ i: Int) {
        guard armed, !isStaged[i] else { return }
        stage(i, parameters[i])
        do {
            try launchReady()
            for b in buckets[..<nextLaunch] { try b.pending?.test() }
        } catch {
            communicator.abort("gradient averaging failed during backward: \(error)")
        }
    }

    /// Copies w·grad (zeros for a nil gradient) into the parameter's place in its bucket.
    private func stage(_ i: Int, _ p: Variable) {
        let (b, offset) = place[i]
        let bucket = buckets[b], dst = bucket.buffer.baseAddress! + offset, n = p.value.count, w = share
        if let g = p.grad?.in(p.value.format) {
            g.withUnsafeBufferPointer { src in for k in 0..<n { dst[k] = w * src[k] } }
        } else {
            dst.initialize(repeating: 0, count: n)
        }
        isStaged[i] = true
        bucket.staged += 1
    }

    /// Starts every bucket, in index order, whose parameters are all staged.
    private func launchReady() throws {
        while nextLaunch < buckets.count && buckets[nextLaunch].staged == buckets[nextLaunch].members.count {
            let b = buckets[nextLaunch]
            b.pending = try communicator.startAllreduceSum(UnsafeMutableBufferPointer(rebasing: b.buffer[0..<b.floats]))
            b.launchedAt = now()
            nextLaunch += 1
        }
    }

    private func unstage(_ i: Int, _ p: Variable) -> Tensor {
        let (b, offset) = place[i]
        var t = Tensor(uninitializedShape: p.value.shape, format: p.value.format)
        let src = buckets[b].buffer.baseAddress! + offset
        t.withUnsafeMutableBufferPointer { dst in dst.baseAddress!.update(from: src, count: dst.count) }
        return t
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}

/// Where the time of one averaged step went.
public struct AveragingTiming: Sendable {
    /// From `begin` to the start of `finish`: the backward pass (with hooks and launches inside it).
    public var backward = 0.0
    /// Time `finish` waited for reductions after backward ended: the communication not hidden behind backward.
    public var exposedWait = 0.0
    public var launchedDuringBackward = 0
    public var buckets = 0
}

/// One bucket: a flat buffer of its parameters' gradients, and its reduction in flight.
final class GradientBucket {
    let members: [Int]
    let floats: Int
    let buffer: UnsafeMutableBufferPointer<Float>
    var staged = 0
    var pending: PendingReduction?
    var launchedAt: Double?

    init(members: [Int], floats: Int) {
        self.members = members
        self.floats = floats
        buffer = .allocate(capacity: Swift.max(floats, 1))
    }

    func reset() { staged = 0; pending = nil; launchedAt = nil }
}
