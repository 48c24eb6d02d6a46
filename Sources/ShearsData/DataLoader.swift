import Foundation
import ShearsTensor

/// One mini-batch: images `[n, C, H, W]` (augmented and normalised), their labels, and the indices of the
/// examples in the dataset (for per-example bookkeeping and for checking coverage).
public struct Batch {
    public let images: Tensor
    public let labels: [Int32]
    public let indices: [Int]

    public init(images: Tensor, labels: [Int32], indices: [Int]) {
        self.images = images
        self.labels = labels
        self.indices = indices
    }
}

/// Epoch-based mini-batch loader.
///
/// - Order: with `shuffle`, epoch `e`'s permutation comes from `Generator(seed: derive(seed, "order", e))` — a
///   pure function of (seed, epoch) — so a run resumed at (epoch, batch) reproduces exactly the same
///   batches; without, it is 0..<N.
/// - Augmentation: batch `b` of epoch `e` draws its crops and flips (image by image, in batch order) from
///   `Generator(seed: derive(seed, "augment", e, b))`, again a pure function, so the background thread and a
///   resumed run draw the same numbers.
/// - Normalisation: `(x − mean[c]) / std[c]` per channel, after augmentation (as torchvision's
///   `Normalize` after `RandomCrop`/`RandomHorizontalFlip`); a channel with std 0 is only centred.
/// - `dropLast`: drop the final incomplete batch.
/// - Prefetching: batches are prepared on a background thread, `prefetch` batches ahead (0: on demand in the
///   consumer's thread); since every batch is a pure function of (seed, epoch, batch index), results are
///   identical either way. Abandoning an epoch's iterator early stops its thread.
///
/// Throughput note (measured, not tested; no timed tests): a batch costs one pass over its pixels — gather,
/// crop, flip and normalise are fused. In a release build on the 2-core dev machine a CIFAR-shaped batch of
/// 128 with `.cifar` augmentation and normalisation takes about 1.4 ms (an epoch of 10,000 images 0.11 s), a
/// plain MNIST batch of 128 about 0.1 ms; reading the gzipped MNIST training set takes 0.35 s. That is far
/// below a training step, and with prefetching it overlaps the step.
public final class DataLoader {
    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let augmentation: Augmentation
    public let mean: [Float]?
    public let std: [Float]?
    public let dropLast: Bool
    public let prefetch: Int

    public init(dataset: Dataset, batchSize: Int, shuffle: Bool, seed: UInt64, augmentation: Augmentation = .none,
                mean: [Float]? = nil, std: [Float]? = nil, dropLast: Bool = false, prefetch: Int = 2) {
        let c = dataset.imageShape[0]
        precondition(batchSize > 0, "DataLoader: batchSize must be positive, got \(batchSize)")
        precondition(prefetch >= 0, "DataLoader: prefetch must be non-negative, got \(prefetch)")
        precondition((mean == nil) == (std == nil), "DataLoader: give both mean and std, or neither")
        precondition((mean.map { $0.count == c } ?? true) && (std.map { $0.count == c } ?? true),
                     "DataLoader: mean/std need one value per channel (\(c)), got \(mean?.count ?? 0) and \(std?.count ?? 0)")
        precondition(std.map { $0.allSatisfy { $0 >= 0 && $0.isFinite } } ?? true,
                     "DataLoader: std values must be non-negative and finite, got \(std ?? [])")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.augmentation = augmentation
        self.mean = mean
        // A constant channel (std 0) is only centred, as scikit-learn's StandardScaler does, rather than
        // turned into infinities.
        self.std = std.map { $0.map { $0 == 0 ? 1 : $0 } }
        self.dropLast = dropLast
        self.prefetch = prefetch
    }

    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The order in which epoch `epoch` visits the examples.
    public func order(epoch: Int) -> [Int] { BatchMaker(self).order(epoch: epoch) }

    /// All batches of epoch `epoch` from batch index `start` (for resume), in order. Each iteration of the
    /// returned sequence starts its own background producer.
    public func epoch(_ epoch: Int, startingAt start: Int = 0) -> AnySequence<Batch> {
        precondition(start >= 0, "DataLoader.epoch: start must be non-negative, got \(start)")
        let range = Swift.min(start, batchesPerEpoch)..<batchesPerEpoch
        // The producer captures an immutable snapshot of the configuration, not `self`.
        let maker = BatchMaker(self)
        let capacity = prefetch
        return AnySequence {
            // The permutation is computed once per iteration, lazily, on the thread that makes the first batch.
            let order = LazyOrder { maker.order(epoch: epoch) }
            return PrefetchingIterator(range, capacity: capacity) { b in
                maker.batch(epoch: epoch, index: b, order: order.value)
            }
        }
    }

    /// Batch `index` of epoch `epoch`, made directly (what the iterator yields at that position).
    public func batch(epoch: Int, index: Int) -> Batch {
        precondition(index >= 0 && index < batchesPerEpoch,
                     "DataLoader.batch: index \(index) out of range 0..<\(batchesPerEpoch)")
        return BatchMaker(self).batch(epoch: epoch, index: index, order: order(epoch: epoch))
    }
}

/// Everything a batch depends on, as immutable values safe to use from the prefetching thread.
struct BatchMaker: @unchecked Sendable {
    let dataset: Dataset
    let batchSize: Int
    let shuffle: Bool
    let seed: UInt64
    let augmentation: Augmentation
    let mean: [Float]?
    let std: [Float]?

    init(_ loader: DataLoader) {
        dataset = loader.dataset
        batchSize = loader.batchSize
        shuffle = loader.shuffle
        seed = loader.seed
        augmentation = loader.augmentation
        mean = loader.mean
        std = loader.std
    }

    func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        var g = Generator(seed: SeedDerivation.derive(seed, stream: SeedDerivation.orderStream, epoch))
        return g.permutation(dataset.count)
    }

    func batch(epoch: Int, index b: Int, order: [Int]) -> Batch {
        let lo = b * batchSize, hi = Swift.min(lo + batchSize, order.count)
        let indices = Array(order[lo..<hi])
        let labels = indices.map { dataset.labels[$0] }
        if augmentation.isIdentity && mean == nil {
            return Batch(images: dataset.images.gather(batch: indices), labels: labels, indices: indices)
        }
        let shape = dataset.imageShape, (c, h, w) = (shape[0], shape[1], shape[2]), row = c * h * w
        var g = Generator(seed: SeedDerivation.derive(seed, stream: SeedDerivation.augmentationStream, epoch, b))
        var images = Tensor(uninitializedShape: [indices.count] + shape)
        images.withUnsafeMutableBufferPointer { dst in
            dataset.images.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    Augmentation.render(src.baseAddress! + i * row, into: dst.baseAddress! + k * row,
                                        channels: c, height: h, width: w, padding: augmentation.randomCrop ?? 0,
                                        choice: augmentation.draw(&g), mean: mean, std: std)
                }
            }
        }
        return Batch(images: images, labels: labels, indices: indices)
    }
}

/// A value computed on first use, once, from whichever thread asks first.
final class LazyOrder: @unchecked Sendable {
    private let lock = NSLock()
    private var cached: [Int]?
    private let compute: () -> [Int]

    init(_ compute: @escaping () -> [Int]) { self.compute = compute }

    var value: [Int] {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let v = compute()
        cached = v
        return v
    }
}
