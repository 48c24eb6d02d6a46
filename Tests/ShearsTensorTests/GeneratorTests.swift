// The seeded random stream (xoshiro256** seeded by SplitMix64).

import XCTest
@testable import ShearsTensor

final class GeneratorTests: XCTestCase {

    /// PINNED STREAM. These are the first outputs of `Generator(seed: 42).next()`, computed once (and checked
    /// against an independent Python implementation of SplitMix64 seeding + xoshiro256**). Every seeded result
    /// in Shears (weight init, data order, dropout masks, pruning ties) depends on this stream, so any change
    /// to it — even a "harmless" refactor of the seeding — must fail here. Do not update these numbers unless
    /// the change of stream is intended and announced (it invalidates every recorded seeded run).
    func testPinnedStreamForSeed42() {
        var g = Generator(seed: 42)
        let expected: [UInt64] = [
            0x1578_0B2E_0C2E_C716,
            0x6104_D986_6D11_3A7E,
            0xAE17_5332_39E4_99A1,
            0xECB8_AD47_03B3_60A1,
            0xFDE6_DC7F_E2EC_5E64,
        ]
        XCTAssertEqual((0..<5).map { _ in g.next() }, expected)
        // The derived floats follow from the top bits of the same stream.
        var f = Generator(seed: 42)
        XCTAssertEqual(f.nextFloat(), Float(expected[0] >> 40) * 0x1p-24)
        XCTAssertEqual(f.nextDouble(), Double(expected[1] >> 11) * 0x1p-53)
    }

    func testSameSeedSameStream() {
        var a = Generator(seed: 7), b = Generator(seed: 7)
        for _ in 0..<1000 { XCTAssertEqual(a.next(), b.next()) }
        XCTAssertEqual(a, b)
        var c = Generator(seed: 7), d = Generator(seed: 7)
        XCTAssertEqual((0..<100).map { _ in c.nextNormal() }, (0..<100).map { _ in d.nextNormal() })
        XCTAssertEqual(c.permutation(50), d.permutation(50))
    }

    func testDifferentSeedsDiffer() {
        let seeds: [UInt64] = [0, 1, 2, 42, 43, .max]
        var firsts = Set<UInt64>()
        for s in seeds {
            var g = Generator(seed: s)
            let stream = (0..<4).map { _ in g.next() }
            XCTAssertTrue(firsts.insert(stream[0]).inserted, "seed \(s) repeats another seed's first value")
        }
        var a = Generator(seed: 1), b = Generator(seed: 2)
        let sa = (0..<64).map { _ in a.next() }, sb = (0..<64).map { _ in b.next() }
        XCTAssertEqual(zip(sa, sb).filter { $0 == $1 }.count, 0)
        // Seed 0 still gives a non-degenerate state (xoshiro must never be all zero).
        var z = Generator(seed: 0)
        XCTAssertFalse(z.state.allSatisfy { $0 == 0 })
        XCTAssertNotEqual(z.next(), z.next())
    }

    func testForkIsDeterministicAndIndependent() {
        var a = Generator(seed: 11), b = Generator(seed: 11)
        var fa = a.fork(), fb = b.fork()
        XCTAssertEqual(fa, fb, "fork is deterministic")
        XCTAssertEqual((0..<10).map { _ in fa.next() }, (0..<10).map { _ in fb.next() })
        // The parent advanced by exactly one draw and both parents still agree.
        var ref = Generator(seed: 11)
        _ = ref.next()
        XCTAssertEqual(a, ref)
        XCTAssertEqual(a.next(), b.next())
        // The child's stream is not the parent's.
        var child = Generator(seed: 11).forked()
        var parent = Generator(seed: 11)
        let cs = (0..<16).map { _ in child.next() }, ps = (0..<16).map { _ in parent.next() }
        XCTAssertEqual(Set(cs).intersection(ps).count, 0)
        // Successive forks differ.
        var p = Generator(seed: 3)
        var c1 = p.fork(), c2 = p.fork()
        XCTAssertNotEqual(c1.next(), c2.next())
    }

    func testNextIntInRangeAndRoughlyUniform() {
        var g = Generator(seed: 5)
        for n in [1, 2, 3, 7, 10, 1000, Int(Int32.max)] {
            for _ in 0..<200 {
                let k = g.nextInt(below: n)
                XCTAssertTrue(k >= 0 && k < n, "nextInt(below: \(n)) gave \(k)")
            }
        }
        // χ² over 10 buckets with 100k draws: 9 degrees of freedom, 99.99th percentile ≈ 33.7.
        let buckets = 10, draws = 100_000
        var counts = [Int](repeating: 0, count: buckets)
        for _ in 0..<draws { counts[g.nextInt(below: buckets)] += 1 }
        let expected = Double(draws) / Double(buckets)
        let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        XCTAssertLessThan(chi2, 33.7, "counts \(counts)")
        // A non-power-of-two bound: 3 buckets.
        var c3 = [0, 0, 0]
        for _ in 0..<30_000 { c3[g.nextInt(below: 3)] += 1 }
        for c in c3 { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
    }

    func testPermutationIsAPermutation() {
        var g = Generator(seed: 9)
        for n in [0, 1, 2, 5, 100, 1000] {
            let p = g.permutation(n)
            XCTAssertEqual(p.count, n)
            XCTAssertEqual(p.sorted(), Array(0..<n))
        }
        XCTAssertNotEqual(g.permutation(100), Array(0..<100))
        // Every position is roughly uniform: the first element of permutation(4) over many draws.
        var firsts = [Int](repeating: 0, count: 4)
        for _ in 0..<8000 { firsts[g.permutation(4)[0]] += 1 }
        for c in firsts { XCTAssertEqual(Double(c), 2000, accuracy: 250) }
    }

    func testNormalAndUniformMoments() {
        var g = Generator(seed: 13)
        let n = 100_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n { let x = g.nextNormal(); s += x; s2 += x * x }
        let mean = s / Double(n), std = (s2 / Double(n) - mean * mean).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.015)   // σ/√n ≈ 0.003
        XCTAssertEqual(std, 1, accuracy: 0.015)
        var u = 0.0, lo = Float(1), hi = Float(0)
        for _ in 0..<n {
            let x = g.nextFloat()
            u += Double(x); lo = min(lo, x); hi = max(hi, x)
            XCTAssertTrue(x >= 0 && x < 1)
        }
        XCTAssertEqual(u / Double(n), 0.5, accuracy: 0.005)
        XCTAssertLessThan(lo, 0.001)
        XCTAssertGreaterThan(hi, 0.999)
        for _ in 0..<1000 { let d = g.nextDouble(); XCTAssertTrue(d >= 0 && d < 1) }
    }

    func testCodableRoundTripKeepsTheStream() throws {
        var g = Generator(seed: 21)
        _ = g.next()
        let data = try JSONEncoder().encode(g)
        var h = try JSONDecoder().decode(Generator.self, from: data)
        XCTAssertEqual(g, h)
        XCTAssertEqual(g.next(), h.next())
    }
}

private extension Generator {
    /// A fork taken from a copy, leaving `self` alone.
    func forked() -> Generator {
        var copy = self
        return copy.fork()
    }
}
