import XCTest
import ShearsData
import ShearsNN
import ShearsPrune
import ShearsTensor

final class ScoreTests: XCTestCase {
    // A 3 → 2 linear model with fixed weights, and two batches.
    private let w0: [[Double]] = [[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]]
    private let b0: [Double] = [0.1, -0.1]
    private let w0Flat: [Float] = [0.5, -0.2, 0.1, 0.3, 0.4, -0.6]
    private let batches = [
        Batch(images: tensor([1, 3], [1, 2, -1]), labels: [0], indices: [0]),
        Batch(images: tensor([2, 3], [0.5, -1, 2, 1, 0, 1]), labels: [1, 0], indices: [1, 2]),
    ]

    private func tinyModel() -> MLP {
        var g = Generator(seed: 0)
        let m = MLP(inputs: 3, hidden: [], classes: 2, generator: &g)
        m.layers[0].weight.value = tensor([2, 3], w0Flat)
        m.layers[0].bias!.value = tensor([2], [0.1, -0.1])
        return m
    }

    /// ∂(mean CE)/∂W by hand: (1/N) Σ_i (softmax(W x_i + b) − onehot(y_i)) x_iᵀ, with W masked by `keep`.
    private func handGradient(_ batch: Batch, keep: [[Double]]) -> [[Double]] {
        let x: [Double] = batch.images.scalars.map { Double($0) }
        let n = batch.labels.count
        var g = [[Double]](repeating: [0, 0, 0], count: 2)
        for i in 0..<n {
            let xi: [Double] = Array(x[(3 * i)..<(3 * i + 3)])
            var z: [Double] = [0, 0]
            for r in 0..<2 {
                z[r] = b0[r]
                for c in 0..<3 { z[r] += w0[r][c] * keep[r][c] * xi[c] }
            }
            let top = max(z[0], z[1])
            let e: [Double] = [exp(z[0] - top), exp(z[1] - top)]
            let s = e[0] + e[1]
            for r in 0..<2 {
                let d: Double = e[r] / s - (Int(batch.labels[i]) == r ? 1 : 0)
                for c in 0..<3 { g[r][c] += d * xi[c] / Double(n) }
            }
        }
        return g
    }

    /// |w ⊙ (g1 + g2) · scale| ⊙ keep, flattened row-major.
    private func wTimes(_ g1: [[Double]], _ g2: [[Double]], scale: Double, keep: [[Double]]) -> [Double] {
        var out: [Double] = []
        for r in 0..<2 { for c in 0..<3 { out.append(abs(w0[r][c] * (g1[r][c] + g2[r][c]) * scale) * keep[r][c]) } }
        return out
    }

    func testGradientScoreIsMeanWTimesGradByHand() throws {
        let model = tinyModel()
        let sel = PrunableSelection().select(model)   // fc1.weight
        XCTAssertEqual(sel.map(\.0), ["fc1.weight"])
        let ones = [[1.0, 1, 1], [1, 1, 1]]
        let g1 = handGradient(batches[0], keep: ones), g2 = handGradient(batches[1], keep: ones)
        let s = try GradientScore(batches: batches).scores(model: model, parameters: sel, mask: .ones(for: sel))
        let expected = wTimes(g1, g2, scale: 0.5, keep: ones)
        for (a, b) in zip(s["fc1.weight"]!.scalars, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
        XCTAssertNil(model.layers[0].weight.grad, "scoring leaves no gradients behind")
    }

    func testSNIPIsNormalisedWTimesSummedGradAtMaskedWeights() throws {
        let model = tinyModel()
        let sel = PrunableSelection().select(model)
        var mask = Mask.ones(for: sel)
        mask["fc1.weight"] = tensor([2, 3], [1, 0, 1, 1, 1, 1])
        let keep = [[1.0, 0, 1], [1, 1, 1]]
        let g1 = handGradient(batches[0], keep: keep), g2 = handGradient(batches[1], keep: keep)
        var raw = wTimes(g1, g2, scale: 1, keep: keep)
        let total = raw.reduce(0, +)
        raw = raw.map { $0 / total }
        let s = try SNIPScore(batches: batches).scores(model: model, parameters: sel, mask: mask)["fc1.weight"]!.scalars
        for (a, b) in zip(s, raw) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
        XCTAssertEqual(Double(s.reduce(0, +)), 1, accuracy: 1e-6)
        XCTAssertEqual(s[1], 0)
        // The model is untouched: the masked weight is still there (pruning never mutates weights).
        XCTAssertEqual(model.layers[0].weight.value.scalars, w0Flat)
        // One-batch initialiser.
        let one = try SNIPScore(batch: batches[0]).scores(model: model, parameters: sel, mask: .ones(for: sel))
        XCTAssertEqual(Double(one["fc1.weight"]!.sum()), 1, accuracy: 1e-6)
    }

    /// Train-mode scoring moves batch-norm running statistics; the score must put them back.
    func testScoringDoesNotChangeResNetState() throws {
        var g = Generator(seed: 5)
        let model = ResNetCIFAR(depth: 8, generator: &g)
        let before = model.stateDict.map { $0.1.value.scalars }
        let sel = PrunableSelection().select(model)
        let s = try SNIPScore(batch: randomBatch([2, 3, 32, 32], classes: 10, seed: 1)).scores(model: model, parameters: sel, mask: .ones(for: sel))
        XCTAssertEqual(Set(s.keys), Set(sel.map(\.0)))
        XCTAssertTrue(s.values.allSatisfy(\.isFinite))
        XCTAssertEqual(model.stateDict.map { $0.1.value.scalars }, before)
        XCTAssertTrue(model.namedParameters.allSatisfy { $0.1.grad == nil })
    }

    func testMagnitudeScore() throws {
        let w = Variable(tensor([2, 2], [-3, 1, 0, -0.5]), requiresGrad: true)
        var g = Generator(seed: 0)
        let s = try MagnitudeScore().scores(model: MLP(inputs: 1, hidden: [], classes: 1, generator: &g),
                                            parameters: [("w", w)], mask: .ones(for: [("w", w)]))
        XCTAssertEqual(s["w"]!.scalars, [3, 1, 0, 0.5])
    }

    func testRandomScoreIsDeterministicPerSeed() throws {
        var g = Generator(seed: 0)
        let model = MLP(inputs: 8, hidden: [6], classes: 3, generator: &g)
        let sel = PrunableSelection().select(model)
        let a = try RandomScore(seed: 7).scores(model: model, parameters: sel, mask: .ones(for: sel))
        let b = try RandomScore(seed: 7).scores(model: model, parameters: sel, mask: .ones(for: sel))
        let c = try RandomScore(seed: 8).scores(model: model, parameters: sel, mask: .ones(for: sel))
        for n in sel.map(\.0) {
            XCTAssertEqual(a[n]!.scalars, b[n]!.scalars)
            XCTAssertNotEqual(a[n]!.scalars, c[n]!.scalars)
            XCTAssertTrue(a[n]!.scalars.allSatisfy { $0 >= 0 && $0 < 1 })
        }
    }

    /// Li et al. 2017: filter score = L1 norm; pruning removes whole output filters, per layer.
    func testL1FilterPruningRemovesWholeFilters() throws {
        // Filters (out channels) of a [3, 2, 1, 1] kernel: L1 = 2, 0.75, 3.
        let conv = Variable(tensor([3, 2, 1, 1], [1, -1, 0.5, 0.25, -3, 0]), requiresGrad: true)
        let fc = Variable(tensor([2, 3], [0, 0, 0, 1, 1, 1]), requiresGrad: true)
        let params = [("conv.weight", conv), ("fc.weight", fc)]
        var g = Generator(seed: 0)
        let dummy = MLP(inputs: 1, hidden: [], classes: 1, generator: &g)
        let s = try L1FilterScore().scores(model: dummy, parameters: params, mask: .ones(for: params))
        XCTAssertEqual(s["conv.weight"]!.scalars, [2, 2, 0.75, 0.75, 3, 3])
        XCTAssertEqual(s["fc.weight"]!.scalars, [0, 0, 0, 3, 3, 3])
        // ⌈1/3 · 3⌉ = 1 filter goes: filter 1. The linear layer is not touched (convOnly).
        let m1 = pruneFilters(scores: s, mask: .ones(for: params), fraction: 1.0 / 3, convOnly: true)
        XCTAssertEqual(m1["conv.weight"]!.scalars, [1, 1, 0, 0, 1, 1])
        XCTAssertEqual(m1["fc.weight"]!.scalars, [1, 1, 1, 1, 1, 1])
        // Next cycle: 2 alive filters, ⌈0.5 · 2⌉ = 1 goes: filter 0 (2 < 3).
        let m2 = pruneFilters(scores: s, mask: m1, fraction: 0.5)
        XCTAssertEqual(m2["conv.weight"]!.scalars, [0, 0, 0, 0, 1, 1])
        // With convOnly: false, rows of the linear weight are filters too.
        let m3 = pruneFilters(scores: s, mask: .ones(for: params), fraction: 0.5, convOnly: false)
        XCTAssertEqual(m3["fc.weight"]!.scalars, [0, 0, 0, 1, 1, 1])
    }
}
