import ShearsData
import ShearsTensor

/// A rank's part of a global batch, and its share of the global loss.
public struct Shard {
    public let batch: Batch
    /// Positions of this shard's examples in the global batch.
    public let range: Range<Int>
    /// w = n_local / n_global: the global mean loss is Σ_r w_r·(mean loss of shard r), so gradients of the
    /// shards' mean losses are averaged with these weights (`GradientAverager`).
    public let lossShare: Double

    public var isEmpty: Bool { range.isEmpty }
}

extension Batch {
    /// Rank `rank`'s contiguous part of this global batch: examples ⌊n·r/R⌋ ..< ⌊n·(r+1)/R⌋, so the shards
    /// partition the batch in order and differ in size by at most one. Every rank builds the same global batch
    /// (the loader's order and augmentation are pure functions of the seed), so no data is sent.
    public func shard(rank: Int, of size: Int) throws -> Shard {
        guard size >= 1, (0..<size).contains(rank) else {
            throw DistributedError("Batch.shard: rank \(rank) is not one of 0..<\(size)")
        }
        let n = labels.count
        let lo = n * rank / size, hi = n * (rank + 1) / size
        let part = Batch(images: images.slice(batch: lo..<hi), labels: Array(labels[lo..<hi]),
                         indices: Array(indices[lo..<hi]))
        return Shard(batch: part, range: lo..<hi, lossShare: n == 0 ? 0 : Double(hi - lo) / Double(n))
    }
}

/// Why a global batch size cannot be split over `ranks` (nil when it can): every rank needs at least
/// `minimumPerRank` examples (2 with per-rank batch norm in training).
public func shardingProblem(globalBatch: Int, ranks: Int, minimumPerRank: Int = 1) -> String? {
    guard ranks >= 1 else { return "the number of ranks must be at least 1, got \(ranks)" }
    guard globalBatch >= ranks * minimumPerRank else {
        return "a global batch of \(globalBatch) over \(ranks) ranks leaves fewer than \(minimumPerRank) example(s) per rank; "
            + "use a batch size of at least \(ranks * minimumPerRank) (and drop the last incomplete batch)"
    }
    return nil
}
