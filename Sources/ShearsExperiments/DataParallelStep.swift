import ShearsData
import ShearsDistributed
import ShearsNN
import ShearsOptim
import ShearsTensor

/// This process's part in a data-parallel job (`docs/distributed.md`). The CLI joins once, when it launches a run
/// (`mpirun -np N shears train|prune …|anytime …`); from then on every `TrainLoop.run` trains on this rank's shard of
/// each global batch and averages the gradients over the ranks. One process (no mpirun) is rank 0 of 1: nothing of
/// MPI is loaded and every training is the plain one.
public enum DataParallelRun {
    nonisolated(unsafe) public private(set) static var communicator: Communicator = .single
    /// `--sync-batch-norm`: batch norm with the global batch's statistics instead of each rank's (DDP's default).
    nonisolated(unsafe) public static var syncBatchNorm = false
    /// Gradient bucket size of the allreduces started during backward.
    nonisolated(unsafe) public static var bucketBytes = 2 << 20

    /// MPI's world under mpirun, else one process; remembered for every later training of this process.
    @discardableResult
    public static func join(syncBatchNorm: Bool = false) throws -> Communicator {
        communicator = try Communicator.world()
        self.syncBatchNorm = syncBatchNorm
        return communicator
    }

    public static var isParallel: Bool { communicator.size > 1 }
}

extension TrainLoop {
    /// The data-parallel machinery of one training when this process is one of several ranks, else nil. Every rank
    /// must start from rank 0's weights bit for bit (after a pruning event every rank has decided alike, and a resumed
    /// rank loaded the same checkpoint): a rank that differs stops the job, naming the tensors.
    func joinDataParallel(at iteration: Int) throws -> DataParallel? {
        guard DataParallelRun.isParallel else { return nil }
        let comm = DataParallelRun.communicator
        let differing = try comm.differingFromRoot(parameters)
        guard differing.isEmpty else {
            throw DistributedError("rank \(comm.rank) of \(comm.size) starts training at iteration \(iteration) with weights that differ "
                + "from rank 0's: \(differing.prefix(5).joined(separator: ", "))\(differing.count > 5 ? ", …" : "")")
        }
        return try DataParallel(parameters: parameters, communicator: comm, syncBatchNorm: DataParallelRun.syncBatchNorm,
                                bucketBytes: DataParallelRun.bucketBytes)
    }

    /// `standardStep` on this rank's shard: the same global batch on every rank, the loss it reports and judges the
    /// global batch's (`globalMean`, so a diverged loss stops every rank alike), each gradient bucket's allreduce
    /// started during backward, `beforeUpdate` and the step on the averaged gradients. A global batch too small for
    /// the ranks stops every rank with the reason.
    static func dataParallelStep(_ loop: TrainLoop, _ dp: DataParallel, _ batch: Batch, _ iteration: Int,
                                 _ optimizer: inout any Optimizer, beforeUpdate: () throws -> Void) throws -> StepOutcome {
        if let problem = shardingProblem(globalBatch: batch.labels.count, ranks: dp.size) {
            throw DistributedError("iteration \(iteration): \(problem)")
        }
        optimizer.learningRate = loop.learningRate(iteration)
        let shard = try dp.shard(batch)
        loop.model.zeroGrad()
        let logits = loop.model(Variable(shard.batch.images))
        let loss = softmaxCrossEntropy(logits: logits, labels: shard.batch.labels)
        let lossValue = Float(try dp.globalMean(Double(loss.value.scalar)))
        guard lossValue.isFinite else { throw LossDiverged(loss: lossValue, description: loop.divergence(lossValue, iteration)) }
        dp.beginBackward()
        loss.backward()
        try dp.averageGradients()
        try beforeUpdate()
        optimizer.step(loop.parameters)
        // The global batch's training accuracy, as one process would report it (the epoch's train accuracy of APP's
        // generalisation gap, the progress bar): the shards' accuracies weighted by their shares, one more allreduce.
        let shardAccuracy = shard.batch.labels.isEmpty ? 0 : accuracy(logits: logits.value, labels: shard.batch.labels)
        return StepOutcome(loss: lossValue, logits: logits.value, batch: shard.batch,
                           global: (batch.labels.count, try dp.globalMean(shardAccuracy)))
    }
}
