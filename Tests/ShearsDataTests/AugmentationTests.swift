import Foundation
@testable import ShearsData
import ShearsTensor
import XCTest

/// Random crop (zero padding) and horizontal flip, on hand-made images whose every result is known.
final class AugmentationTests: XCTestCase {
    /// A 3x3 one-channel image 1…9, row-major.
    let image: [Float] = [1, 2, 3,
                          4, 5, 6,
                          7, 8, 9]

    private func render(_ src: [Float], channels: Int = 1, padding: Int, _ choice: AugmentationChoice,
                        mean: [Float]? = nil, std: [Float]? = nil) -> [Float] {
        var out = [Float](repeating: -1, count: src.count)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                Augmentation.render(s.baseAddress!, into: d.baseAddress!, channels: channels, height: 3, width: 3,
                                    padding: padding, choice: choice, mean: mean, std: std)
            }
        }
        return out
    }

    func testCropWindows() {
        // Padding 1 makes a 5x5 image; (dy, dx) is the crop's top-left corner in it.
        XCTAssertEqual(render(image, padding: 1, .init(dy: 1, dx: 1)), image, "centre window is the identity")
        XCTAssertEqual(render(image, padding: 1, .init(dy: 0, dx: 0)), [0, 0, 0,
                                                                         0, 1, 2,
                                                                         0, 4, 5])
        XCTAssertEqual(render(image, padding: 1, .init(dy: 2, dx: 1)), [4, 5, 6,
                                                                         7, 8, 9,
                                                                         0, 0, 0])
        XCTAssertEqual(render(image, padding: 1, .init(dy: 1, dx: 2)), [2, 3, 0,
                                                                         5, 6, 0,
                                                                         8, 9, 0])
        XCTAssertEqual(render(image, padding: 4, .init(dy: 0, dx: 0)), [Float](repeating: 0, count: 9),
                       "padding wider than the image can crop pure padding")
    }

    func testFlipAndCropThenFlip() {
        XCTAssertEqual(render(image, padding: 0, .init(flip: true)), [3, 2, 1,
                                                                       6, 5, 4,
                                                                       9, 8, 7])
        // torchvision order: crop first, then flip the crop.
        XCTAssertEqual(render(image, padding: 1, .init(dy: 0, dx: 0, flip: true)), [0, 0, 0,
                                                                                     2, 1, 0,
                                                                                     5, 4, 0])
    }

    func testNormalisationAppliesToPaddingToo() {
        // As torchvision: pad (with 0) the raw image, then Normalize — padding becomes (0 − mean) / std.
        let out = render(image, padding: 1, .init(dy: 0, dx: 0), mean: [1], std: [2])
        XCTAssertEqual(out, [-0.5, -0.5, -0.5,
                             -0.5, 0, 0.5,
                             -0.5, 1.5, 2])
    }

    /// Every (crop, flip) result of a 2-channel image, by explicit padding, cropping and flipping.
    private func allCandidates(_ channels: [[Float]], padding p: Int) -> [[Float]] {
        var out: [[Float]] = []
        for dy in 0...(2 * p) {
            for dx in 0...(2 * p) {
                for flip in [false, true] {
                    var result: [Float] = []
                    for ch in channels {
                        var padded = [[Float]](repeating: [Float](repeating: 0, count: 3 + 2 * p), count: 3 + 2 * p)
                        for y in 0..<3 { for x in 0..<3 { padded[y + p][x + p] = ch[y * 3 + x] } }
                        for y in 0..<3 {
                            var row = (0..<3).map { padded[y + dy][$0 + dx] }
                            if flip { row.reverse() }
                            result += row
                        }
                    }
                    out.append(result)
                }
            }
        }
        return out
    }

    func testLoaderAugmentsEveryChannelAlikeAndCoversAllChoices() {
        let second = image.map { $0 + 10 }
        let d = Dataset(name: "one", images: Tensor(shape: [1, 2, 3, 3], scalars: image + second), labels: [0], classes: 1)
        let candidates = allCandidates([image, second], padding: 1)
        let loader = DataLoader(dataset: d, batchSize: 1, shuffle: true, seed: 3,
                                augmentation: Augmentation(randomCrop: 1, horizontalFlip: true), prefetch: 0)
        var seen = Set<Int>()
        for e in 0..<200 {
            let batch = Array(loader.epoch(e))
            XCTAssertEqual(batch.count, 1)
            XCTAssertEqual(batch[0].images.shape, [1, 2, 3, 3])
            guard let k = candidates.firstIndex(of: batch[0].images.scalars) else {
                return XCTFail("epoch \(e): \(batch[0].images.scalars) is no crop/flip of the image")
            }
            seen.insert(k)
        }
        XCTAssertEqual(seen.count, candidates.count, "all 9 windows × 2 flips occur over 200 epochs")
    }

    func testFlipOnlyAndNoneThroughLoader() {
        let d = Dataset(name: "one", images: Tensor(shape: [1, 1, 3, 3], scalars: image), labels: [0], classes: 1)
        let flipped: [Float] = [3, 2, 1, 6, 5, 4, 9, 8, 7]
        let flipper = DataLoader(dataset: d, batchSize: 1, shuffle: false, seed: 1, augmentation: Augmentation(horizontalFlip: true))
        let outs = (0..<50).map { Array(flipper.epoch($0))[0].images.scalars }
        XCTAssertTrue(outs.allSatisfy { $0 == image || $0 == flipped })
        XCTAssertTrue(outs.contains(image) && outs.contains(flipped))
        let plain = DataLoader(dataset: d, batchSize: 1, shuffle: true, seed: 1, augmentation: .none)
        XCTAssertEqual(Array(plain.epoch(0))[0].images.scalars, image)
    }

    func testCIFARAugmentationKeepsShapeAndIsDeterministic() {
        let d = makeSynthetic(count: 20, classes: 10, imageShape: [3, 32, 32], seed: 1)
        let loader = DataLoader(dataset: d, batchSize: 8, shuffle: true, seed: 5, augmentation: .cifar)
        let a = Array(loader.epoch(0)), b = Array(loader.epoch(0)), c = Array(loader.epoch(1))
        XCTAssertEqual(a.map(\.images.shape), [[8, 3, 32, 32], [8, 3, 32, 32], [4, 3, 32, 32]])
        XCTAssertEqual(a.map(\.images.scalars), b.map(\.images.scalars))
        // Same example in epochs 0 and 1 gets (almost surely) a different crop/flip.
        let i = a[0].indices[0]
        let row0 = a[0].images.slice(batch: 0..<1).scalars
        let j = c.flatMap(\.indices).firstIndex(of: i)!
        let row1 = c[j / 8].images.slice(batch: (j % 8)..<(j % 8 + 1)).scalars
        XCTAssertNotEqual(row0, row1)
        XCTAssertEqual(Augmentation.cifar, Augmentation(randomCrop: 4, horizontalFlip: true))
        XCTAssertTrue(Augmentation.none.isIdentity)
    }

    func testAugmentationIsCodable() throws {
        let data = try JSONEncoder().encode(Augmentation.cifar)
        XCTAssertEqual(try JSONDecoder().decode(Augmentation.self, from: data), .cifar)
    }
}
