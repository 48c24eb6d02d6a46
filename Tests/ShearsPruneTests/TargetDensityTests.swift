import Foundation
import XCTest
import ShearsData
import ShearsNN
import ShearsPrune
import ShearsTensor

/// Pruning to a target density: APP's schedule (spec §1.2), the nested update (§1.7) and the code's threshold (§1.3).
final class TargetDensityTests: XCTestCase {
    /// Spec §1.2's table for τ = 4.5, |S_B| = 8, and its |S_B| = 10 list.
    func testScheduleMatchesTheSpecTables() {
        let s8 = ProgressiveDensitySchedule(tau: 4.5, megabatches: 8)
        XCTAssertEqual(s8.deltas, [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])
        let table8 = [0.8000, 0.7155, 0.6400, 0.5724, 0.5120, 0.4579, 0.4096, 0.3664]
        for t in 1...8 { XCTAssertEqual(s8.density(at: t), table8[t - 1], accuracy: 5e-5, "t = \(t)") }
        XCTAssertEqual(s8.finalDensity, 0.3664, accuracy: 5e-5)   // "≈ 1/3rd the size"

        let s10 = ProgressiveDensitySchedule(tau: 4.5, megabatches: 10)
        XCTAssertEqual(s10.delta(at: 2), 1.3889, accuracy: 5e-5)
        XCTAssertEqual(s10.delta(at: 3), 1.7778, accuracy: 5e-5)
        XCTAssertEqual(s10.delta(at: 10), 4.5)
        let table10 = [0.8000, 0.7335, 0.6725, 0.6166, 0.5654, 0.5184, 0.4753, 0.4358, 0.3996, 0.3664]
        for t in 1...10 { XCTAssertEqual(s10.density(at: t), table10[t - 1], accuracy: 5e-5, "t = \(t)") }

        XCTAssertEqual(ProgressiveDensitySchedule(tau: 4.5, megabatches: 1).deltas, [1])   // numpy: linspace(1, τ, 1) = [1]
    }

    func testKeepCountIsTheCeilingOfTheTarget() {
        XCTAssertEqual(keepCount(total: 1000, density: 0.8), 800)             // 800.0000000000001 is 800
        XCTAssertEqual(keepCount(total: 1000, density: pow(0.8, 1.5)), 716)   // 715.54… → 716
        XCTAssertEqual(keepCount(total: 1000, density: pow(0.8, 4.5)), 367)   // 366.36… → 367
        XCTAssertEqual(keepCount(total: 7, density: 1), 7)
        XCTAssertEqual(keepCount(total: 7, density: 0), 0)
    }

    func testNestedPruningKeepsExactlyTheTargetAmongSurvivors() {
        // 10 weights in two tensors; b[0] and a[4] are already pruned (and scored highest, which must not matter).
        var mask = Mask(["a": Tensor(shape: [5], scalars: [1, 1, 1, 1, 0]), "b": Tensor(shape: [5], scalars: [0, 1, 1, 1, 1])])
        let scores = ["a": Tensor(shape: [5], scalars: [0.5, 0.1, 0.9, 0.3, 9]), "b": Tensor(shape: [5], scalars: [9, 0.2, 0.8, 0.4, 0.7])]
        mask = pruneToDensity(scores: scores, mask: mask, density: 0.5)   // keep 5 of 10: drop 0.1, 0.2, 0.3
        XCTAssertEqual(mask["a"]!.scalars, [1, 0, 1, 0, 0])
        XCTAssertEqual(mask["b"]!.scalars, [0, 0, 1, 1, 1])
        XCTAssertEqual(mask.remaining, 5)
        // Nested: the next, lower target only removes survivors (0.4 and 0.5 go), never revives.
        let next = pruneToDensity(scores: scores, mask: mask, density: 0.3)
        XCTAssertEqual(next["a"]!.scalars, [0, 0, 1, 0, 0])
        XCTAssertEqual(next["b"]!.scalars, [0, 0, 1, 0, 1])
        // A target above the current density leaves the mask as it is.
        XCTAssertEqual(pruneToDensity(scores: scores, mask: next, density: 0.9), next)
    }

    /// The APP code's `kthvalue` threshold: k = int((1 − d)·N), keep score > thr, ties at thr pruned.
    func testCodeThresholdByHand() {
        let s = ["w": Tensor(shape: [5], scalars: [0.1, 0.2, 0.2, 0.3, 0.4])]
        // d = 0.6: k = int(0.4·5) = 2, thr = 0.2 → the tie at 0.2 goes too: 2 kept, not 3.
        XCTAssertEqual(thresholdMask(scores: s, density: 0.6)["w"]!.scalars, [0, 0, 0, 1, 1])
        // Python's int() of the float product: (1 − 0.8)·1000 = 199.99999999999997 → k = 199, 801 weights kept.
        let distinct = ["w": Tensor(shape: [1000], scalars: (0..<1000).map { Float($0) })]
        XCTAssertEqual(thresholdMask(scores: distinct, density: 0.8).remaining, 801)
        XCTAssertEqual(thresholdMask(scores: distinct, density: 1).remaining, 1000)
        // The previous mask plays no part: positions pruned before can be selected again.
        XCTAssertEqual(thresholdMask(scores: s, density: 0.6).names, ["w"])
    }

    /// The code's SNIP on the mask: at pruned positions ∂L/∂c = g·w is not zero when the weight is not, while
    /// `SNIPScore` (nested use) gives them 0; with an all-ones mask both agree.
    func testMaskGradientSaliencyScoresPrunedPositionsToo() throws {
        var g = Generator(seed: 11)
        let model = MLP(inputs: 4, hidden: [3], classes: 2, generator: &g)
        let sel = PrunableSelection().select(model)
        var bg = Generator(seed: 12)
        let batch = Batch(images: Tensor.normal([6, 4, 1, 1], generator: &bg), labels: [0, 1, 0, 1, 1, 0], indices: Array(0..<6))
        let ones = Mask.ones(for: sel)
        let a = maskGradientSaliency(model: model, parameters: sel, mask: ones, batches: [batch])
        let b = try SNIPScore(batch: batch).scores(model: model, parameters: sel, mask: ones)
        for name in ones.names {
            for (x, y) in zip(a[name]!.scalars, b[name]!.scalars) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
        var mask = ones
        let first = sel[0].0
        var m = mask[first]!.scalars
        m[0] = 0; m[1] = 0
        mask[first] = Tensor(shape: mask[first]!.shape, scalars: m)
        let before = model.namedParameters.map { $0.1.value.scalars }
        let c = maskGradientSaliency(model: model, parameters: sel, mask: mask, batches: [batch])
        let d = try SNIPScore(batch: batch).scores(model: model, parameters: sel, mask: mask)
        XCTAssertGreaterThan(c[first]!.scalars[0] + c[first]!.scalars[1], 0)
        XCTAssertEqual(d[first]!.scalars[0], 0)
        XCTAssertEqual(Double(c.values.reduce(0) { $0 + $1.sum() }), 1, accuracy: 1e-5)   // normalised by the global sum
        XCTAssertEqual(model.namedParameters.map { $0.1.value.scalars }, before)          // the model is untouched
    }
}
