import XCTest
import ShearsNN
import ShearsOptim
@testable import ShearsPrune
import ShearsTensor

/// Criteria, allocation, N:M and the MAC counter against hand-derived numbers.
final class GroupCriteriaTests: XCTestCase {
    let group = DependencyGroup(name: "a", channels: 2, members: [
        GroupMember(name: "a.weight", axis: 0, role: .producer),
        GroupMember(name: "b.weight", axis: 0, role: .producer),
        GroupMember(name: "bn.weight", axis: 0, role: .normalization),
        GroupMember(name: "bn.bias", axis: 0, role: .normalization),
        GroupMember(name: "c.weight", axis: 1, block: 2, role: .consumer),
    ], fixedBecause: nil)

    func values() -> [String: Variable] {
        ["a.weight": Variable(tensor([2, 3], [1, -2, 3, 0, 4, -1]), requiresGrad: true),
         "b.weight": Variable(tensor([2, 3], [1, 1, 1, 2, 2, 2]), requiresGrad: true),
         "bn.weight": Variable(tensor([2], [-0.5, 2]), requiresGrad: true),
         "bn.bias": Variable(tensor([2], [0.25, 1]), requiresGrad: true),
         "c.weight": Variable(tensor([1, 4], [9, 9, 9, 9]), requiresGrad: true)]
    }

    func testFilterNorms() throws {
        let v = values()
        // L1: a rows 6, 5; b rows 3, 6.
        XCTAssertEqual(try FilterNormCriterion.l1.channelScores(group, values: v, aggregation: .sum), [9, 11])
        XCTAssertEqual(try FilterNormCriterion.l1.channelScores(group, values: v, aggregation: .mean), [4.5, 5.5])
        // L2: √14 + √3, √17 + √12.
        let l2 = try FilterNormCriterion.l2.channelScores(group, values: v)
        XCTAssertEqual(l2[0], 14.0.squareRoot() + 3.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(l2[1], 17.0.squareRoot() + 12.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(FilterNormCriterion.l1.name, "l1")
    }

    func testBatchNormScale() throws {
        XCTAssertEqual(try BatchNormScaleCriterion().channelScores(group, values: values()), [0.5, 2])
        let noBN = DependencyGroup(name: "x", channels: 2, members: [GroupMember(name: "a.weight", axis: 0, role: .producer)],
                                   fixedBecause: nil)
        XCTAssertThrowsError(try BatchNormScaleCriterion().channelScores(noBN, values: values())) {
            XCTAssertTrue("\($0)".contains("group x"), "\($0)")
        }
    }

    func testTaylor() throws {
        let v = values()
        XCTAssertThrowsError(try TaylorCriterion().channelScores(group, values: v)) {
            XCTAssertTrue("\($0)".contains("a.weight") && "\($0)".contains("gradient"), "\($0)")
        }
        v["a.weight"]!.grad = tensor([2, 3], [1, 1, 1, -1, 0.5, 2])   // a: 1−2+3 = 2; 0+2−2 = 0
        v["b.weight"]!.grad = tensor([2, 3], [0, 0, -1, 1, 1, 1])     // b: −1; 6
        v["bn.weight"]!.grad = tensor([2], [2, 1])                    // γ: −1; 2
        v["bn.bias"]!.grad = tensor([2], [4, -3])                      // β: 1; −3
        // |2| + |−1| + |−1| + |1| = 5; |0| + |6| + |2| + |−3| = 11.
        XCTAssertEqual(try TaylorCriterion().channelScores(group, values: v), [5, 11])
    }

    func testBatchNormL1PenaltyGradient() {
        let v = values()
        v["bn.weight"]!.grad = tensor([2], [1, 1])
        let penalty = addBatchNormL1Penalty(lambda: 0.1, groups: [group], values: v)
        XCTAssertEqual(penalty, 0.25, accuracy: 1e-6)                 // 0.1 · (0.5 + 2)
        XCTAssertEqual(v["bn.weight"]!.grad!.scalars, [0.9, 1.1])
        XCTAssertNil(v["bn.bias"]!.grad)                              // β is not penalised
        // Finite differences of λ·Σ|γ| agree with the subgradient away from 0.
        let h: Float = 1e-3, gamma: [Float] = [-0.5, 2]
        for i in 0..<2 {
            var up = gamma, down = gamma
            up[i] += h; down[i] -= h
            let numeric = 0.1 * (up.map(abs).reduce(0, +) - down.map(abs).reduce(0, +)) / (2 * h)
            XCTAssertEqual(numeric, gamma[i] > 0 ? 0.1 : -0.1, accuracy: 1e-3)
        }
    }

    // MARK: allocation

    func g(_ name: String, _ n: Int) -> DependencyGroup { DependencyGroup(name: name, channels: n, members: [], fixedBecause: nil) }

    func testLayerwiseAndGlobal() throws {
        let a = g("a", 4), b = g("b", 2)
        let layerwise = try allocateChannels(groups: [a, b], scores: ["a": [4, 1, 3, 2], "b": [10, 0.5]], ratio: 0.5, allocation: .layerwise)
        XCTAssertEqual(layerwise, ["a": [0, 2], "b": [0]])
        // Global: 3 of 6 go — 0.5 (b), 1 and 2 (a).
        let global = try allocateChannels(groups: [a, b], scores: ["a": [4, 1, 3, 2], "b": [10, 0.5]], ratio: 0.5, allocation: .global)
        XCTAssertEqual(global, ["a": [0, 2], "b": [0]])
        // A group is never emptied: b keeps its best channel, the rest comes from a.
        let floor = try allocateChannels(groups: [a, b], scores: ["a": [5, 6, 7, 8], "b": [0.1, 0.2]], ratio: 0.5, allocation: .global)
        XCTAssertEqual(floor, ["a": [2, 3], "b": [1]])
    }

    func testRoundTo() throws {
        let big = g("big", 32), small = g("small", 16)
        let s32 = (0..<32).map(Double.init), s16 = (0..<16).map(Double.init)
        // 32 − round(9.6) = 22 → 24; 16 − round(14.4) = 2 → 8 (never below one step).
        let r = try allocateChannels(groups: [big, small], scores: ["big": s32, "small": s16], ratio: 0.3, allocation: .layerwise, roundTo: 8)
        XCTAssertEqual(r["big"]!.count, 24)
        let r2 = try allocateChannels(groups: [small], scores: ["small": s16], ratio: 0.9, allocation: .layerwise, roundTo: 8)
        XCTAssertEqual(r2["small"], Array(8..<16))
        XCTAssertEqual(rounded(5, to: 8, width: 6), 5)               // narrower than a step: unchanged
    }

    func testNormalizationScalesEachGroup() throws {
        XCTAssertEqual(GroupNormalization.mean.apply([1, 2, 3, 6]), [1.0 / 3, 2.0 / 3, 1, 2])
        XCTAssertEqual(GroupNormalization.max.apply([1, 2, 4]), [0.25, 0.5, 1])
        XCTAssertEqual(GroupNormalization.sum.apply([1, 3]), [0.25, 0.75])
        XCTAssertEqual(GroupNormalization.raw.apply([1, 3]), [1, 3])
        // Channels removed earlier (−∞) stay out of the statistic; an all-zero group keeps its scores.
        XCTAssertEqual(GroupNormalization.mean.apply([-.infinity, 2, 4]), [-.infinity, 2.0 / 3, 4.0 / 3])
        XCTAssertEqual(GroupNormalization.mean.apply([0, 0]), [0, 0])
        // A wide-fan-in group (scores ×10) and a narrow one, 4 of 8 channels removed globally. Raw: the narrow group
        // loses 3 (its floor of one channel stops the 4th) and the wide one 1; normalised by the mean both rank the
        // same (0.4, 0.8, 1.2, 1.6) and lose 2 each.
        let a = g("wide", 4), b = g("narrow", 4)
        let scores: [String: [Double]] = ["wide": [10, 20, 30, 40], "narrow": [1, 2, 3, 4]]
        let raw = try allocateChannels(groups: [a, b], scores: scores, ratio: 0.5, allocation: .global)
        XCTAssertEqual(raw, ["wide": [1, 2, 3], "narrow": [3]])
        let normalised = try allocateChannels(groups: [a, b], scores: scores, ratio: 0.5, allocation: .global, normalization: .mean)
        XCTAssertEqual(normalised, ["wide": [2, 3], "narrow": [2, 3]])
        // Layerwise ranks within a group: a positive scale per group changes nothing.
        for n in GroupNormalization.allCases {
            XCTAssertEqual(try allocateChannels(groups: [a, b], scores: scores, ratio: 0.5, allocation: .layerwise, normalization: n),
                           ["wide": [2, 3], "narrow": [2, 3]])
        }
    }

    /// The channel criteria come from the criterion registry, and every per-weight criterion is one too: its weight
    /// scores summed per producing filter. Magnitude lifted is the L1 filter norm.
    func testRegistryLiftsPerWeightCriteria() throws {
        XCTAssertEqual(Array(CriterionRegistry.channelNames.prefix(4)), ["l1", "l2", "bn-scale", "taylor"])
        for name in ["magnitude", "snip", "synflow", "random"] { XCTAssertTrue(CriterionRegistry.isChannelCriterion(name), name) }
        XCTAssertFalse(CriterionRegistry.isChannelCriterion("l3"))
        var gen = Generator(seed: 3)
        let model = MLP(inputs: 3, hidden: [4], classes: 2, generator: &gen)
        let groups = try dependencyGroups(of: model, inputShape: [3])
        let values = Dictionary(model.namedParameters, uniquingKeysWith: { a, _ in a })
        let lifted = try CriterionRegistry.makeChannel("magnitude", model: model, groups: groups, context: ScoringContext())
        XCTAssertEqual(lifted.name, "magnitude")
        let prunable = groups.filter(\.prunable)
        XCTAssertFalse(prunable.isEmpty)
        for group in prunable {
            let l1 = try CriterionRegistry.makeChannel("l1", model: model, groups: groups, context: ScoringContext())
                .channelScores(group, values: values)
            let byHand = (0..<4).map { r in (0..<3).reduce(0.0) { $0 + Double(abs(values["fc1.weight"]!.value[r, $1])) } }
            XCTAssertEqual(l1, byHand)
            let m = try lifted.channelScores(group, values: values)
            for (x, y) in zip(m, l1) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
        // Random lifted: seeded, so the same seed gives the same channel scores.
        let r1 = try CriterionRegistry.makeChannel("random", model: model, groups: groups, context: ScoringContext(seed: 7))
        let r2 = try CriterionRegistry.makeChannel("random", model: model, groups: groups, context: ScoringContext(seed: 7))
        XCTAssertEqual(try r1.channelScores(prunable[0], values: values), try r2.channelScores(prunable[0], values: values))
        XCTAssertThrowsError(try CriterionRegistry.makeChannel("l3", model: model, groups: groups, context: ScoringContext())) {
            XCTAssertTrue("\($0)".contains("l3") && "\($0)".contains("bn-scale") && "\($0)".contains("snip"), "\($0)")
        }
        // A data-driven per-weight criterion without batches is refused naming it.
        XCTAssertThrowsError(try CriterionRegistry.makeChannel("snip", model: model, groups: groups, context: ScoringContext())) {
            XCTAssertTrue("\($0)".contains("snip"), "\($0)")
        }
    }

    func testBadRatiosAndScores() {
        for bad in [0, 1, -0.5, 1.5, Double.nan] {
            XCTAssertThrowsError(try allocateChannels(groups: [g("a", 2)], scores: ["a": [1, 2]], ratio: bad, allocation: .global)) {
                XCTAssertTrue("\($0)".contains("(0, 1)"), "\($0)")
            }
        }
        XCTAssertThrowsError(try allocateChannels(groups: [g("a", 2)], scores: ["a": [1]], ratio: 0.5, allocation: .global)) {
            XCTAssertTrue("\($0)".contains("group a"), "\($0)")
        }
        let fixed = DependencyGroup(name: "fc", channels: 2, members: [], fixedBecause: "it is the model's output")
        XCTAssertThrowsError(try allocateChannels(groups: [fixed], scores: [:], ratio: 0.5, allocation: .global))
    }

    // MARK: N:M

    func testNMLinearAndConv() throws {
        let p = try NMPattern(parsing: "2:4")
        let linear = try nmMask(scores: ["l": tensor([2, 4], [1, 4, 2, 3, 5, 0, 0, 1])], pattern: p)
        XCTAssertEqual(linear["l"]!.scalars, [0, 1, 0, 1, 1, 0, 0, 1])
        // [1, 4, 1, 2]: runs along the 4 input channels at each kernel position.
        let conv = try nmMask(scores: ["c": tensor([1, 4, 1, 2], [1, 9, 2, 8, 3, 7, 4, 6])], pattern: p)
        XCTAssertEqual(conv["c"]!.scalars, [0, 1, 0, 1, 1, 0, 1, 0])
        XCTAssertTrue(satisfiesNM(conv, pattern: p))
        XCTAssertFalse(satisfiesNM(Mask(["c": Tensor(shape: [1, 4], repeating: 1)]), pattern: p))
        let oneOfFour = try nmMask(scores: ["l": tensor([1, 8], [1, 2, 3, 4, 8, 7, 6, 5])], pattern: NMPattern(n: 1, m: 4))
        XCTAssertEqual(oneOfFour["l"]!.scalars, [0, 0, 0, 1, 1, 0, 0, 0])
    }

    func testNMBadInput() {
        XCTAssertThrowsError(try nmMask(scores: ["fc.weight": Tensor(shape: [2, 3], repeating: 1)], pattern: NMPattern(n: 2, m: 4))) {
            XCTAssertTrue("\($0)".contains("fc.weight") && "\($0)".contains("multiple of 4"), "\($0)")
        }
        XCTAssertThrowsError(try nmMask(scores: ["b": Tensor(shape: [4], repeating: 1)], pattern: NMPattern(n: 2, m: 4)))
        for text in ["4:2", "2:2", "a:b", "2", "0:4"] { XCTAssertThrowsError(try NMPattern(parsing: text), text) }
    }

    func testMaskedOptimizerKeepsNM() throws {
        var g = Generator(seed: 0)
        let layer = Linear(8, 4, generator: &g)
        let p = try NMPattern(n: 2, m: 4)
        let mask = try nmMask(scores: ["weight": layer.weight.value.map(abs)], pattern: p)
        var opt = MaskedOptimizer(SGD(learningRate: 0.1, momentum: 0.9), mask: mask)
        for step in 0..<3 {
            layer.zeroGrad()
            sum(layer(Variable(Tensor.normal([5, 8], generator: &g)))).backward()
            opt.step(layer.namedParameters)
            let kept = Mask(["weight": layer.weight.value.map { $0 != 0 ? 1 : 0 }])
            XCTAssertTrue(satisfiesNM(kept, pattern: p), "step \(step)")
        }
    }

    // MARK: MACs

    struct Tiny: Layer {
        let conv: Conv2d, fc: Linear
        func callAsFunction(_ x: Variable) -> Variable { fc(flatten(conv(x))) }
        var namedParameters: [(String, Variable)] { prefixed("conv", conv.namedParameters) + prefixed("fc", fc.namedParameters) }
    }

    func testMACs() throws {
        var g = Generator(seed: 0)
        let tiny = Tiny(conv: Conv2d(3, 4, kernel: 3, stride: 2, padding: 1, generator: &g), fc: Linear(36, 5, generator: &g))
        // conv: 4 filters · 3×3 outputs · 3·3·3 = 972; fc: 36·5 = 180.
        XCTAssertEqual(countMACs(tiny, inputShape: [3, 5, 5]).map(\.macs), [972, 180])
        // ResNet-20 on 32×32 with projection shortcuts, summed by hand from its layer shapes (see docs/structured.md).
        let resnet20 = try makeModel(.resnet20, inputShape: [3, 32, 32], classes: 10, generator: &g)
        XCTAssertEqual(countMACs(resnet20, inputShape: [3, 32, 32]).reduce(0) { $0 + $1.macs }, 40_813_184)
    }
}
