import Foundation
import XCTest
import ShearsOptim
import ShearsTensor

/// gRDA (shared/spec/grda.md §1.2) against hand-derived numbers and the spec's worked values.
final class GRDATests: XCTestCase {
    private func param(_ values: [Float]) -> Variable { Variable(Tensor(shape: [values.count], scalars: values), requiresGrad: true) }

    /// c = 0.1, μ = ½, γ = 0.25, so γ^{μ+½} = 0.25 and τ_n = 0.1·0.25·√n = 0.025·√n:
    /// τ₁ = 0.025, τ₂ = 0.0353553, τ₃ = 0.0433013.
    ///
    ///   w₀ = [1, −0.02, 0.03],  a₀ = w₀
    ///   g₁ = [0.4, 0, −0.2]:   a₁ = [0.9, −0.02, 0.08]   w₁ = S_0.025(a₁)      = [0.875, 0, 0.055]
    ///   g₂ = [0.2, −0.2, 0.4]: a₂ = [0.85, 0.03, −0.02]  w₂ = S_0.0353553(a₂)  = [0.8146447, 0, 0]
    ///   g₃ = [−0.4, −0.4, 0]:  a₃ = [0.95, 0.13, −0.02]  w₃ = S_0.0433013(a₃)  = [0.9066987, 0.0866987, 0]
    ///
    /// The second weight is 0 after steps 1 and 2 and comes back at step 3 (no persistent mask); the gradient is taken
    /// at the thresholded weights, but the accumulator keeps the dense sum.
    func testHandComputedThreeSteps() {
        var opt = GRDA(learningRate: 0.25, c: 0.1, mu: 0.5)
        let p = param([1, -0.02, 0.03])
        let grads: [[Float]] = [[0.4, 0, -0.2], [0.2, -0.2, 0.4], [-0.4, -0.4, 0]]
        let expectedW: [[Float]] = [[0.875, 0, 0.055], [0.8146447, 0, 0], [0.9066987, 0.0866987, 0]]
        let expectedA: [[Float]] = [[0.9, -0.02, 0.08], [0.85, 0.03, -0.02], [0.95, 0.13, -0.02]]
        let expectedTau = [0.025, 0.025 * 2.0.squareRoot(), 0.025 * 3.0.squareRoot()]
        for k in 0..<3 {
            p.grad = Tensor(shape: [3], scalars: grads[k])
            opt.step([("w", p)])
            for (got, want) in zip(p.value.scalars, expectedW[k]) { XCTAssertEqual(got, want, accuracy: 1e-6, "w after step \(k + 1)") }
            for (got, want) in zip(opt.accumulators["w"]!.scalars, expectedA[k]) { XCTAssertEqual(got, want, accuracy: 1e-6, "a after step \(k + 1)") }
            XCTAssertEqual(opt.thresholds["w"]!, expectedTau[k], accuracy: 1e-15)
            XCTAssertEqual(opt.steps["w"], k + 1)
        }
        // Exact zeros, not tiny numbers.
        XCTAssertEqual(p.value.scalars[2], 0)
    }

    /// c = 0 is SGD: the same float32 trajectory, step for step, with a changing learning rate.
    func testZeroCIsPlainSGDExactly() {
        var g = Generator(seed: 11)
        let shape = [7, 5]
        let w0 = Tensor.normal(shape, generator: &g)
        let a = Variable(w0, requiresGrad: true), b = Variable(w0, requiresGrad: true)
        var grda = GRDA(learningRate: 0.1, c: 0, mu: 0.55)
        var sgd = SGD(learningRate: 0.1)
        for k in 0..<6 {
            let grad = Tensor.normal(shape, generator: &g)
            let lr: Float = k < 3 ? 0.1 : 0.013
            grda.learningRate = lr; sgd.learningRate = lr
            a.grad = grad; b.grad = grad
            grda.step([("w", a)]); sgd.step([("w", b)])
            XCTAssertEqual(a.value.scalars, b.value.scalars, "step \(k + 1)")
        }
        XCTAssertEqual(grda.thresholds["w"], 0)
    }

    /// With a constant γ the accumulated threshold telescopes to eq. (5): τ_n = c·√γ·(nγ)^μ.
    func testConstantRateThresholdIsTheTuningFunction() {
        for (c, mu, gamma) in [(0.005, 0.55, 0.1), (0.001, 0.501, 0.1), (0.0005, 0.7, 0.05)] {
            var opt = GRDA(learningRate: Float(gamma), c: c, mu: mu)
            let p = param([0.5, -0.5])
            for n in 1...200 {
                p.grad = Tensor(shape: [2], scalars: [0.01, -0.01])
                opt.step([("w", p)])
                if [1, 2, 10, 57, 200].contains(n) {
                    // γ is handed to the optimizer as Float: use the same value in the closed form.
                    let expected = GRDA.tuningFunction(c: c, mu: mu, step: n, learningRate: Double(Float(gamma)))
                    XCTAssertEqual(opt.thresholds["w"]!, expected, accuracy: 1e-12 * expected, "c=\(c) μ=\(mu) n=\(n)")
                }
            }
        }
        // The spec's worked first-step value: c = 0.005, γ = 0.1, μ = 0.55 gives τ₁ = c·γ^{μ+½} = 4.456e-4.
        XCTAssertEqual(GRDA.tuningFunction(c: 0.005, mu: 0.55, step: 1, learningRate: 0.1), 4.456e-4, accuracy: 1e-7)
    }

    /// Constant-and-drop (spec §1.2): after the drop τ keeps accumulating increments at the new rate; it is not the
    /// closed form recomputed with the new rate. The spec's ImageNet simulation (140 epochs at 0.1, 10 at 0.01, 5,005
    /// steps an epoch, c = 0.005) reaches τ = 0.7337 (μ = 0.55), 0.425 (μ = 0.501) and 3.91 (μ = 0.7) in float64.
    func testLearningRateDropKeepsAccumulating() {
        // Small run through the optimizer: 30 steps at 0.1, then 20 at 0.01.
        let (c, mu) = (0.005, 0.55)
        var opt = GRDA(learningRate: 0.1, c: c, mu: mu)
        let p = param([1])
        for n in 1...50 {
            opt.learningRate = n <= 30 ? 0.1 : 0.01
            p.grad = Tensor(shape: [1], scalars: [0])
            opt.step([("w", p)])
        }
        let g1 = Double(Float(0.1)), g2 = Double(Float(0.01))
        let expected = c * pow(g1, mu + 0.5) * pow(30, mu) + c * pow(g2, mu + 0.5) * (pow(50, mu) - pow(30, mu))
        XCTAssertEqual(opt.thresholds["w"]!, expected, accuracy: 1e-13)
        let beforeDrop = GRDA.tuningFunction(c: c, mu: mu, step: 30, learningRate: g1)
        let recomputed = GRDA.tuningFunction(c: c, mu: mu, step: 50, learningRate: g2)
        XCTAssertGreaterThan(opt.thresholds["w"]!, beforeDrop)          // still growing after the drop
        XCTAssertGreaterThan(opt.thresholds["w"]!, 5 * recomputed)      // far above the recomputed closed form
        // The weight is the accumulator (1, no gradient) shrunk by τ.
        XCTAssertEqual(Double(p.value.scalars[0]), 1 - expected, accuracy: 1e-7)

        // The spec's ImageNet numbers, from the increments the optimizer adds.
        let grda = GRDA(learningRate: 0.1, c: 0.005, mu: 0.55)
        for (mu, want, tol) in [(0.55, 0.7337, 1e-4), (0.501, 0.425, 1e-3), (0.7, 3.91, 1e-2)] {
            let o = GRDA(learningRate: 0.1, c: 0.005, mu: mu)
            var tau = 0.0
            for n in 1...750_750 { tau += o.thresholdIncrement(step: n, learningRate: n <= 700_700 ? 0.1 : 0.01) }
            XCTAssertEqual(tau, want, accuracy: tol, "μ = \(mu)")
        }
        XCTAssertEqual(grda.thresholdIncrement(step: 1, learningRate: 0.1), 4.4562546906687e-4, accuracy: 1e-15)
    }

    /// State round trip: an optimizer rebuilt from `state` continues bit-identically, τ and n included.
    func testCheckpointedStateResumesBitIdentically() throws {
        var g = Generator(seed: 12)
        let w0 = Tensor.normal([4, 3], generator: &g), b0 = Tensor.normal([4], generator: &g)
        let grads = (0..<10).map { _ in (Tensor.normal([4, 3], generator: &g), Tensor.normal([4], generator: &g)) }
        func run(resumeAt: Int?) throws -> ([Float], [Float], Double) {
            let w = Variable(w0, requiresGrad: true), b = Variable(b0, requiresGrad: true)
            var opt = GRDA(learningRate: 0.3, c: 0.07, mu: 0.61)
            for (k, (gw, gb)) in grads.enumerated() {
                if k == resumeAt {
                    // Through the checkpoint path: state → fresh optimizer (as loaded from safetensors).
                    let saved = opt.state
                    XCTAssertEqual(Set(saved.keys), ["accumulator/w", "accumulator/b", "step/w", "step/b", "threshold/w", "threshold/b"])
                    opt = GRDA(learningRate: 0.3, c: 0.07, mu: 0.61)
                    try opt.loadState(saved)
                    XCTAssertEqual(opt.steps["w"], k)
                }
                opt.learningRate = k < 5 ? 0.3 : 0.03
                w.grad = gw; b.grad = gb
                opt.step([("w", w), ("b", b)])
            }
            return (w.value.scalars, b.value.scalars, opt.thresholds["w"]!)
        }
        let straight = try run(resumeAt: nil)
        for k in [1, 5, 7] {
            let resumed = try run(resumeAt: k)
            XCTAssertEqual(resumed.0, straight.0); XCTAssertEqual(resumed.1, straight.1)
            XCTAssertEqual(resumed.2.bitPattern, straight.2.bitPattern)
        }
    }

    func testBadStateIsRefusedNamingTheEntry() {
        var opt = GRDA(learningRate: 0.1, c: 0.01, mu: 0.6)
        XCTAssertThrowsError(try opt.loadState(["momentum_buffer/w": Tensor.zeros([2])])) { e in
            XCTAssertTrue("\(e)".contains("momentum_buffer/w"), "\(e)")
        }
        XCTAssertThrowsError(try opt.loadState(["accumulator/w": Tensor.zeros([2]), "step/w": Tensor.zeros([1]),
                                                "threshold/w": Tensor.zeros([4])])) { e in
            XCTAssertTrue("\(e)".contains("step/w"), "\(e)")
        }
        XCTAssertThrowsError(try opt.loadState(["accumulator/w": Tensor.zeros([2])])) { e in
            XCTAssertTrue("\(e)".contains("incomplete") && "\(e)".contains("w"), "\(e)")
        }
    }

    /// Excluded tensors (biases, batch norm) get SGD; the others are thresholded.
    func testUnthresholdedParametersGetSGD() {
        var opt = GRDA(learningRate: 0.5, c: 1, mu: 0.5, unthresholded: ["b"])
        let w = param([0.1, 2]), b = param([0.1, 2])
        w.grad = Tensor(shape: [2], scalars: [0, 0]); b.grad = Tensor(shape: [2], scalars: [0, 0])
        opt.step([("w", w), ("b", b)])
        // τ₁ = 1·0.5^1·1 = 0.5: w = [0, 1.5]; b is untouched by the threshold.
        XCTAssertEqual(w.value.scalars, [0, 1.5])
        XCTAssertEqual(b.value.scalars, [0.1, 2])
        XCTAssertNil(opt.accumulators["b"])
        XCTAssertEqual(Set(opt.state.keys), ["accumulator/w", "step/w", "threshold/w"])
    }
}
