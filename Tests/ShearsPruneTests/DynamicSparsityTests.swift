import XCTest
import ShearsData
import ShearsNN
import ShearsOptim
@testable import ShearsPrune
import ShearsTensor

/// SET / RigL mask algebra: the drop-fraction schedule, one drop-and-grow by hand, constant counts, seeding, and the
/// optimizer state of grown connections.
final class DynamicSparsityTests: XCTestCase {
    func testCosineDropFractionAtHandPickedIterations() {
        // f(t) = α/2 · (1 + cos(π t / T_end)), α = 0.3, T_end = 1000.
        func f(_ t: Int) -> Double { dropFraction(at: t, initial: 0.3, schedule: .cosine, endIteration: 1000) }
        XCTAssertEqual(f(0), 0.3, accuracy: 1e-12)
        XCTAssertEqual(f(250), 0.15 * (1 + 0.5.squareRoot()), accuracy: 1e-12)   // cos(π/4) = √½: 0.2560660…
        XCTAssertEqual(f(250), 0.256066017, accuracy: 1e-9)
        XCTAssertEqual(f(500), 0.15, accuracy: 1e-12)                             // cos(π/2) = 0
        XCTAssertEqual(f(750), 0.15 * (1 - 0.5.squareRoot()), accuracy: 1e-12)   // 0.0439340…
        XCTAssertEqual(f(1000), 0, accuracy: 1e-12)
        XCTAssertEqual(dropFraction(at: 700, initial: 0.3, schedule: .constant, endIteration: 1000), 0.3)
    }

    /// A 2 × 4 layer: w = [0.5, −0.1, 0, 0.8 | 0, −0.3, 0, 0], mask = [1, 1, 0, 1 | 0, 1, 0, 0] (4 active),
    /// dense gradient g = [9, 3, −0.7, 5 | 0.4, 2, 0.9, −0.2], fraction 0.5: k = round(0.5 · 4) = 2.
    /// Drop: the two smallest |w| among the active, positions 1 (0.1) and 5 (0.3).
    /// Grow: among the positions inactive *before* the update, {2, 4, 6, 7} with |g| = 0.7, 0.4, 0.9, 0.2, the two
    /// largest: 6 and 2. Positions 1 and 5 have larger |g| (3, 2) but were just dropped, so they are not candidates.
    /// New mask: [1, 0, 1, 1 | 0, 0, 1, 0].
    func testRigLDropAndGrowByHand() {
        let w = Variable(Tensor(shape: [2, 4], scalars: [0.5, -0.1, 0, 0.8, 0, -0.3, 0, 0]))
        let mask = Mask(["fc.weight": Tensor(shape: [2, 4], scalars: [1, 1, 0, 1, 0, 1, 0, 0])])
        let grad = Tensor(shape: [2, 4], scalars: [9, 3, -0.7, 5, 0.4, 2, 0.9, -0.2])
        var g = Generator(seed: 0)
        let (next, grown) = dynamicMaskUpdate(mask: mask, weights: [("fc.weight", w)], gradients: ["fc.weight": grad], fraction: 0.5,
                                              method: .rigl, generator: &g)
        XCTAssertEqual(next["fc.weight"]!.scalars, [1, 0, 1, 1, 0, 0, 1, 0])
        XCTAssertEqual(grown["fc.weight"]!.scalars, [0, 0, 1, 0, 0, 0, 1, 0])
        // k rounds: 0.3 · 4 = 1.2 → 1 (drop position 1, grow position 6).
        let one = dynamicMaskUpdate(mask: mask, weights: [("fc.weight", w)], gradients: ["fc.weight": grad], fraction: 0.3,
                                    method: .rigl, generator: &g).mask
        XCTAssertEqual(one["fc.weight"]!.scalars, [1, 0, 0, 1, 0, 1, 1, 0])
    }

    func testSETKeepsTheCountNeverRegrowsWhatItDropsAndFollowsTheSeed() {
        var init0 = Generator(seed: 3)
        let w = Variable(Tensor.normal([10, 10], generator: &init0))
        let mask = randomMask(shapes: ["w": [10, 10]], keep: ["w": 30], generator: &init0)
        for seed in UInt64(0)..<20 {
            var g = Generator(seed: seed)
            let (next, grown) = dynamicMaskUpdate(mask: mask, weights: [("w", w)], gradients: nil, fraction: 0.5, method: .set, generator: &g)
            let before = mask["w"]!.scalars, after = next["w"]!.scalars, grew = grown["w"]!.scalars
            XCTAssertEqual(after.reduce(0, +), 30, "the count is kept")
            XCTAssertEqual(grew.reduce(0, +), 15, "k = round(0.5 · 30) = 15 grown")
            let dropped = before.indices.filter { before[$0] == 1 && after[$0] == 0 }
            XCTAssertEqual(dropped.count, 15)
            XCTAssertTrue(dropped.allSatisfy { grew[$0] == 0 }, "a weight just dropped is not regrown")
            XCTAssertTrue(grew.indices.allSatisfy { grew[$0] == 0 || before[$0] == 0 }, "only inactive positions grow")
            // The dropped ones are the 15 smallest |w| of the active.
            let activeMagnitudes = before.indices.filter { before[$0] == 1 }.map { abs(w.value.scalars[$0]) }.sorted()
            XCTAssertTrue(dropped.allSatisfy { abs(w.value.scalars[$0]) <= activeMagnitudes[14] })
            var again = Generator(seed: seed)
            XCTAssertEqual(dynamicMaskUpdate(mask: mask, weights: [("w", w)], gradients: nil, fraction: 0.5, method: .set, generator: &again).mask,
                           next, "the same seed gives the same mask")
        }
        var a = Generator(seed: 1), b = Generator(seed: 2)
        XCTAssertNotEqual(dynamicMaskUpdate(mask: mask, weights: [("w", w)], gradients: nil, fraction: 0.5, method: .set, generator: &a).mask,
                          dynamicMaskUpdate(mask: mask, weights: [("w", w)], gradients: nil, fraction: 0.5, method: .set, generator: &b).mask)
    }

    func testSparsityIsExactlyConstantOverManyUpdates() {
        let shapes: [String: [Int]] = ["a": [20, 30], "b": [10, 20], "c": [4, 3, 3, 3]]
        for distribution in DensityDistribution.allCases {
            let keep = dynamicKeepCounts(shapes: shapes, sparsity: 0.8, distribution: distribution)
            // 908 weights: uniform keeps 600 − 480, 200 − 160 and 108 − ⌈86.4⌉ = 21; ERK keeps 908 − ⌈726.4⌉ = 181 in all.
            if distribution == .uniform { XCTAssertEqual(keep, ["a": 120, "b": 40, "c": 21]) }
            XCTAssertEqual(keep.values.reduce(0, +), 181, "\(distribution)")
            var g = Generator(seed: 11)
            var mask = randomMask(shapes: shapes, keep: keep, generator: &g)
            for (name, k) in keep { XCTAssertEqual(mask.remaining(name), k) }
            let weights = shapes.keys.sorted().map { ($0, Variable(Tensor.zeros(shapes[$0]!))) }
            for update in 0..<60 {
                for (_, v) in weights { v.value = Tensor.normal(v.shape, generator: &g) }
                let grads = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, Tensor.normal($0.1.shape, generator: &g)) })
                let f = dropFraction(at: update, initial: 0.5, schedule: .cosine, endIteration: 60)
                mask = dynamicMaskUpdate(mask: mask, weights: weights, gradients: grads, fraction: f, method: update % 2 == 0 ? .rigl : .set,
                                         generator: &g).mask
                for (name, k) in keep { XCTAssertEqual(mask.remaining(name), k, "\(name) after update \(update)") }
            }
        }
    }

    func testUniformAndERKKeepCounts() {
        // Uniform: n − ⌈s·n⌉ per layer. ERK (RigL §3): density ∝ (n_in + n_out)/(n_in·n_out), so the 10 × 2 layer is
        // denser than the 100 × 100 one, and the total is N − ⌈s·N⌉.
        let shapes: [String: [Int]] = ["big": [100, 100], "small": [2, 10]]
        XCTAssertEqual(dynamicKeepCounts(shapes: shapes, sparsity: 0.9, distribution: .uniform), ["big": 1000, "small": 2])
        let erk = dynamicKeepCounts(shapes: shapes, sparsity: 0.9, distribution: .erk)
        XCTAssertEqual(erk.values.reduce(0, +), 10020 - 9018)
        XCTAssertEqual(erk["small"], 20, "ERK's density for the small layer exceeds 1: it is dense")
    }

    func testGrownConnectionsStartWithZeroOptimizerState() throws {
        let w = Variable(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), requiresGrad: true)
        let params = [("w", w)]
        var opt = MaskedOptimizer(SGD(learningRate: 0.1, momentum: 0.9), mask: Mask(["w": Tensor.ones([2, 3])]))
        for _ in 0..<3 {
            w.grad = Tensor(shape: [2, 3], scalars: [1, -1, 2, 0.5, 3, -2])
            opt.step(params)
        }
        let before = try XCTUnwrap(opt.state.first { $0.key.hasSuffix("/w") }).value.scalars
        XCTAssertTrue(before.allSatisfy { $0 != 0 }, "momentum everywhere after dense steps")
        let grown = Mask(["w": Tensor(shape: [2, 3], scalars: [0, 1, 0, 0, 0, 1])])
        opt.zeroState(at: grown)
        let after = try XCTUnwrap(opt.state.first { $0.key.hasSuffix("/w") }).value.scalars
        XCTAssertEqual(after[1], 0); XCTAssertEqual(after[5], 0)
        for i in [0, 2, 3, 4] { XCTAssertEqual(after[i], before[i], "untouched where nothing grew") }
        startAtZero(grown, in: params)
        XCTAssertEqual(w.value.scalars[1], 0); XCTAssertEqual(w.value.scalars[5], 0)
        XCTAssertNotEqual(w.value.scalars[0], 0)
    }
}
