import XCTest
import ShearsNN
import ShearsPrune
import ShearsTensor

final class AllocationTests: XCTestCase {
    // Hand-made scores: a has 6 entries, b has 4.
    private let scores = ["a": tensor([2, 3], [0.1, 0.9, 0.5, 0.2, 0.8, 0.3]), "b": tensor([2, 2], [0.05, 0.01, 0.7, 0.02])]
    private let dense = Mask(["a": .ones([2, 3]), "b": .ones([2, 2])])

    func testGlobalRemovesLowestOverAllTensors() {
        // 10 alive, p = 0.5 → remove 5: b1 (0.01), b3 (0.02), b0 (0.05), a0 (0.1), a3 (0.2).
        let m = prune(scores: scores, mask: dense, fraction: 0.5, allocation: .global, shapes: [:])
        XCTAssertEqual(m["a"]!.scalars, [0, 1, 1, 0, 1, 1])
        XCTAssertEqual(m["b"]!.scalars, [0, 0, 1, 0])
    }

    func testLayerwiseRemovesSameFractionPerTensor() {
        // a loses ⌈0.5·6⌉ = 3: 0.1, 0.2, 0.3; b loses 2: 0.01, 0.02.
        let m = prune(scores: scores, mask: dense, fraction: 0.5, allocation: .layerwise, shapes: [:])
        XCTAssertEqual(m["a"]!.scalars, [0, 1, 1, 0, 1, 0])
        XCTAssertEqual(m["b"]!.scalars, [1, 0, 1, 0])
    }

    func testOnlyAliveWeightsAreRankedAndCounted() {
        // a1 (score 0.9, the best) is already pruned: it stays pruned and is not counted as remaining.
        var old = dense
        old["a"] = tensor([2, 3], [1, 0, 1, 1, 1, 1])
        // Global: 9 alive, ⌈4.5⌉ = 5 go: b1, b3, b0, a0, a3.
        let g = prune(scores: scores, mask: old, fraction: 0.5, allocation: .global, shapes: [:])
        XCTAssertEqual(g["a"]!.scalars, [0, 0, 1, 0, 1, 1])
        XCTAssertEqual(g["b"]!.scalars, [0, 0, 1, 0])
        // Layerwise: a has 5 alive, loses ⌈2.5⌉ = 3 (0.1, 0.2, 0.3); b loses 2.
        let l = prune(scores: scores, mask: old, fraction: 0.5, allocation: .layerwise, shapes: [:])
        XCTAssertEqual(l["a"]!.scalars, [0, 0, 1, 0, 1, 0])
        XCTAssertEqual(l["b"]!.scalars, [1, 0, 1, 0])
    }

    func testTiesBreakByNameThenIndex() {
        let s = ["b": Tensor.ones([2]), "a": Tensor.ones([4])]
        let m = Mask(["a": .ones([4]), "b": .ones([2])])
        let g = prune(scores: s, mask: m, fraction: 0.5, allocation: .global, shapes: [:])
        XCTAssertEqual(g["a"]!.scalars, [0, 0, 0, 1])
        XCTAssertEqual(g["b"]!.scalars, [1, 1])
        let l = prune(scores: s, mask: m, fraction: 0.5, allocation: .layerwise, shapes: [:])
        XCTAssertEqual(l["a"]!.scalars, [0, 0, 1, 1])
        XCTAssertEqual(l["b"]!.scalars, [0, 1])
    }

    /// p = 0.2 of the remaining weights per cycle: k = ⌈0.2·alive⌉ → 1000 → 800 → 640 → 512. Sizes are chosen
    /// so that every product is an integer for each tensor too (500 → 400 → 320 → 256): layerwise and ERK round
    /// per tensor, so with other sizes they may remove up to one more weight per tensor and cycle (e.g. 600 + 400
    /// gives 511 after 3 layerwise cycles: 307.2 and 204.8 are both rounded down).
    func testIterativeFractionOfRemaining() {
        let s = ["a": Tensor.uniform([500], generator: &rng), "b": Tensor.uniform([20, 25], generator: &rng)]
        for allocation in Allocation.allCases {
            var mask = Mask(["a": .ones([500]), "b": .ones([20, 25])])
            var densities: [Double] = []
            for _ in 0..<3 {
                let next = prune(scores: s, mask: mask, fraction: 0.2, allocation: allocation, shapes: ["a": [500], "b": [20, 25]])
                // Nested: nothing comes back to life.
                for n in mask.names { XCTAssertTrue(zip(mask[n]!.scalars, next[n]!.scalars).allSatisfy { $1 <= $0 }) }
                mask = next
                densities.append(mask.density)
            }
            XCTAssertEqual(densities, [0.8, 0.64, 0.512], "\(allocation)")
        }
        XCTAssertEqual(pruneCount(alive: 800, fraction: 0.2), 160, "0.2·800 is not rounded up to 161")
        XCTAssertEqual(pruneCount(alive: 7, fraction: 0.2), 2, "⌈1.4⌉")
        // Unequal sizes, global: still 1000 → 800 → 640 → 512, whatever the split between tensors.
        let s2 = ["a": Tensor.uniform([600], generator: &rng), "b": Tensor.uniform([20, 20], generator: &rng)]
        var mask = Mask(["a": .ones([600]), "b": .ones([20, 20])])
        var densities: [Double] = []
        for _ in 0..<3 {
            mask = prune(scores: s2, mask: mask, fraction: 0.2, allocation: .global, shapes: [:])
            densities.append(mask.density)
        }
        XCTAssertEqual(densities, [0.8, 0.64, 0.512])
    }
    private var rng = Generator(seed: 42)

    /// ERK by hand (Evci et al. 2020). raw = Σshape/Πshape:
    ///   A [4, 2, 3, 3]: n = 72, raw = 12/72 = 1/6   (raw·n = 12)
    ///   B [10, 4]:      n = 40, raw = 14/40 = 0.35  (raw·n = 14)
    ///   C [2, 10]:      n = 20, raw = 12/20 = 0.6   (raw·n = 12)
    /// Overall density 0.5 → keep 66 of 132. ε = 66/38 = 1.7368 would give C 1.042 > 1, so C is dense (20 kept)
    /// and the rest is re-solved: ε = 46/26 = 23/13; A = 23/78 = 0.294872, B = 0.35·23/13 = 0.619231.
    /// Kept counts: A 72·23/78 = 21.23, B 24.77, C 20; floors 21 + 24 + 20 = 65, the last unit goes to the largest
    /// fractional part (B) → 21, 25, 20.
    func testERKDensitiesByHand() {
        let shapes = ["A": [4, 2, 3, 3], "B": [10, 4], "C": [2, 10]]
        let d = erkDensities(shapes: shapes, density: 0.5)
        XCTAssertEqual(d["A"]!, 23.0 / 78, accuracy: 1e-12)
        XCTAssertEqual(d["B"]!, 0.35 * 23 / 13, accuracy: 1e-12)
        XCTAssertEqual(d["C"]!, 1)
        // Without C, density 0.3 of 112 = 33.6 kept, ε = 33.6/26: A = 0.215385, B = 0.452308 (none capped).
        let d2 = erkDensities(shapes: ["A": [4, 2, 3, 3], "B": [10, 4]], density: 0.3)
        XCTAssertEqual(d2["A"]!, 33.6 / 26 / 6, accuracy: 1e-12)
        XCTAssertEqual(d2["B"]!, 33.6 / 26 * 0.35, accuracy: 1e-12)

        var g = Generator(seed: 1)
        let s = shapes.mapValues { Tensor.uniform($0, generator: &g) }
        let mask = Mask(shapes.mapValues { Tensor.ones($0) })
        let m = prune(scores: s, mask: mask, fraction: 0.5, allocation: .erk, shapes: shapes)
        XCTAssertEqual(m.remaining("A"), 21)
        XCTAssertEqual(m.remaining("B"), 25)
        XCTAssertEqual(m.remaining("C"), 20)
        // Within a tensor the highest scores survive.
        let kept = zip(s["A"]!.scalars, m["A"]!.scalars).filter { $1 == 1 }.map(\.0)
        let cut = zip(s["A"]!.scalars, m["A"]!.scalars).filter { $1 == 0 }.map(\.0)
        XCTAssertGreaterThan(kept.min()!, cut.max()!)
    }

    /// A second ERK step never revives: a layer capped at its alive fraction is held there.
    func testERKRespectsNestedMasks() {
        let shapes = ["A": [4, 2, 3, 3], "B": [10, 4], "C": [2, 10]]
        var g = Generator(seed: 2)
        let s = shapes.mapValues { Tensor.uniform($0, generator: &g) }
        var mask = Mask(shapes.mapValues { Tensor.ones($0) })
        mask["C"] = tensor([2, 10], Array(repeating: 1, count: 5) + Array(repeating: 0, count: 15))
        let m = prune(scores: s, mask: mask, fraction: 0.25, allocation: .erk, shapes: shapes)
        XCTAssertEqual(m.remaining, 117 - 30)   // 117 alive, ⌈29.25⌉ = 30 go
        XCTAssertLessThanOrEqual(m.remaining("C"), 5)
        for n in mask.names { XCTAssertTrue(zip(mask[n]!.scalars, m[n]!.scalars).allSatisfy { $1 <= $0 }) }
    }
}
