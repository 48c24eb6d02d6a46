import Foundation
import ShearsTensor

/// Train / validation / test splits drawn from a `Generator`.
public enum Splits {
    /// Seeded validation hold-out: `validation` examples drawn at random (without replacement) from `train`;
    /// returns (train minus held out, held out). Order inside each part follows the original order, so the
    /// parts do not depend on how the draw was implemented, only on which examples were chosen.
    ///
    /// The draw is a partial Fisher–Yates shuffle: `validation` calls to `nextInt(below:)`, not `train.count`.
    public static func holdOut(_ train: Dataset, validation: Int,
                               generator: inout Generator) -> (train: Dataset, validation: Dataset) {
        let n = train.count
        precondition(validation >= 0 && validation <= n,
                     "Splits.holdOut: cannot hold out \(validation) of \(n) examples of \(train.name)")
        var pool = Array(0..<n)
        for i in 0..<validation { pool.swapAt(i, i + generator.nextInt(below: n - i)) }
        var held = [Bool](repeating: false, count: n)
        for i in pool[..<validation] { held[i] = true }
        let kept = (0..<n).filter { !held[$0] }, chosen = (0..<n).filter { held[$0] }
        var t = train.subset(kept), v = train.subset(chosen)
        t.name = train.name
        v.name = "\(train.name)-validation"
        return (t, v)
    }

    /// S-Cyc's pooled split: pool `train` + `test` (train's examples first), shuffle with the generator, and
    /// split into train / validation / test of sizes floor(f₀·N), floor(f₁·N) and the rest. Each part keeps
    /// the shuffled order.
    public static func pooled(train: Dataset, test: Dataset, fractions: (Double, Double, Double) = (0.6, 0.2, 0.2),
                              generator: inout Generator) -> (train: Dataset, validation: Dataset, test: Dataset) {
        precondition(train.imageShape == test.imageShape && train.classes == test.classes,
                     "Splits.pooled: \(train.name) (\(train.imageShape), \(train.classes) classes) and \(test.name) (\(test.imageShape), \(test.classes) classes) cannot be pooled")
        let f = [fractions.0, fractions.1, fractions.2]
        precondition(f.allSatisfy { $0 >= 0 } && f.reduce(0, +) <= 1 + 1e-9,
                     "Splits.pooled: fractions must be non-negative and sum to at most 1, got \(fractions)")
        let n = train.count + test.count
        // floor(f·N) of the decimal fraction: 0.6 is stored as 0.59999…, and 0.6·70000 must still give 42000.
        func size(_ fraction: Double) -> Int { Int((fraction * Double(n) + 1e-9).rounded(.down)) }
        let nTrain = size(f[0]), nValidation = min(size(f[1]), n - nTrain)
        let order = generator.permutation(n)
        let pool = [train, test]
        func part(_ range: Range<Int>, _ suffix: String) -> Dataset {
            var d = gather(pool, Array(order[range]))
            d.name = "\(train.name)+\(test.name)-pooled-\(suffix)"
            return d
        }
        return (part(0..<nTrain, "train"),
                part(nTrain..<nTrain + nValidation, "validation"),
                part(nTrain + nValidation..<n, "test"))
    }

    /// The examples `indices` of the concatenation of `parts`, gathered without materialising it (pooling
    /// CIFAR-10 would otherwise copy 700 MB once more).
    static func gather(_ parts: [Dataset], _ indices: [Int]) -> Dataset {
        let shape = parts[0].imageShape, row = shape.reduce(1, *)
        var starts = [0]
        for p in parts { starts.append(starts.last! + p.count) }
        var images = Tensor(uninitializedShape: [indices.count] + shape)
        var labels = [Int32]()
        labels.reserveCapacity(indices.count)
        images.withUnsafeMutableBufferPointer { dst in
            for (k, i) in indices.enumerated() {
                let which = starts.lastIndex { $0 <= i }!
                let local = i - starts[which]
                labels.append(parts[which].labels[local])
                parts[which].images.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + k * row).update(from: src.baseAddress! + local * row, count: row)
                }
            }
        }
        return Dataset(name: parts[0].name, images: images, labels: labels, classes: parts[0].classes, validated: ())
    }
}
