import Foundation
import XCTest
import ShearsData
import ShearsNN
@testable import ShearsPrune
import ShearsTensor

final class CriterionRegistryTests: XCTestCase {
    /// SynFlow by hand: with |W1| = [[1, 2], [3, 0.5]], |W2| = [1, 2] and x = 1, the hidden flow is |W1|·1 = [3, 3.5]
    /// and R = 1·3 + 2·3.5 = 10. ∂R/∂W1_ij = |W2_i|·x_j, so S(W1) = |W1| ⊙ [[1, 1], [2, 2]] = [[1, 2], [6, 1]];
    /// ∂R/∂W2_i = h_i, so S(W2) = [1·3, 2·3.5] = [3, 7]. The network's signed weights come back afterwards.
    func testSynFlowScoreMatchesTheHandComputedFlow() throws {
        let net = TwoLayerNet(w1: [1, -2, 3, 0.5], w2: [-1, 2], relu: true)
        let params = net.namedParameters
        let scores = try SynFlowScore(inputShape: [2]).scores(model: net, parameters: params, mask: Mask.ones(for: params))
        XCTAssertEqual(scores["l1.weight"]!.scalars, [1, 2, 6, 1])
        XCTAssertEqual(scores["l2.weight"]!.scalars, [3, 7])
        XCTAssertEqual(net.l1.weight.value.scalars, [1, -2, 3, 0.5], "weights restored")
        XCTAssertNil(net.l1.weight.grad)
        // A pruned weight carries no flow: with W1_11 = 0, S(W1_11) = 0 and R's paths through hidden unit 0 shrink.
        var mask = Mask.ones(for: params)
        mask.tensors["l1.weight"] = Tensor(shape: [2, 2], scalars: [0, 1, 1, 1])
        let pruned = try SynFlowScore(inputShape: [2]).scores(model: net, parameters: params, mask: mask)
        XCTAssertEqual(pruned["l1.weight"]!.scalars, [0, 2, 6, 1])
        XCTAssertEqual(pruned["l2.weight"]!.scalars, [2, 7])   // h = [0·1 + 2·1, 3.5]
    }

    /// Algorithm 1: the density follows density^(k/n) and the final mask keeps ⌈density · N⌉ weights.
    func testIterativeSynFlowReachesTheTargetDensity() throws {
        var g = Generator(seed: 3)
        let net = MLP(inputs: 16, hidden: [12], classes: 4, generator: &g)
        let weights = PrunableSelection().select(net)
        let mask = try synFlowPrune(model: net, parameters: weights, mask: Mask.ones(for: weights), density: 0.1, rounds: 10, inputShape: [1, 4, 4])
        XCTAssertEqual(mask.remaining, keepCount(total: mask.total, density: 0.1))
        for (name, p) in weights {
            let m = mask[name]!.scalars, w = p.value.scalars
            XCTAssertTrue(zip(m, w).allSatisfy { $0 == 1 || $1 == 0 }, "pruned weights are zeroed")
        }
        XCTAssertThrowsError(try synFlowPrune(model: net, parameters: weights, mask: mask, density: 0, inputShape: [1, 4, 4]))
    }

    func testEveryCriterionIsReachableByNameAndUnknownNamesAreListed() throws {
        var g = Generator(seed: 1)
        let net = MLP(inputs: 4, hidden: [3], classes: 2, generator: &g)
        let weights = PrunableSelection().select(net)
        let batch = Batch(images: Tensor.normal([5, 4], generator: &g), labels: [0, 1, 0, 1, 1], indices: Array(0..<5))
        let context = ScoringContext(batches: { [batch] }, seed: 7, phase: .training, inputShape: [4])
        XCTAssertEqual(Set(CriterionRegistry.names), ["magnitude", "gradient", "snip", "random", "l1-filter", "synflow", "grasp"])
        for name in CriterionRegistry.names {
            let scores = try CriterionRegistry.make(name, context).scores(model: net, parameters: weights, mask: Mask.ones(for: weights))
            XCTAssertEqual(Set(scores.keys), Set(weights.map(\.0)), name)
            for (n, p) in weights { XCTAssertEqual(scores[n]!.shape, p.shape, name) }
        }
        XCTAssertThrowsError(try CriterionRegistry.make("taylor", context)) { XCTAssertTrue("\($0)".contains("magnitude, gradient")) }
        XCTAssertThrowsError(try CriterionRegistry.make("snip", ScoringContext())) { XCTAssertTrue("\($0)".contains("batch")) }
        XCTAssertThrowsError(try CriterionRegistry.make("synflow", ScoringContext())) { XCTAssertTrue("\($0)".contains("input shape")) }
    }
}
