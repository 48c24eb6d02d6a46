import XCTest
import ShearsData
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class MaskedOptimizerTests: XCTestCase {
    /// Trains dense for 3 steps (so momentum/moments are non-zero everywhere), prunes half the weights by
    /// magnitude without touching the model, hands the wrapper the new mask, and trains 5 more steps: every
    /// pruned weight must be exactly 0 after every step, and so must the state at pruned positions.
    private func check<O: Optimizer>(_ base: O, model: any Layer, batches: [Batch], file: StaticString = #filePath, line: UInt = #line) throws {
        let sel = PrunableSelection().select(model)
        var opt = MaskedOptimizer(base, mask: .ones(for: sel))
        let params = model.namedParameters
        for b in batches.prefix(3) { computeGradients(model, b); opt.step(params) }
        XCTAssertTrue(opt.state.values.contains { $0.withUnsafeBufferPointer { $0.contains { $0 != 0 } } }, file: file, line: line)

        let scores = try MagnitudeScore().scores(model: model, parameters: sel, mask: opt.mask)
        let mask = prune(scores: scores, mask: opt.mask, fraction: 0.5, allocation: .global, shapes: [:])
        opt.mask = mask
        let alive = Dictionary(uniqueKeysWithValues: sel.map { ($0.0, $0.1.value) })
        for b in batches.dropFirst(3) {
            computeGradients(model, b)
            opt.step(params)
            for (name, p) in sel {
                let m = mask[name]!.scalars, w = p.value.scalars
                XCTAssertTrue(zip(m, w).allSatisfy { $0 == 1 || $1 == 0 }, "\(name): a pruned weight is non-zero", file: file, line: line)
            }
            for (key, t) in opt.state {
                let name = String(key.split(separator: "/", maxSplits: 1)[1])
                guard let m = mask[name], m.shape == t.shape else { continue }
                XCTAssertTrue(zip(m.scalars, t.scalars).allSatisfy { $0 == 1 || $1 == 0 }, "\(key): state at a pruned entry", file: file, line: line)
            }
        }
        // Survivors kept training.
        for (name, p) in sel {
            let moved = zip(zip(mask[name]!.scalars, alive[name]!.scalars), p.value.scalars).contains { $0.0 == 1 && $0.1 != $1 }
            XCTAssertTrue(moved, "\(name): no surviving weight moved", file: file, line: line)
        }
        XCTAssertEqual(mask.remaining, mask.total / 2, "⌈N/2⌉ removed", file: file, line: line)
    }

    private func mlpCase() -> (MLP, [Batch]) {
        var g = Generator(seed: 11)
        let model = MLP(inputs: 12, hidden: [16, 8], classes: 4, generator: &g)
        return (model, (0..<8).map { randomBatch([8, 12], classes: 4, seed: 100 + UInt64($0)) })
    }

    func testSGDMomentumWeightDecay() throws {
        let (m, b) = mlpCase()
        try check(SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4), model: m, batches: b)
    }

    func testSGDNesterov() throws {
        let (m, b) = mlpCase()
        try check(SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true), model: m, batches: b)
    }

    func testAdamWithWeightDecay() throws {
        let (m, b) = mlpCase()
        try check(Adam(learningRate: 1e-2, weightDecay: 1e-2), model: m, batches: b)
    }

    func testRMSpropWithMomentumAndWeightDecay() throws {
        let (m, b) = mlpCase()
        try check(RMSprop(learningRate: 1e-2, weightDecay: 1e-2, momentum: 0.9), model: m, batches: b)
    }

    func testResNetCIFAR8WithSGD() throws {
        var g = Generator(seed: 3)
        let model = ResNetCIFAR(depth: 8, generator: &g)
        let batches = (0..<5).map { randomBatch([2, 3, 16, 16], classes: 10, seed: 200 + UInt64($0)) }
        try check(SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4), model: model, batches: batches)
    }

    /// With a dense mask the wrapper is the base optimizer, bit for bit; the existential helper works too.
    func testDenseMaskIsTransparent() {
        let (m1, batches) = mlpCase()
        var g = Generator(seed: 11)
        let m2 = MLP(inputs: 12, hidden: [16, 8], classes: 4, generator: &g)
        var plain = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
        var wrapped: any Optimizer = masked(SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4),
                                            mask: .ones(for: PrunableSelection().select(m2)))
        wrapped.learningRate = 0.1
        for b in batches {
            computeGradients(m1, b); plain.step(m1.namedParameters)
            computeGradients(m2, b); wrapped.step(m2.namedParameters)
        }
        XCTAssertEqual(m1.namedParameters.map { $0.1.value.scalars }, m2.namedParameters.map { $0.1.value.scalars })
        XCTAssertEqual(Set(plain.state.keys), Set(wrapped.state.keys))
    }
}
