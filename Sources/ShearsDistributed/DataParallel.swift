import ShearsData
import ShearsNN
import ShearsTensor

/// What a training loop calls to run data-parallel, at three places:
///
///     let dp = try DataParallel(model: net, syncBatchNorm: flags.syncBatchNorm)
///     for batch in loader.epoch(e) {                       // the same global batch on every rank
///         let shard = try dp.shard(batch)                  // this rank's part; --batch-size stays global
///         net.zeroGrad()
///         dp.beginBackward()
///         let loss = softmaxCrossEntropy(logits: net(Variable(shard.batch.images)), labels: shard.batch.labels)
///         guard try dp.globalMean(Double(loss.value.scalar)).isFinite else { throw … }   // every rank alike
///         loss.backward()
///         try dp.averageGradients()                        // Σ_r w_r ∇L_r on every rank, before the step
///         optimizer.step(net.namedParameters)
///     }
///     scores = try dp.communicator.reduceScores(scores)    // pruning event: reduce, decide on rank 0, broadcast
///     if dp.isWriter { /* checkpoint, metrics, logs */ }
///
/// With one process every call is the identity and nothing of MPI is loaded.
public final class DataParallel {
    public let communicator: Communicator
    public let averager: GradientAverager
    public let batchNormSync: ReplicaBatchNormSync?
    private var share = 1.0

    /// - syncBatchNorm: normalise with the global batch's statistics (sets `Context.batchNormSynchronizer`, for
    ///   this process, until `deinit`); off, each rank's batch norm uses its own shard, as PyTorch DDP does.
    public convenience init(model: any Layer, communicator: Communicator? = nil, syncBatchNorm: Bool = false,
                            bucketBytes: Int = 2 << 20, overlap: Bool = true) throws {
        try self.init(parameters: model.namedParameters, communicator: communicator, syncBatchNorm: syncBatchNorm,
                      bucketBytes: bucketBytes, overlap: overlap)
    }

    /// Averages the gradients of `parameters` only (what a training updates, when it trains part of a model).
    public init(parameters: [(String, Variable)], communicator: Communicator? = nil, syncBatchNorm: Bool = false,
                bucketBytes: Int = 2 << 20, overlap: Bool = true) throws {
        let comm = try communicator ?? Communicator.world()
        self.communicator = comm
        averager = try GradientAverager(parameters: parameters, communicator: comm, bucketBytes: bucketBytes, overlap: overlap)
        if syncBatchNorm && comm.size > 1 {
            let sync = ReplicaBatchNormSync(communicator: comm)
            batchNormSync = sync
            Context.batchNormSynchronizer = sync
        } else {
            batchNormSync = nil
        }
    }

    deinit {
        if let batchNormSync, Context.batchNormSynchronizer === batchNormSync { Context.batchNormSynchronizer = nil }
    }

    public var isWriter: Bool { communicator.isWriter }
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// This rank's part of the global batch; remembers its loss share for the averager and synchronised BN.
    public func shard(_ batch: Batch) throws -> Shard {
        let s = try batch.shard(rank: communicator.rank, of: communicator.size)
        share = s.lossShare
        batchNormSync?.lossShare = s.lossShare
        return s
    }

    /// Before `loss.backward()`: arms the hooks that start each bucket's allreduce during backward.
    public func beginBackward() { averager.begin(lossShare: share) }

    /// After `loss.backward()`, before the optimizer step: every parameter's gradient is the global one.
    public func averageGradients() throws { try averager.finish() }

    /// Σ_r w_r·value_r for a mean over this rank's shard (its loss, its accuracy): the global batch's mean, the
    /// same bits on every rank — so that a decision taken from it (a non-finite loss stops training) is taken by
    /// every rank alike instead of one rank throwing while the others wait in the next allreduce. One allreduce
    /// of one double (about a microsecond on shared memory).
    public func globalMean(_ shardMean: Double) throws -> Double {
        guard communicator.size > 1 else { return shardMean }
        // A rank with an empty shard has no mean (NaN from 0/0) and a zero share: it contributes nothing.
        return try communicator.allreduce([share == 0 ? 0 : share * shardMean], .sum)[0]
    }

    /// Pruning scores of the global batch from each rank's scores of its shard (weighted by the shard's loss
    /// share: exact for scores linear in the gradient; see `Communicator.reduceScores`).
    public func reduceScores(_ scores: [String: Tensor]) throws -> [String: Tensor] {
        try communicator.reduceScores(scores, weight: share)
    }

    /// Rank 0's batch-norm running statistics (and any other buffers) on every rank, so that evaluation and
    /// checkpoints see one model. Per-rank batch norm lets them drift apart; synchronised BN keeps them equal.
    public func broadcastBuffers(of model: any Layer) throws {
        try communicator.broadcastValues(model.namedBuffers)
    }
}
