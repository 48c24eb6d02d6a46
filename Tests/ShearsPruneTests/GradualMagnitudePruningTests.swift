import XCTest
import ShearsPrune
import ShearsTensor

/// Zhu & Gupta's cubic schedule and the gradual magnitude pruning step.
final class GradualMagnitudePruningTests: XCTestCase {
    /// s_i = 0, s_f = 0.9, t₀ = 10, Δt = 5, n = 4: s = 0.9·(1 − (1 − k/4)³) at t = 10 + 5k:
    /// k = 0: 0;  k = 1: 0.9·(1 − 27/64) = 0.5203125;  k = 2: 0.9·(1 − 1/8) = 0.7875;  k = 3: 0.9·(63/64) = 0.8859375;
    /// k = 4: 0.9; held in between, s_i before t₀ and s_f after the end.
    func testCubicScheduleByHand() {
        let s = ZhuGuptaSchedule(finalSparsity: 0.9, begin: 10, frequency: 5, steps: 4)
        XCTAssertEqual(s.end, 30)
        let expected: [(Int, Double)] = [(0, 0), (9, 0), (10, 0), (14, 0), (15, 0.5203125), (19, 0.5203125), (20, 0.7875),
                                         (25, 0.8859375), (30, 0.9), (1000, 0.9)]
        for (t, want) in expected { XCTAssertEqual(s.sparsity(at: t), want, accuracy: 1e-12, "t = \(t)") }
        XCTAssertEqual((0...40).filter(s.isPruningStep), [10, 15, 20, 25, 30])
        // A nonzero initial sparsity: s_i = 0.5 → s_f = 0.9, halfway (k = 1 of 2): 0.9 + (0.5 − 0.9)·(1/2)³ = 0.85.
        let s2 = ZhuGuptaSchedule(initialSparsity: 0.5, finalSparsity: 0.9, begin: 0, frequency: 1, steps: 2)
        XCTAssertEqual(s2.sparsity(at: 1), 0.85, accuracy: 1e-12)
        XCTAssertEqual(s2.sparsity(at: 0), 0.5)
    }

    /// Global step: exactly the target count of zeros, the smallest |w| first, nested masks.
    func testStepRemovesSmallestMagnitudesToTheExactCount() {
        let a = Variable(Tensor(shape: [2, 3], scalars: [0.5, -0.1, 0.9, -0.05, 0.3, 0.7]), requiresGrad: true)
        let b = Variable(Tensor(shape: [4], scalars: [-0.2, 0.01, 0.6, -0.8]), requiresGrad: true)
        let params = [("a", a), ("b", b)]
        var mask = Mask.ones(for: params)
        // 10 weights, target 0.3 → 3 zeros: 0.01, −0.05, −0.1.
        mask = gradualMagnitudeStep(parameters: params, mask: mask, targetSparsity: 0.3)
        XCTAssertEqual(mask["a"]!.scalars, [1, 0, 1, 0, 1, 1])
        XCTAssertEqual(mask["b"]!.scalars, [1, 0, 1, 1])
        // Pruned weights stay pruned even if they grow back: 0.6 zeros → 3 more of the alive ones (−0.2, 0.3, 0.5).
        a.value = Tensor(shape: [2, 3], scalars: [0.5, 5, 0.9, 5, 0.3, 0.7])
        mask = gradualMagnitudeStep(parameters: params, mask: mask, targetSparsity: 0.6)
        XCTAssertEqual(mask["a"]!.scalars, [0, 0, 1, 0, 0, 1])
        XCTAssertEqual(mask["b"]!.scalars, [0, 0, 1, 1])
        XCTAssertEqual(mask.remaining, 4)
        // A target below the current sparsity changes nothing.
        XCTAssertEqual(gradualMagnitudeStep(parameters: params, mask: mask, targetSparsity: 0.2), mask)
    }

    func testNonzeroPatternGivesTheSparsityReport() {
        let w = Variable(Tensor(shape: [2, 2], scalars: [0, 1, -2, 0]), requiresGrad: true)
        let bias = Variable(Tensor(shape: [2], scalars: [0, 0]), requiresGrad: true)
        let params = [("w", w), ("bias", bias)]
        let report = SparsityReport(mask: .nonzero(of: params), parameters: params)
        XCTAssertEqual(report.rows.map(\.remaining), [2, 0])
        XCTAssertEqual(report.totalRemaining, 2)
        XCTAssertEqual(report.density, 2.0 / 6.0, accuracy: 1e-12)
    }

    /// `prune dynamic --method gmp`'s step along a whole schedule, both distributions, on three layers of different
    /// sizes: nested, the alive weights of smallest |w| go (ties: lower index), the pruned positions reported, and
    /// the counts exact at every step — uniform n − ⌈s·n⌉ per layer, ERK N − ⌈s·N⌉ in total — ending at exactly
    /// `dynamicKeepCounts(…, s_f, …)`'s total.
    func testGradualMagnitudeUpdateIsNestedAndExactAlongTheSchedule() {
        var g = Generator(seed: 7)
        let shapes = ["a": [40, 30], "b": [10, 40], "c": [3, 10]]
        let params = shapes.keys.sorted().map { name in
            (name, Variable(Tensor(shape: shapes[name]!, scalars: (0..<shapes[name]!.reduce(1, *)).map { _ in Float(g.nextDouble() * 2 - 1) }),
                            requiresGrad: true))
        }
        let schedule = ZhuGuptaSchedule(finalSparsity: 0.95, begin: 0, frequency: 1, steps: 6)
        for distribution in DensityDistribution.allCases {
            var mask = Mask.ones(for: params)
            for k in 1...6 {
                let target = schedule.sparsity(at: k)
                let (next, pruned) = gradualMagnitudeUpdate(mask: mask, weights: params, sparsity: target, distribution: distribution)
                // Both distributions keep the total of a fresh split at s_t (uniform: Σ n − ⌈s·n⌉; ERK: N − ⌈s·N⌉).
                XCTAssertEqual(next.remaining, dynamicKeepCounts(shapes: shapes, sparsity: target, distribution: distribution).values.reduce(0, +),
                               "\(distribution) step \(k)")
                for (name, p) in params {
                    let before = mask[name]!.scalars, after = next[name]!.scalars, gone = pruned[name]!.scalars
                    let w = p.value.scalars
                    XCTAssertTrue(zip(before, after).allSatisfy { $0 == 1 || $1 == 0 }, "\(name): revived")
                    XCTAssertEqual(gone, zip(before, after).map { $0 == 1 && $1 == 0 ? 1 : 0 }, "\(name): the reported positions")
                    let dropped = gone.indices.filter { gone[$0] == 1 }.map { abs(w[$0]) }
                    let kept = after.indices.filter { after[$0] == 1 }.map { abs(w[$0]) }
                    if let big = dropped.max(), let small = kept.min() { XCTAssertLessThanOrEqual(big, small, "\(name): by magnitude") }
                    if distribution == .uniform {
                        let n = shapes[name]!.reduce(1, *)
                        XCTAssertEqual(next.remaining(name), dynamicKeepCounts(shapes: [name: shapes[name]!], sparsity: target,
                                                                               distribution: .uniform)[name], "\(name) step \(k)")
                        XCTAssertLessThan(next.remaining(name), n)
                    }
                }
                mask = next
            }
            XCTAssertEqual(mask.remaining, dynamicKeepCounts(shapes: shapes, sparsity: 0.95, distribution: distribution).values.reduce(0, +),
                           "\(distribution): the target count at the last step")
        }
    }
}

