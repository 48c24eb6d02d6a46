import Foundation
import XCTest
@testable import ShearsOptim

/// Table 1's baseline schedules (shared/spec/scyc.md §1.4) with the paper's parameters (§1.5), against values computed
/// by hand at the start, the peaks, the drops and the end of a cycle.
final class CyclicScheduleTests: XCTestCase {
    /// LR decay (3e-2, 63K), ResNet-20: a·(1 − t/b).
    func testLinearDecay() {
        let s = LinearDecayLR(start: 3e-2, length: 63_000)
        XCTAssertEqual(s.rate(at: 0), 3e-2)                                 // start: a
        XCTAssertEqual(s.rate(at: 31_500), 1.5e-2, accuracy: 1e-15)         // half way: a/2
        XCTAssertEqual(s.rate(at: 21_000), 2e-2, accuracy: 1e-15)           // one third: 2a/3
        XCTAssertEqual(s.rate(at: 62_999), 3e-2 / 63_000, accuracy: 1e-15)  // last iteration of the cycle: a/b
        XCTAssertEqual(s.rate(at: 63_000), 0)                               // end: 0
        XCTAssertEqual(s.rate(at: 100_000), 0)                              // clamped at 0, never negative
        XCTAssertEqual(s.rate(at: -5), 3e-2)                                // negative t is t = 0
        XCTAssertEqual(s.learningRate(iteration: 31_500, cycle: 4), Float(1.5e-2), accuracy: 1e-9)
    }

    /// Cyclical LR (0, 3e-2, 8K), ResNet-20: triangle 0 → 3e-2 over 8K iterations, back to 0 at 16K, and again.
    func testTriangularCyclic() {
        let s = TriangularCyclicLR(lower: 0, upper: 3e-2, stepSize: 8_000)
        XCTAssertEqual(s.rate(at: 0), 0)                                    // start at the lower bound
        XCTAssertEqual(s.rate(at: 2_000), 7.5e-3, accuracy: 1e-15)          // quarter way up
        XCTAssertEqual(s.rate(at: 8_000), 3e-2, accuracy: 1e-15)            // peak at c
        XCTAssertEqual(s.rate(at: 12_000), 1.5e-2, accuracy: 1e-15)         // half way down
        XCTAssertEqual(s.rate(at: 16_000), 0, accuracy: 1e-15)              // back at a after 2c
        XCTAssertEqual(s.rate(at: 24_000), 3e-2, accuracy: 1e-15)           // second peak at 3c
        // End of the 63K cycle: 62 999 = 3·16K + 14 999, i.e. 1 001 iterations before the 4th trough: 3e-2·1001/8000.
        XCTAssertEqual(s.rate(at: 62_999), 3e-2 * 1_001 / 8_000, accuracy: 1e-15)
        // 63K = 3·16K + 15K: 15K into a period is 1K before its end, so (1/8)·3e-2.
        XCTAssertEqual(s.rate(at: 63_000), 3e-2 / 8, accuracy: 1e-15)
        // Periodic with period 2c.
        for t in stride(from: 0, to: 16_000, by: 997) {
            XCTAssertEqual(s.rate(at: t), s.rate(at: t + 32_000), accuracy: 1e-15)
        }
        // A non-zero lower bound: VGG-19 uses (0, 3e-2, 15K); with (1e-3, 3e-2, 15K) the mid-ramp is the average.
        let v = TriangularCyclicLR(lower: 1e-3, upper: 3e-2, stepSize: 15_000)
        XCTAssertEqual(v.rate(at: 0), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 7_500), (1e-3 + 3e-2) / 2, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 15_000), 3e-2, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 30_000), 1e-3, accuracy: 1e-15)
    }

    /// LR warmup (3e-2, 20K, 20K, 25K, Nil), ResNet-20 LR-warmup-1: ramp 0 → 3e-2 over 20K, ÷10 at 20K and 25K, so the
    /// peak is never held (spec §1.4).
    func testWarmupResNet20() {
        let s = WarmupLR(peak: 3e-2, warmup: 20_000, drops: [20_000, 25_000])
        XCTAssertEqual(s.rate(at: 0), 0)                                    // start from 0
        XCTAssertEqual(s.rate(at: 5_000), 7.5e-3, accuracy: 1e-15)          // a·5K/20K
        XCTAssertEqual(s.rate(at: 19_999), 3e-2 * 0.99995, accuracy: 1e-15) // just below the peak
        XCTAssertEqual(s.rate(at: 20_000), 3e-3, accuracy: 1e-15)           // peak reached and first drop: a/10
        XCTAssertEqual(s.rate(at: 24_999), 3e-3, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 25_000), 3e-4, accuracy: 1e-15)           // second drop: a/100
        XCTAssertEqual(s.rate(at: 62_999), 3e-4, accuracy: 1e-15)           // end of the 63K cycle
        XCTAssertEqual(s.breakpoints(iterations: 63_000), [0, 19_999, 20_000, 24_999, 25_000, 62_999])
    }

    /// LR warmup (1e-1, 4K, 23K, 46K, 62K), ResNet-50 LR-warmup-1: three drops, 70K iterations.
    func testWarmupResNet50ThreeDrops() {
        let s = WarmupLR(peak: 1e-1, warmup: 4_000, drops: [62_000, 23_000, 46_000])   // order does not matter
        XCTAssertEqual(s.drops, [23_000, 46_000, 62_000])
        XCTAssertEqual(s.rate(at: 0), 0)
        XCTAssertEqual(s.rate(at: 1_000), 2.5e-2, accuracy: 1e-15)          // a/4
        XCTAssertEqual(s.rate(at: 4_000), 1e-1, accuracy: 1e-15)            // peak
        XCTAssertEqual(s.rate(at: 22_999), 1e-1, accuracy: 1e-15)           // held at the peak
        XCTAssertEqual(s.rate(at: 23_000), 1e-2, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 46_000), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 62_000), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 69_999), 1e-4, accuracy: 1e-15)           // end of the 70K cycle
        XCTAssertEqual(s.breakpoints(iterations: 70_000), [0, 4_000, 22_999, 23_000, 45_999, 46_000, 61_999, 62_000, 69_999])
    }

    /// VGG-19 LR-warmup-2 (4e-2, 10K, 32K, 48K, Nil); a drop inside the ramp scales the ramp; b = 0 means no ramp.
    func testWarmupEdgeCases() {
        let v = WarmupLR(peak: 4e-2, warmup: 10_000, drops: [32_000, 48_000])
        XCTAssertEqual(v.rate(at: 10_000), 4e-2, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 31_999), 4e-2, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 32_000), 4e-3, accuracy: 1e-15)
        XCTAssertEqual(v.rate(at: 48_000), 4e-4, accuracy: 1e-15)
        let inside = WarmupLR(peak: 1, warmup: 100, drops: [50])
        XCTAssertEqual(inside.rate(at: 49), 0.49, accuracy: 1e-15)
        XCTAssertEqual(inside.rate(at: 50), 0.05, accuracy: 1e-15)
        XCTAssertEqual(inside.rate(at: 100), 0.1, accuracy: 1e-15)
        let noRamp = WarmupLR(peak: 0.5, warmup: 0, drops: [])
        XCTAssertEqual(noRamp.rate(at: 0), 0.5)
        XCTAssertEqual(noRamp.rate(at: 1_000_000), 0.5)
        XCTAssertEqual(noRamp.breakpoints(iterations: 10), [0, 9])
        XCTAssertEqual(noRamp.breakpoints(iterations: 0), [])
        XCTAssertEqual(noRamp.breakpoints(iterations: 1), [0])
    }

    /// Every baseline is pure and rewound per pruning cycle: the rate depends on the within-cycle iteration only, the
    /// same for every cycle and in any evaluation order.
    func testPureAndRewoundEveryCycle() {
        let schedules: [any LRSchedule] = [
            ConstantLR(1e-2),
            LinearDecayLR(start: 3e-2, length: 63_000),
            TriangularCyclicLR(lower: 0, upper: 3e-2, stepSize: 8_000),
            WarmupLR(peak: 7e-2, warmup: 20_000, drops: [20_000, 25_000]),
        ]
        let ts = [0, 1, 7_999, 8_000, 19_999, 20_000, 25_000, 62_999]
        for s in schedules {
            let cycle0 = ts.map { s.learningRate(iteration: $0, cycle: 0) }
            for m in 1..<25 {
                XCTAssertEqual(ts.map { s.learningRate(iteration: $0, cycle: m) }, cycle0, "\(type(of: s)) cycle \(m)")
            }
            XCTAssertEqual(ts.reversed().map { s.learningRate(iteration: $0, cycle: 3) }.reversed(), cycle0)
            XCTAssertEqual(s.learningRate(iteration: 20_000), s.learningRate(iteration: 20_000, cycle: 0))
        }
    }
}
