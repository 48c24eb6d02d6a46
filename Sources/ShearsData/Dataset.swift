import Foundation
import ShearsTensor

/// A labelled image dataset held in memory: images `[N, C, H, W]` float32 scaled to [0, 1] (raw pixel / 255),
/// labels in `0..<classes`.
///
/// Everything fits in memory (CIFAR-10's 50,000 training images are 600 MB as float32), so a dataset is a
/// plain value: one tensor plus one label array. Converting to float once at load time keeps the per-batch
/// work of the loader down to a gather, the augmentation and the normalisation.
public struct Dataset {
    public var name: String
    /// `[N, C, H, W]`, `.contiguous`.
    public var images: Tensor
    public var labels: [Int32]
    public let classes: Int

    /// A dataset from images `[N, C, H, W]` and one label per image in `0..<classes`.
    public init(name: String, images: Tensor, labels: [Int32], classes: Int) {
        precondition(images.rank == 4, "Dataset \(name): images must be [N, C, H, W], got shape \(images.shape)")
        precondition(images.shape[0] == labels.count,
                     "Dataset \(name): \(images.shape[0]) images but \(labels.count) labels")
        precondition(classes > 0, "Dataset \(name): classes must be positive, got \(classes)")
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classes },
                     "Dataset \(name): labels must lie in 0..<\(classes)")
        self.name = name
        self.images = images.contiguous()
        self.labels = labels
        self.classes = classes
    }

    public var count: Int { labels.count }

    /// Every image zero-padded by `pixels` on each side ([N, C, H + 2p, W + 2p]): MNIST's 28×28 becomes 32×32 with 2,
    /// LeNet-5's input and the size the CIFAR models (VGG's five pools) need.
    public func padded(by pixels: Int) -> Dataset {
        precondition(pixels >= 0, "Dataset \(name): padding must be ≥ 0, got \(pixels)")
        guard pixels > 0 else { return self }
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let (ph, pw) = (h + 2 * pixels, w + 2 * pixels)
        let src = images.scalars
        var out = [Float](repeating: 0, count: n * c * ph * pw)
        for plane in 0..<(n * c) {
            for y in 0..<h {
                let from = (plane * h + y) * w, to = (plane * ph + y + pixels) * pw + pixels
                for x in 0..<w { out[to + x] = src[from + x] }
            }
        }
        return Dataset(name: name, images: Tensor(shape: [n, c, ph, pw], scalars: out), labels: labels, classes: classes)
    }

    /// `[C, H, W]`.
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }

    /// The examples at `indices`, in that order (repeats allowed).
    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(name: name, images: images.gather(batch: indices), labels: indices.map { labels[$0] },
                classes: classes, validated: ())
    }

    /// The first `min(n, count)` examples.
    public func prefix(_ n: Int) -> Dataset {
        precondition(n >= 0, "Dataset.prefix: n must be non-negative, got \(n)")
        let k = Swift.min(n, count)
        return Dataset(name: name, images: images.slice(batch: 0..<k), labels: Array(labels[..<k]),
                       classes: classes, validated: ())
    }

    /// Number of examples of each class, indexed by label.
    public func classCounts() -> [Int] {
        var c = [Int](repeating: 0, count: classes)
        for l in labels { c[Int(l)] += 1 }
        return c
    }

    /// Per-channel mean and standard deviation over every pixel of every image (for normalisation).
    ///
    /// The std is the population one (divide by N·H·W), what `torch.std(unbiased=False)` and the usual
    /// "MNIST mean 0.1307, std 0.3081" constants use. One pass accumulating in Double around a shift (the
    /// channel's first pixel), which keeps E[x²] − E[x]² free of cancellation even when the mean is large
    /// next to the std; 47 million MNIST pixels lose no digits. An empty dataset has no statistics; it
    /// returns the identity normalisation (mean 0, std 1).
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        let c = images.shape[1], plane = images.shape[2] * images.shape[3], n = count
        guard n > 0 && plane > 0 else { return ([Float](repeating: 0, count: c), [Float](repeating: 1, count: c)) }
        var mean = [Float](repeating: 0, count: c), std = [Float](repeating: 0, count: c)
        images.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!
            for ch in 0..<c {
                let shift = Double(p[ch * plane])
                var sum = 0.0, squares = 0.0
                for i in 0..<n {
                    let row = p + (i * c + ch) * plane
                    for k in 0..<plane {
                        let d = Double(row[k]) - shift
                        sum += d
                        squares += d * d
                    }
                }
                let total = Double(n * plane), m = sum / total
                mean[ch] = Float(shift + m)
                std[ch] = Float(Swift.max(squares / total - m * m, 0).squareRoot())
            }
        }
        return (mean, std)
    }

    /// For readers and transforms that have already established the invariants.
    init(name: String, images: Tensor, labels: [Int32], classes: Int, validated: Void) {
        self.name = name
        self.images = images
        self.labels = labels
        self.classes = classes
    }
}
