// MaskedOptimizer.sparseUpdate (ShearsPrune/MaskedOptimizer.swift, SGDEntrywise.swift): updating only the kept
// entries gives the same bits as the dense masked step — weights and momentum buffers — for every SGD variant,
// across a mask change, with gradients that are nonzero at pruned entries (as a dense backward leaves them).

import XCTest
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class SparseUpdateTests: XCTestCase {
    func randomMask(_ shape: [Int], keep: Double, _ g: inout Generator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Double(g.nextFloat()) < keep ? 1 : 0 })
    }

    func testSparseUpdateIsBitIdenticalToTheDenseMaskedUpdate() {
        let variants: [(String, SGD)] = [
            ("plain", SGD(learningRate: 0.1, weightDecay: 1e-3)),
            ("momentum", SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)),
            ("dampening", SGD(learningRate: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 5e-4)),
            ("nesterov", SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true)),
        ]
        for (label, sgd) in variants {
            var g = Generator(seed: 8301)
            let shapes = [("fc1.weight", [30, 20]), ("fc1.bias", [30]), ("conv.weight", [4, 3, 3, 3])]
            let initial = shapes.map { ($0.0, Tensor.normal($0.1, generator: &g)) }
            func params() -> [(String, Variable)] { initial.map { ($0.0, Variable($0.1, requiresGrad: true)) } }
            let (dense, sparse) = (params(), params())
            var mask = Mask(["fc1.weight": randomMask([30, 20], keep: 0.3, &g), "conv.weight": randomMask([4, 3, 3, 3], keep: 0.5, &g)])
            var a = MaskedOptimizer(sgd, mask: mask), b = MaskedOptimizer(sgd, mask: mask)
            b.sparseUpdate = true
            for step in 0..<6 {
                if step == 3 {   // a pruning event: a nested, sparser mask
                    mask = Mask(mask.tensors.mapValues { m in Tensor(shape: m.shape, scalars: m.scalars.map { $0 * (g.nextFloat() < 0.5 ? 1 : 0) }) })
                    a.mask = mask
                    b.mask = mask
                }
                for ((_, pd), (_, ps)) in zip(dense, sparse) {
                    let grad = Tensor.normal(pd.shape, generator: &g)
                    pd.grad = grad
                    ps.grad = grad
                }
                a.step(dense)
                b.step(sparse)
                for ((name, pd), (_, ps)) in zip(dense, sparse) {
                    XCTAssertEqual(ps.value.scalars, pd.value.scalars, "\(label) step \(step): \(name) bit-identical")
                }
                XCTAssertEqual(a.state.keys.sorted(), b.state.keys.sorted())
                for (key, t) in a.state { XCTAssertEqual(b.state[key]?.scalars, t.scalars, "\(label) step \(step): \(key)") }
            }
            XCTAssertEqual(b.sparseSteps, 4, "\(label): every step but the first under each mask was sparse")
            XCTAssertEqual(a.sparseSteps, 0)
            for (name, p) in sparse where mask[name] != nil {
                XCTAssertTrue(zip(p.value.scalars, mask[name]!.scalars).allSatisfy { $1 != 0 || $0 == 0 }, "\(label): \(name) pruned entries stay 0")
            }
        }
    }
}
