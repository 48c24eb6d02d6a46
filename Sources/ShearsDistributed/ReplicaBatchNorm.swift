import ShearsTensor

/// Synchronised batch norm over the ranks (`--sync-batch-norm`): sums of the per-channel statistics and of the
/// backward pass's per-channel gradient sums, with blocking MPI_Allreduce. The calls happen in the same order on
/// every rank, since every rank runs the same forward and backward.
public final class ReplicaBatchNormSync: BatchNormSynchronizer {
    public let communicator: Communicator
    /// This rank's w_r for the current step (set from the shard by `DataParallel.shard`).
    public var lossShare: Double

    public init(communicator: Communicator, lossShare: Double = 1) {
        self.communicator = communicator
        self.lossShare = lossShare
    }

    public func sumOverReplicas(_ values: [Double]) -> [Double] {
        do { return try communicator.allreduce(values, .sum) } catch {
            // Inside an op there is no way to throw; a failed collective leaves the other ranks blocked anyway.
            communicator.abort("synchronised batch norm: \(error)")
        }
    }
}
