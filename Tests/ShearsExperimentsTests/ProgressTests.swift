import Foundation
import XCTest
import ShearsData
@testable import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsPrune

/// The progress bar's whole-command ETA: how each protocol counts its trainings, and what the bar says.
final class ProgressTests: RunTestCase {
    func testOverallFractionAndETA() {
        let overall = OverallProgress(total: 1000)
        overall.enter(before: 380, startingAt: 20)          // a cycle rewound to iteration 20, after 380 iterations of the command
        XCTAssertEqual(overall.fraction(at: 20), 0.38, accuracy: 1e-12)
        XCTAssertEqual(overall.fraction(at: 200), 0.56, accuracy: 1e-12)
        XCTAssertEqual(overall.eta(at: 20), .infinity)       // nothing trained in this process yet: no rate
        for _ in 0..<10 { overall.stepped() }
        let eta = overall.eta(at: 30)
        XCTAssertTrue(eta.isFinite && eta > 0, "\(eta)")
        overall.enter(before: 1000)
        XCTAssertEqual(overall.fraction(at: 5), 1)           // never past 100 %
        XCTAssertEqual(overall.eta(at: 5), 0)
    }

    func testBarSaysEpochOfTotalAndTheWholeCommandsETA() {
        let bar = ProgressReporter(totalIterations: 200, startIteration: 0, forceMode: false)
        let text = bar.render(iteration: 120, epoch: 1.2, loss: 0.5, accuracy: 0.9, imagesPerSecond: 1000, label: "run 2/3 · cycle 4/10",
                              epochs: 2, eta: 4, overall: (0.27, 2 * 3600 + 5 * 60 + 7))
        XCTAssertTrue(text.hasPrefix("run 2/3 · cycle 4/10 · "), text)
        for part in ["ep 1.20/2", "it 120/200", "ETA 00:04", "· all 27% ETA 2:05:07"] { XCTAssertTrue(text.contains(part), "\(part) in \(text)") }
        let plain = bar.render(iteration: 1, epoch: 0.01, loss: 1, accuracy: 0, imagesPerSecond: 0, label: "", epochs: 2.5, eta: .infinity,
                               overall: nil)
        XCTAssertTrue(plain.hasPrefix("█") || plain.hasPrefix("·"), plain)
        XCTAssertTrue(plain.contains("ep 0.01/2.50") && plain.contains("ETA --:--") && !plain.contains("all"), plain)
    }

    /// Iterative pruning: cycle 0 trains T, every later cycle T − K after a rewind to K; runs follow one another.
    func testIterativePruningCountsEveryRunAndRewoundCycle() throws {
        var c = quickPruningConfig(cycles: 2, evalEvery: 10)   // T = 20
        c.runs = 2
        c.retrain = .rewindTo(iteration: 5)
        let env = try CycleEnvironment(c, index: 1, run: try dir("r1"), options: quietOptions())
        XCTAssertEqual(env.total, 20)
        XCTAssertEqual((0...2).map(env.cycleLength), [20, 15, 15])
        XCTAssertEqual(env.iterationsPerRun, 50)
        XCTAssertEqual(env.iterationsBefore(cycle: 0), 50)
        XCTAssertEqual(env.iterationsBefore(cycle: 2), 50 + 20 + 15)
        XCTAssertEqual(env.cycleStart(2), 5)
        c.retrain = .lrRewind
        let plain = try CycleEnvironment(c, index: 0, run: try dir("r0"), options: quietOptions())
        XCTAssertEqual(plain.iterationsPerRun, 60)
    }

    /// APP: megabatch t trains E epochs over Tr_t, which grows with full replay (720, 1440, 2160 examples, batch 60).
    func testAnytimeCountsTheGrowingMegabatches() throws {
        var c = AnytimeConfig()
        c.training.dataset = .synthetic
        c.training.epochs = 2
        c.training.batchSize = 60
        c.megabatches = 3
        let env = try AnytimeEnvironment(c, run: try dir("app"), options: quietOptions())
        XCTAssertEqual((1...3).map(env.iterations(megabatch:)), [24, 48, 72])
        XCTAssertEqual(env.iterationsBefore(megabatch: 1), 0)
        XCTAssertEqual(env.iterationsBefore(megabatch: 3), 72)
        XCTAssertEqual(env.overallProgress().total, 144)
    }
}
