import XCTest
import ShearsData
import ShearsNN
@testable import ShearsPrune
import ShearsTensor

/// L = ½ f(x)², the squared error against the target y = 0.
private func halfSquaredOutput(_ model: any Layer, _ batch: Batch) -> Variable {
    let f = model(Variable(batch.images))
    return scale(sum(mul(f, f)), by: 0.5)
}

final class GraSPScoreTests: XCTestCase {
    /// One example x = [1, 1]; W1 = [[1, 0], [1, 1]], w2 = [1, −1]; L = ½ r², r = w2ᵀ W1 x − y with y = 0.
    ///
    /// W1 x = [1, 2], so r = 1 − 2 = −1. With ∇r = (∂r/∂W1, ∂r/∂w2) = (w2 xᵀ, W1 x):
    ///   g = r ∇r:            g_W1 = −[[1, 1], [−1, −1]] = [[−1, −1], [1, 1]],   g_w2 = −[1, 2]
    ///   H = ∇r ∇rᵀ + r ∇²r,  r bilinear, so (∇²r v)_W1 = v_w2 xᵀ and (∇²r v)_w2 = V_W1 x.
    ///   ∇rᵀ g = r ‖∇r‖² = r (‖w2‖²‖x‖² + ‖W1 x‖²) = −1 · (2·2 + 5) = −9
    ///   (H g)_W1 = −9 · w2 xᵀ + r · (r W1 x) xᵀ = −9 [[1, 1], [−1, −1]] + [[1, 1], [2, 2]] = [[−8, −8], [11, 11]]
    ///   (H g)_w2 = −9 · W1 x + r · (r w2 xᵀ) x = −9 [1, 2] + 2 [1, −1] = [−7, −20]
    ///   θ ⊙ H g:  W1 → [[−8, 0], [11, 11]],  w2 → [−7, 20]
    /// The paper's S = −θ ⊙ Hg is the negation; our score is θ ⊙ Hg (higher = kept).
    func testScoreIsThetaTimesHessianGradientByHand() throws {
        let net = TwoLayerNet(w1: [1, 0, 1, 1], w2: [1, -1], relu: false)
        let params = net.namedParameters
        let batch = Batch(images: Tensor(shape: [1, 2], scalars: [1, 1]), labels: [0], indices: [0])
        let score = GraSPScore(batches: [batch], lossOf: halfSquaredOutput)
        let s = try score.scores(model: net, parameters: params, mask: Mask.ones(for: params))
        // The central difference is O(ε²) off for this quartic loss (ε ≈ 5e-3) and float32 rounds the gradients.
        for (got, want) in zip(s["l1.weight"]!.scalars, [-8, 0, 11, 11] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.02) }
        for (got, want) in zip(s["l2.weight"]!.scalars, [-7, 20] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.02) }
        XCTAssertEqual(net.l1.weight.value.scalars, [1, 0, 1, 1], "weights restored")
        XCTAssertNil(net.l1.weight.grad, "gradients restored")

        // Orientation: pruning half globally removes the paper's three highest S = −θ ⊙ Hg (8, 7 and 0), keeping W1[1, ·] and w2[1].
        let shapes = Dictionary(uniqueKeysWithValues: params.map { ($0.0, $0.1.shape) })
        let mask = prune(scores: s, mask: Mask.ones(for: params), fraction: 0.5, allocation: .global, shapes: shapes)
        XCTAssertEqual(mask["l1.weight"]!.scalars, [0, 0, 1, 1])
        XCTAssertEqual(mask["l2.weight"]!.scalars, [0, 1])
    }

    /// Two batches: the score uses the mean gradient and the mean Hessian. With x₁ = [1, 1] (r₁ = −1, as above) and
    /// x₂ = [1, 0] (W1 x₂ = [1, 1], r₂ = 0), ḡ = ½ g₁ (g₂ = 0), and H₂ = ∇r₂∇r₂ᵀ (r₂ = 0). With ∇r₂ = (w2 x₂ᵀ, W1 x₂):
    ///   ∇r₂ᵀ ḡ = ½ (⟨w2 x₂ᵀ, g₁_W1⟩ + ⟨W1 x₂, g₁_w2⟩) = ½ ((−1 − 1) + (−1 − 2)) = −2.5
    ///   H₂ ḡ: W1 → −2.5 · w2 x₂ᵀ = [[−2.5, 0], [2.5, 0]],  w2 → −2.5 · [1, 1]
    ///   H₁ ḡ = ½ H₁ g₁ = [[−4, −4], [5.5, 5.5]], [−3.5, −10]
    ///   H̄ ḡ = ½ (H₁ ḡ + H₂ ḡ) = [[−3.25, −2], [4, 2.75]], [−3, −6.25];  θ ⊙ H̄ ḡ = [[−3.25, 0], [4, 2.75]], [−3, 6.25]
    func testTwoBatchesAverageGradientAndHessian() throws {
        let net = TwoLayerNet(w1: [1, 0, 1, 1], w2: [1, -1], relu: false)
        let params = net.namedParameters
        let batches = [Batch(images: Tensor(shape: [1, 2], scalars: [1, 1]), labels: [0], indices: [0]),
                       Batch(images: Tensor(shape: [1, 2], scalars: [1, 0]), labels: [0], indices: [1])]
        let s = try GraSPScore(batches: batches, lossOf: halfSquaredOutput).scores(model: net, parameters: params, mask: Mask.ones(for: params))
        for (got, want) in zip(s["l1.weight"]!.scalars, [-3.25, 0, 4, 2.75] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.02) }
        for (got, want) in zip(s["l2.weight"]!.scalars, [-3, 6.25] as [Float]) { XCTAssertEqual(got, want, accuracy: 0.02) }
    }

    func testRegisteredAndNeedsBatches() throws {
        XCTAssertTrue(CriterionRegistry.isKnown("grasp"))
        XCTAssertThrowsError(try CriterionRegistry.make("grasp", ScoringContext())) {
            XCTAssertTrue("\($0)".contains("grasp criterion needs at least one scoring batch"), "\($0)")
        }
    }

    /// The default loss is the cross-entropy of the logits divided by the temperature (the authors' T = 200): the same
    /// scores as that loss given explicitly, and other scores than at T = 1.
    func testTemperatureDividesTheLogits() throws {
        var g = Generator(seed: 3)
        let net = try makeModel(.lenet300100, inputShape: [1, 4, 4], classes: 3, generator: &g)
        let params = net.namedParameters.filter { $0.1.shape.count == 2 }
        let batch = Batch(images: Tensor.normal([6, 1, 4, 4], generator: &g), labels: [0, 1, 2, 0, 1, 2], indices: Array(0..<6))
        let mask = Mask.ones(for: params)
        let byTemperature = try GraSPScore(batches: [batch], temperature: 5).scores(model: net, parameters: params, mask: mask)
        let explicit = try GraSPScore(batches: [batch], lossOf: { m, b in
            softmaxCrossEntropy(logits: scale(m(Variable(b.images)), by: 0.2), labels: b.labels)
        }).scores(model: net, parameters: params, mask: mask)
        let plain = try GraSPScore(batches: [batch], temperature: 1).scores(model: net, parameters: params, mask: mask)
        for (name, _) in params {
            XCTAssertEqual(byTemperature[name]!.scalars, explicit[name]!.scalars, name)
            XCTAssertNotEqual(byTemperature[name]!.scalars, plain[name]!.scalars, name)
        }
    }
}
