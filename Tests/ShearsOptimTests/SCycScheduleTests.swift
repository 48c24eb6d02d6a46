import Foundation
import XCTest
@testable import ShearsOptim

/// Eq. 2 of S-Cyc (shared/spec/scyc.md §1.1) against the paper's own S-Cyc max_lr rows (§1.2, §2.5) and against
/// values derived by hand.
final class SCycScheduleTests: XCTestCase {
    /// The oracle tables' columns P_m = 100, 64, 51.3, 41.1, 32.9, 21.1, 5.72 are cycles m = 0, 2, 3, 4, 5, 7, 13
    /// (spec §2.6: P_m = 100·0.8^m).
    static let columns = [0, 2, 3, 4, 5, 7, 13]

    /// A paper row: values in units of 1e-2, as printed (the paper truncates, so the printed string fixes the
    /// precision: "4.02" means the true value lies in [4.02, 4.03)).
    struct Row { let table: String; let lMin, lAmp: Double; let q: Int; let beta: Double; let printed: [String] }

    static let rows = [
        Row(table: "T7 ResNet-20 / global gradient", lMin: 3e-2, lAmp: 4e-2, q: 1, beta: 5,
            printed: ["3", "3", "3.2", "4.7", "6.4", "6.9", "6.99"]),
        // q = 1, not the q = 2 printed in Tables 2(b)/10 (spec §1.2; see testVGG19WithPrintedQ2DoesNotMatchTable3).
        Row(table: "T3 VGG-19 / layer gradient", lMin: 4e-2, lAmp: 6e-2, q: 1, beta: 4,
            printed: ["4", "4.02", "4.5", "6.7", "8.8", "9.9", "9.99"]),
        Row(table: "T8 ResNet-50 / IMP", lMin: 5e-2, lAmp: 5e-2, q: 2, beta: 5,
            printed: ["5", "5", "5", "5.2", "7.2", "9.8", "9.9"]),
    ]

    static func decimals(_ s: String) -> Int { s.split(separator: ".").dropFirst().first?.count ?? 0 }

    /// Truncated to the printed precision, Eq. 2 gives exactly the printed value: paper ≤ ours < paper + 10^−d.
    func testEq2ReproducesEveryPaperMaxLR() {
        var report = ["table\tm\tpaper(1e-2)\tours(1e-2)"]
        var checked = 0
        for row in Self.rows {
            XCTAssertEqual(row.printed.count, Self.columns.count)
            for (m, printed) in zip(Self.columns, row.printed) {
                let ours = sCycMaxLR(cycle: m, rate: 0.2, q: row.q, beta: row.beta, lMin: row.lMin, lAmp: row.lAmp) * 100
                let paper = Double(printed)!, ulp = pow(10, -Double(Self.decimals(printed)))
                XCTAssertGreaterThanOrEqual(ours, paper - 1e-9, "\(row.table) m=\(m): paper \(printed), ours \(ours)")
                XCTAssertLessThan(ours, paper + ulp, "\(row.table) m=\(m): paper \(printed), ours \(ours)")
                report.append("\(row.table)\t\(m)\t\(printed)\t\(String(format: "%.6f", ours))")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 21)
        print(report.joined(separator: "\n"))
    }

    /// The spec's "pred" rows of §1.2 (Eq. 2 rounded to 3 decimals, units of 1e-2).
    func testEq2MatchesSpecPredictions() {
        let pred: [[Double]] = [
            [3.000, 3.004, 3.213, 4.761, 6.446, 6.977, 7.000],
            [4.000, 4.023, 4.546, 6.713, 8.871, 9.906, 10.000],
            [5.000, 5.000, 5.005, 5.267, 7.201, 9.866, 10.000],
        ]
        for (row, expected) in zip(Self.rows, pred) {
            for (m, e) in zip(Self.columns, expected) {
                let ours = sCycMaxLR(cycle: m, rate: 0.2, q: row.q, beta: row.beta, lMin: row.lMin, lAmp: row.lAmp) * 100
                XCTAssertEqual(ours, e, accuracy: 0.0005 + 1e-12, "\(row.table) m=\(m)")
            }
        }
    }

    /// With the q = 2 printed in Tables 2(b)/10, VGG-19's prediction departs from Table 3 (spec §1.2: 9.68 vs 8.8 at
    /// m = 5), which is why we use q = 1.
    func testVGG19WithPrintedQ2DoesNotMatchTable3() {
        let m5 = sCycMaxLR(cycle: 5, rate: 0.2, q: 2, beta: 4, lMin: 4e-2, lAmp: 6e-2) * 100
        XCTAssertEqual(m5, 6.713, accuracy: 0.001)   // q = 2 shifts the q = 1 curve one cycle later
        XCTAssertFalse(m5 >= 8.8 && m5 < 8.9)
        XCTAssertEqual(sCycMaxLR(cycle: 7, rate: 0.2, q: 2, beta: 4, lMin: 4e-2, lAmp: 6e-2) * 100, 9.68, accuracy: 0.005)
    }

    /// Hand-derived values (spec §1.1).
    func testHandDerivedValues() {
        // At m = q + 1, x = 1 − 0.8 = 0.2, x/(1−x) = 1/4, so S = 1/(1 + 4^β): 1/1025 ≈ 0.098 % for β = 5 and
        // 1/257 ≈ 0.39 % for β = 4.
        XCTAssertEqual(sShape(0.2, beta: 5), 1.0 / 1025, accuracy: 1e-15)
        XCTAssertEqual(sShape(0.2, beta: 4), 1.0 / 257, accuracy: 1e-15)
        for q in 0...3 {
            XCTAssertEqual(sCycMaxLR(cycle: q + 1, rate: 0.2, q: q, beta: 5, lMin: 0.03, lAmp: 0.04),
                           0.03 + 0.04 / 1025, accuracy: 1e-15)
            XCTAssertEqual(sCycMaxLR(cycle: q + 1, rate: 0.2, q: q, beta: 4, lMin: 0.04, lAmp: 0.06),
                           0.04 + 0.06 / 257, accuracy: 1e-15)
            // No Growth: every m ≤ q gives l_min exactly.
            for m in 0...q { XCTAssertEqual(sCycMaxLR(cycle: m, rate: 0.2, q: q, beta: 5, lMin: 0.03, lAmp: 0.04), 0.03) }
        }
        // The S is symmetric about x = ½ (S(½) = ½ for every β; S(x) + S(1 − x) = 1) and saturates at l_min + l_amp.
        for beta in [1.0, 3, 4, 5, 6] {
            XCTAssertEqual(sShape(0.5, beta: beta), 0.5, accuracy: 1e-15)
            XCTAssertEqual(sShape(0.3, beta: beta) + sShape(0.7, beta: beta), 1, accuracy: 1e-15)
        }
        // β = 1 is the identity: S(x) = x.
        XCTAssertEqual(sShape(0.36, beta: 1), 0.36, accuracy: 1e-15)
        // m − q = 2: x = 0.36, x/(1−x) = 0.5625, S = 1/(1 + 0.5625^−5) = 0.5625^5/(1 + 0.5625^5).
        let r5 = pow(0.5625, 5.0)
        XCTAssertEqual(sCycMaxLR(cycle: 3, rate: 0.2, q: 1, beta: 5, lMin: 0.03, lAmp: 0.04), 0.03 + 0.04 * r5 / (1 + r5), accuracy: 1e-15)
        // Far beyond the fast growth the rate is l_min + l_amp (the ceiling, not l_amp alone).
        XCTAssertEqual(sCycMaxLR(cycle: 60, rate: 0.2, q: 1, beta: 5, lMin: 0.03, lAmp: 0.04), 0.07, accuracy: 1e-12)
        // Endpoints and degenerate inputs do not divide by zero.
        XCTAssertEqual(sShape(0, beta: 5), 0)
        XCTAssertEqual(sShape(1, beta: 5), 1)
        XCTAssertEqual(sCycMaxLR(cycle: 5, rate: 0, q: 0, beta: 5, lMin: 0.03, lAmp: 0.04), 0.03)   // p = 0: nothing pruned
        XCTAssertEqual(sCycMaxLR(cycle: 5000, rate: 0.9, q: 0, beta: 5, lMin: 0.03, lAmp: 0.04), 0.07)
    }

    /// max_lr never decreases with m and stays within [l_min, l_min + l_amp].
    func testMonotoneAndBounded() {
        for q in 0...3 {
            for beta in [3.0, 4, 5, 6] {
                var last = 0.0
                for m in 0..<40 {
                    let v = sCycMaxLR(cycle: m, rate: 0.2, q: q, beta: beta, lMin: 0.03, lAmp: 0.04)
                    XCTAssertGreaterThanOrEqual(v, last)
                    XCTAssertGreaterThanOrEqual(v, 0.03)
                    XCTAssertLessThanOrEqual(v, 0.07 + 1e-15)
                    last = v
                }
            }
        }
    }

    func testPercentRemaining() {
        // Spec §2.6 nominal headers: 100, 80, 64, 51.2 (≈51.3 with unprunable parameters), 40.96, 32.768, …
        XCTAssertEqual(percentRemaining(cycle: 0, rate: 0.2), 100)
        XCTAssertEqual(percentRemaining(cycle: 1, rate: 0.2), 80, accuracy: 1e-12)
        XCTAssertEqual(percentRemaining(cycle: 2, rate: 0.2), 64, accuracy: 1e-12)
        XCTAssertEqual(percentRemaining(cycle: 5, rate: 0.2), 32.768, accuracy: 1e-12)
        XCTAssertEqual(percentRemaining(cycle: 13, rate: 0.2), 5.497558138880, accuracy: 1e-10)
        let rows = SCycSchedule.paperResNet20.table(cycles: 25)
        XCTAssertEqual(rows.count, 25)
        XCTAssertEqual(rows.first?.cycle, 0)
        XCTAssertEqual(rows.last?.cycle, 24)
        XCTAssertEqual(rows[4].maxLR * 100, 4.761, accuracy: 0.0005)
        XCTAssertEqual(rows[4].percentRemaining, 40.96, accuracy: 1e-12)
    }

    /// Within a cycle S-Cyc is the LR warmup with peak max_lr(m) (spec §1.4).
    func testWithinCycleIsWarmupScaledByMaxLR() {
        let s = SCycSchedule.paperResNet20   // (3e-2, 4e-2, 1, 5, 20K, 20K, 25K, Nil)
        for m in [0, 1, 3, 4, 7] {
            let peak = s.maxLR(cycle: m)
            let w = WarmupLR(peak: peak, warmup: 20_000, drops: [20_000, 25_000])
            for t in [0, 1, 5_000, 10_000, 19_999, 20_000, 24_999, 25_000, 62_999] {
                XCTAssertEqual(s.rate(iteration: t, cycle: m), w.rate(at: t), accuracy: 1e-15, "m=\(m) t=\(t)")
            }
            // Hand values: 0 at t = 0, peak/2 at t = 10K, peak·19999/20000 at 19 999, peak/10 at 20K (ramp done,
            // first drop), peak/100 from 25K to the end.
            XCTAssertEqual(s.rate(iteration: 0, cycle: m), 0)
            XCTAssertEqual(s.rate(iteration: 10_000, cycle: m), peak / 2, accuracy: 1e-15)
            XCTAssertEqual(s.rate(iteration: 19_999, cycle: m), peak * 0.99995, accuracy: 1e-15)
            XCTAssertEqual(s.rate(iteration: 20_000, cycle: m), peak / 10, accuracy: 1e-15)
            XCTAssertEqual(s.rate(iteration: 62_999, cycle: m), peak / 100, accuracy: 1e-15)
            XCTAssertEqual(s.learningRate(iteration: 10_000, cycle: m), Float(peak / 2), accuracy: 1e-9)
        }
        // ResNet-50: warmup 4K, drops at 23K, 46K, 62K: at m = 0 (5e-2): 2.5e-2 at 2K, 5e-2 at 4K…22 999, 5e-3 at 23K,
        // 5e-4 at 46K, 5e-5 at 62K.
        let r50 = SCycSchedule.paperResNet50
        XCTAssertEqual(r50.rate(iteration: 2_000, cycle: 0), 2.5e-2, accuracy: 1e-15)
        XCTAssertEqual(r50.rate(iteration: 4_000, cycle: 0), 5e-2, accuracy: 1e-15)
        XCTAssertEqual(r50.rate(iteration: 22_999, cycle: 0), 5e-2, accuracy: 1e-15)
        XCTAssertEqual(r50.rate(iteration: 23_000, cycle: 0), 5e-3, accuracy: 1e-15)
        XCTAssertEqual(r50.rate(iteration: 46_000, cycle: 0), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(r50.rate(iteration: 69_999, cycle: 0), 5e-5, accuracy: 1e-15)
    }

    /// Pure: the same (iteration, cycle) always gives the same rate, in any order; each cycle rewinds to t = 0.
    func testPureAndRewound() {
        let s = SCycSchedule.paperVGG19
        let probes = [(0, 0), (9_999, 3), (10_000, 5), (31_999, 2), (48_000, 7), (0, 9)]
        let first = probes.map { s.rate(iteration: $0.0, cycle: $0.1) }
        let again = probes.reversed().map { s.rate(iteration: $0.0, cycle: $0.1) }.reversed()
        XCTAssertEqual(first, Array(again))
        for m in 0..<10 {
            XCTAssertEqual(s.rate(iteration: 0, cycle: m), 0)   // every cycle restarts the ramp at 0
            XCTAssertEqual(s.rate(iteration: 10_000, cycle: m), s.maxLR(cycle: m), accuracy: 1e-15)
        }
        XCTAssertEqual(s, SCycSchedule(lMin: 4e-2, lAmp: 6e-2, q: 1, beta: 4, rate: 0.2,
                                       warmupIterations: 10_000, drops: [48_000, 32_000]))
    }

    /// `curve` gives the exact breakpoints of the piecewise-linear schedule, cycle after cycle.
    func testCurve() {
        let s = SCycSchedule.paperResNet20
        let c = s.curve(cycles: 2, iterationsPerCycle: 63_000)
        // Breakpoints per cycle: 0, 19 999, 20 000, 24 999, 25 000, 62 999.
        XCTAssertEqual(c.map(\.iteration), [0, 19_999, 20_000, 24_999, 25_000, 62_999,
                                            63_000, 82_999, 83_000, 87_999, 88_000, 125_999])
        XCTAssertEqual(c[3].lr, 0.003, accuracy: 1e-15)          // m = 0: 3e-2/10 between the drops
        XCTAssertEqual(c[5].lr, 0.0003, accuracy: 1e-15)         // then /100 to the end
        XCTAssertEqual(c[6].lr, 0)                               // m = 1 restarts at 0
        XCTAssertEqual(c[7].lr, s.maxLR(cycle: 1) * 19_999 / 20_000, accuracy: 1e-15)
    }
}
