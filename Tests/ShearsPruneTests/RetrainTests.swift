import Foundation
import XCTest
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class RetrainTests: XCTestCase {
    private func model(_ seed: UInt64) -> MLP {
        var g = Generator(seed: seed)
        return MLP(inputs: 6, hidden: [5], classes: 3, generator: &g)
    }

    private func train(_ m: MLP, steps: Int) {
        var opt = SGD(learningRate: 0.5, momentum: 0.9)
        for i in 0..<steps { computeGradients(m, randomBatch([4, 6], classes: 3, seed: UInt64(i))); opt.step(m.namedParameters) }
    }

    /// The snapshot is a value copy: training after it (and after restoring it) never changes it.
    func testSnapshotIsAValueCopy() {
        let m = model(1)
        let initial = m.namedParameters.map { $0.1.value.scalars }
        let snap = WeightSnapshot(m.namedParameters)
        train(m, steps: 3)
        XCTAssertNotEqual(m.namedParameters.map { $0.1.value.scalars }, initial)
        XCTAssertEqual(snap.entries.map { $0.1.scalars }, initial)
        snap.restore(into: m.namedParameters)
        XCTAssertEqual(m.namedParameters.map { $0.1.value.scalars }, initial)
        train(m, steps: 2)
        XCTAssertEqual(snap.entries.map { $0.1.scalars }, initial)
        XCTAssertEqual(snap.names, m.namedParameters.map(\.0))
    }

    func testPolicies() {
        let m = model(1)
        let sel = PrunableSelection().select(m)
        let theta0 = WeightSnapshot(m.namedParameters)
        train(m, steps: 3)
        let trained = m.namedParameters.map { $0.1.value.scalars }
        let mask = prune(scores: try! MagnitudeScore().scores(model: m, parameters: sel, mask: .ones(for: sel)),
                         mask: .ones(for: sel), fraction: 0.5, allocation: .global, shapes: [:])
        func maskedValues(_ values: [[Float]]) -> [[Float]] {
            zip(m.namedParameters, values).map { np, v in mask[np.0].map { zip($0.scalars, v).map { $0 == 0 ? 0 : $1 } } ?? v }
        }

        // IMP: survivors back to θ₀, schedule from 0.
        var plan = RetrainPolicy.rewindToInit.prepare(parameters: m.namedParameters, mask: mask, snapshot: theta0)
        XCTAssertEqual(plan, .init(startIteration: 0, constantLearningRate: nil))
        XCTAssertEqual(m.namedParameters.map { $0.1.value.scalars }, maskedValues(theta0.entries.map { $0.1.scalars }))

        // Rewind to k: the schedule resumes at k.
        XCTAssertEqual(RetrainPolicy.rewindTo(iteration: 5).snapshotIteration, 5)
        plan = RetrainPolicy.rewindTo(iteration: 5).prepare(parameters: m.namedParameters, mask: mask, snapshot: theta0)
        XCTAssertEqual(plan.startIteration, 5)

        // LR rewinding and fine-tuning keep the trained weights (masked).
        for (i, p) in m.namedParameters.enumerated() { p.1.value = tensor(p.1.shape, trained[i]) }
        plan = RetrainPolicy.lrRewind.prepare(parameters: m.namedParameters, mask: mask)
        XCTAssertEqual(plan, .init(startIteration: 0, constantLearningRate: nil))
        XCTAssertEqual(m.namedParameters.map { $0.1.value.scalars }, maskedValues(trained))
        plan = RetrainPolicy.fineTune(lr: 0.001).prepare(parameters: m.namedParameters, mask: mask)
        XCTAssertEqual(plan.constantLearningRate, 0.001)
        XCTAssertEqual(m.namedParameters.map { $0.1.value.scalars }, maskedValues(trained))

        // Random re-initialisation: a fresh model's values, masked.
        plan = RetrainPolicy.reinit(seed: 99).prepare(parameters: m.namedParameters, mask: mask,
                                                      reinitialized: { self.model($0).namedParameters })
        XCTAssertEqual(m.namedParameters.map { $0.1.value.scalars }, maskedValues(model(99).namedParameters.map { $0.1.value.scalars }))
    }

    func testPolicyCodable() throws {
        for p: RetrainPolicy in [.rewindToInit, .rewindTo(iteration: 500), .lrRewind, .fineTune(lr: 0.001), .reinit(seed: 3)] {
            XCTAssertEqual(try JSONDecoder().decode(RetrainPolicy.self, from: JSONEncoder().encode(p)), p)
        }
    }

    /// Per-layer rows add up to the global figures, at every cycle.
    func testSparsityReportAddsUp() throws {
        var g = Generator(seed: 4)
        let net = ResNetCIFAR(depth: 8, generator: &g)
        let sel = PrunableSelection().select(net)
        var mask = Mask.ones(for: sel)
        for cycle in 0..<3 {
            let s = try RandomScore(seed: UInt64(cycle)).scores(model: net, parameters: sel, mask: mask)
            mask = prune(scores: s, mask: mask, fraction: 0.2, allocation: .layerwise, shapes: [:])
            let r = SparsityReport(mask: mask, parameters: sel)
            XCTAssertEqual(r.rows.map(\.name), sel.map(\.0))
            XCTAssertEqual(r.rows.reduce(0) { $0 + $1.remaining }, r.totalRemaining)
            XCTAssertEqual(r.rows.reduce(0) { $0 + $1.total }, r.total)
            XCTAssertEqual(r.totalRemaining, mask.remaining)
            XCTAssertEqual(r.total, mask.total)
            XCTAssertEqual(r.density, mask.density)
            XCTAssertTrue(r.markdown.contains("| **total** | | \(r.totalRemaining) | \(r.total) |"))
            XCTAssertEqual(try JSONDecoder().decode(SparsityReport.self, from: JSONEncoder().encode(r)), r)
        }
        // Whole model: unmasked parameters count as dense.
        let whole = SparsityReport(mask: mask, parameters: net.namedParameters)
        XCTAssertEqual(whole.total, net.parameterCount)
        XCTAssertEqual(whole.totalRemaining, net.parameterCount - (mask.total - mask.remaining))
    }
}
