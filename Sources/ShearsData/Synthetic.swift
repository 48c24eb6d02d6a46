import Foundation
import ShearsTensor

/// The seed of the class means `makeSynthetic` uses unless told otherwise.
public let defaultSyntheticPatternSeed: UInt64 = 0x5EED_B10B

/// A deterministic synthetic classification set for tests: `classes` Gaussian blobs in `[C, H, W]` images
/// (a class-dependent mean pattern plus noise), learnable by a small MLP.
///
/// Each class's mean image has every pixel uniform in [0.2, 0.8]; an example is its class mean plus
/// N(0, 0.25²) noise per pixel, clamped to [0, 1] like real pixels. Labels are balanced (`count / classes`
/// of each, the remainder going to the lowest labels) in a seeded random order.
///
/// The class means come from `patternSeed` alone and the examples from `seed`, so sets made with different
/// `seed`s are independent draws from the same distribution — a training and a test set — while the same
/// arguments always give the same numbers.
public func makeSynthetic(count: Int, classes: Int, imageShape: [Int], seed: UInt64,
                          patternSeed: UInt64 = defaultSyntheticPatternSeed) -> Dataset {
    precondition(count >= 0, "makeSynthetic: count must be non-negative, got \(count)")
    precondition(classes > 0, "makeSynthetic: classes must be positive, got \(classes)")
    precondition(imageShape.count == 3 && imageShape.allSatisfy { $0 > 0 },
                 "makeSynthetic: imageShape must be [C, H, W] with positive sizes, got \(imageShape)")
    let pixels = imageShape.reduce(1, *)
    var patternGenerator = Generator(seed: patternSeed)
    let means = (0..<classes).map { _ in (0..<pixels).map { _ in 0.2 + 0.6 * patternGenerator.nextFloat() } }

    // Separate child streams: the labels do not shift when the image size (and so the noise drawn) changes.
    var root = Generator(seed: seed)
    var labelGenerator = root.fork()
    var noiseGenerator = root.fork()
    let balanced = (0..<count).map { Int32($0 % classes) }
    let labels = labelGenerator.permutation(count).map { balanced[$0] }

    var images = Tensor(uninitializedShape: [count] + imageShape)
    images.withUnsafeMutableBufferPointer { p in
        for i in 0..<count {
            let mean = means[Int(labels[i])]
            for k in 0..<pixels {
                let v = mean[k] + 0.25 * Float(noiseGenerator.nextNormal())
                p[i * pixels + k] = Swift.min(Swift.max(v, 0), 1)
            }
        }
    }
    return Dataset(name: "synthetic", images: images, labels: labels, classes: classes, validated: ())
}
