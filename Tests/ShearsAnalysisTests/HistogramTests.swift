import XCTest
@testable import ShearsAnalysis

final class HistogramTests: XCTestCase {
    func testSturgesBinCounts() {
        XCTAssertEqual(Histogram.sturgesBinCount(1), 1)
        XCTAssertEqual(Histogram.sturgesBinCount(2), 2)
        XCTAssertEqual(Histogram.sturgesBinCount(100), 8)
        XCTAssertEqual(Histogram.sturgesBinCount(1000), 11)
        XCTAssertEqual(Histogram.sturgesBinCount(1024), 11)
        XCTAssertEqual(Histogram.sturgesBinCount(1025), 12)
        for (n, k) in [(1, 1), (2, 2), (100, 8), (1000, 11)] {
            // Spread values (a deterministic permutation of 0..<n, scaled), so that min < max for n ≥ 2.
            let values = (0..<n).map { Float(($0 * 37) % n) * 0.25 - 3 }
            let h = Histogram.sturges(values)
            XCTAssertEqual(h.binCount, k, "n = \(n)")
            XCTAssertEqual(h.edges.count, k + 1)
            XCTAssertEqual(h.counts.reduce(0, +), n, "counts add up to n")
            XCTAssertEqual(h.total, n)
            XCTAssertEqual(h.underflow + h.overflow, 0)
            if n >= 2 {
                XCTAssertEqual(h.edges.first, Double(values.min()!))
                XCTAssertEqual(h.edges.last, Double(values.max()!))
                XCTAssertGreaterThan(h.counts.last!, 0, "the maximum falls in the last bin")
                // Equal widths.
                let w = h.widths
                XCTAssertEqual(w.max()! - w.min()!, 0, accuracy: 1e-9 * w[0])
                // Sturges density integrates to 1.
                XCTAssertEqual(zip(h.density, w).reduce(0) { $0 + $1.0 * $1.1 }, 1, accuracy: 1e-12)
            }
        }
    }

    func testHandMadeBinsAndStatistics() {
        // 8 values (k = 4 bins over [0, 8], width 2).
        let v: [Float] = [0, 1, 2, 3, 3, 5, 7, 8]
        let h = Histogram.sturges(v)
        XCTAssertEqual(h.edges, [0, 2, 4, 6, 8])
        XCTAssertEqual(h.counts, [2, 3, 1, 2])   // 2 → bin 1, 8 (the max) → last bin
        XCTAssertEqual(h.mean, 29.0 / 8)
        // Population variance: Σ(x − 3.625)² / 8 = 55.875 / 8.
        XCTAssertEqual(h.std, (55.875 / 8).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(h.min, 0)
        XCTAssertEqual(h.max, 8)
        XCTAssertEqual(h.density, [2.0 / 16, 3.0 / 16, 1.0 / 16, 2.0 / 16])
        XCTAssertEqual(h.centres, [1, 3, 5, 7])
    }

    func testTailMass() {
        // 98 zeros and ±10: mean 0, std = √(200/100) = √2; |±10| > 3·√2 ≈ 4.24, so the 3σ tail is 2 %.
        let v = [Float](repeating: 0, count: 98) + [10, -10]
        let h = Histogram.sturges(v)
        XCTAssertEqual(h.mean, 0)
        XCTAssertEqual(h.std, 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(h.tailMass(), 0.02)
        XCTAssertEqual(h.tailMass(k: 1), 0.02)
        XCTAssertEqual(h.tailMass(k: 5), 0.02)   // 5·√2 ≈ 7.07 < 10
        // k = 7.5: 7.5·√2 ≈ 10.6 > 10, nothing outside; not a stored threshold, so estimated from the bins.
        XCTAssertEqual(h.tailMass(k: 7.5), 0, accuracy: 1e-12)
        // Bin estimate for a non-stored k on uniform data: values 0…999, |x − 499.5| > 2.5·std.
        let u = Histogram.sturges((0..<1000).map { Float($0) })
        let exact = Double((0..<1000).filter { abs(Double($0) - 499.5) > 1.5 * u.std }.count) / 1000
        XCTAssertEqual(u.tailMass(k: 1.5), exact, accuracy: 0.01)
    }

    func testFixedEdgesWithUnderAndOverflow() {
        let v: [Float] = [-5, -1, -0.5, 0, 0.5, 1, 1, 2, 9, .nan]
        let h = Histogram.fixed(v, edges: [-1, 0, 1])
        XCTAssertEqual(h.counts, [2, 4])      // [-1, 0): -1, -0.5; [0, 1]: 0, 0.5, 1, 1
        XCTAssertEqual(h.underflow, 1)        // -5
        XCTAssertEqual(h.overflow, 2)         // 2, 9
        XCTAssertEqual(h.nonFinite, 1)
        XCTAssertEqual(h.total, 9)
        XCTAssertEqual(h.counts.reduce(0, +) + h.underflow + h.overflow, h.total)
        XCTAssertEqual(h.mean, 7.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(h.density, [2.0 / 9, 4.0 / 9])
        // Non-uniform edges.
        let g = Histogram.fixed([0.1, 0.2, 0.5, 3], edges: [0, 0.25, 4])
        XCTAssertEqual(g.counts, [2, 2])
        XCTAssertEqual(g.density, [2 / (4 * 0.25), 2 / (4 * 3.75)])
        // Common bins across cycles.
        let edges = Histogram.sturgesEdges([-1, 0, 1, 2])
        XCTAssertEqual(Histogram.fixed([-1, 0, 1, 2], edges: edges), Histogram.sturges([-1, 0, 1, 2]))
    }

    func testEmptyAndConstantInputs() {
        let e = Histogram.sturges([])
        XCTAssertEqual(e.counts, [0])
        XCTAssertEqual(e.edges, [0, 1])
        XCTAssertEqual(e.total, 0)
        XCTAssertEqual(e.mean, 0)
        XCTAssertEqual(e.std, 0)
        XCTAssertEqual(e.density, [0])
        XCTAssertEqual(e.tailMass(), 0)
        XCTAssertEqual(e.tailMass(k: 2.5), 0)
        let ef = Histogram.fixed([], edges: [0, 1, 2])
        XCTAssertEqual(ef.counts, [0, 0])
        XCTAssertEqual(ef.density, [0, 0])

        let c = Histogram.sturges([Float](repeating: 0.1, count: 50))
        XCTAssertEqual(c.binCount, 1)
        XCTAssertEqual(c.counts, [50])
        XCTAssertEqual(c.edges, [Double(Float(0.1)) - 0.5, Double(Float(0.1)) + 0.5])
        XCTAssertEqual(c.mean, Double(Float(0.1)))
        XCTAssertEqual(c.std, 0)
        XCTAssertEqual(c.density, [1])
        XCTAssertEqual(c.tailMass(), 0)
        XCTAssertEqual(c.tailMass(k: 0.5), 0)
        XCTAssertTrue(c.density.allSatisfy(\.isFinite))

        let one = Histogram.sturges([3])
        XCTAssertEqual(one.counts, [1])
        XCTAssertEqual(one.std, 0)
        XCTAssertEqual(fractionOutside([], -1...1), 0)
        XCTAssertEqual(fractionOutside([-2, 0, 0.5, 3], -1...1), 0.5)
    }

    func testCodableRoundTrip() throws {
        let h = Histogram.fixed([-2, 0, 1, 5], edges: [-1, 0, 1, 2])
        let back = try JSONDecoder().decode(Histogram.self, from: JSONEncoder().encode(h))
        XCTAssertEqual(back, h)
    }
}
