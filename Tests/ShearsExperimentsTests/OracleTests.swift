import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// The S-Cyc max_lr oracle (spec §2.5): choice rule, greedy path, diverging trials, resume, refused configurations.
final class OracleTests: RunTestCase {
    private func trial(_ lr: Double, _ val: Double) -> OracleTrial {
        OracleTrial(cycle: 0, percentRemaining: 100, percentRemainingAllParameters: 100, maxLR: lr, bestValidationAccuracy: val,
                    testAccuracyAtBestValidation: val, finalTestAccuracy: val, diverged: false)
    }

    func testWellTunedIsTheArgmaxAndTheRegionIsWithinTheTolerance() {
        let trials = [trial(0.01, 0.90), trial(0.02, 0.95), trial(0.03, 0.9451), trial(0.04, 0.95), trial(0.05, 0.80),
                      trial(0.06, 0.9449)]
        let (best, feasible) = OracleCycle.choose(cycle: 0, trials: trials, tolerance: 0.005)
        XCTAssertEqual(best.maxLR, 0.02, "ties go to the first in grid order")
        XCTAssertEqual(feasible, [0.02, 0.03, 0.04], "0.9449 is 0.51 points below the best")
        XCTAssertEqual(OracleCycle.choose(cycle: 0, trials: trials, tolerance: 0).feasible, [0.02, 0.04])
    }

    private func config(grid: [Double] = [0.01, 0.05, 1e4]) -> OracleConfig {
        var c = IterativePruningConfig()
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.epochs = nil
        c.training.iterations = 16
        c.training.batchSize = 50
        c.training.momentum = 0.9
        c.training.evalEvery = StepSpec(4, .iterations)
        c.cycles = 1
        // The warmup shape of every trial and S-Cyc's Eq. 2 parameters for the comparison column.
        c.training.schedule = try! ScheduleSpec(parsing: "scyc:warmup=4,drops=12,l_min=0.02,l_amp=0.03,q=0,beta=2")
        return OracleConfig(pruning: c, grid: grid)
    }

    private func options(stopAfterCycle: Int? = nil) -> TrainingOptions { quietOptions(stopAfterCycle: stopAfterCycle) }

    func testGreedyPathDivergingTrialAndResume() throws {
        let c = config()
        let a = try RunDirectory(path: scratch.appendingPathComponent("a").path)
        let s = try SCycOracle.run(c, in: a, options: options())
        XCTAssertEqual(s.trials.count, 6)
        XCTAssertEqual(s.cycles.map(\.cycle), [0, 1])
        for col in s.cycles {
            let mine = s.trials.filter { $0.cycle == col.cycle }
            XCTAssertEqual(col.bestValidationAccuracy, mine.map(\.bestValidationAccuracy).max())
            XCTAssertEqual(col.wellTunedMaxLR, mine.first { $0.bestValidationAccuracy == col.bestValidationAccuracy }!.maxLR)
            XCTAssertEqual(col.sCycMaxLR, try c.sCycMaxLR(cycle: col.cycle), accuracy: 1e-15)
            XCTAssertEqual(col.sCycMaxLR, SCycSchedule(lMin: 0.02, lAmp: 0.03, q: 0, beta: 2, rate: 0.2, warmupIterations: 4,
                                                       drops: [12]).maxLR(cycle: col.cycle), accuracy: 1e-15)
            XCTAssertTrue(col.feasible.contains(col.wellTunedMaxLR))
            XCTAssertEqual(col.feasibleRegion, [col.feasible.min()!, col.feasible.max()!])
        }
        // lr = 10⁴ blows up: a failed trial with accuracy 0, never the well-tuned one, and the oracle goes on.
        let blown = s.trials.filter { $0.maxLR == 1e4 }
        XCTAssertEqual(blown.count, 2)
        for t in blown { XCTAssertTrue(t.diverged); XCTAssertEqual(t.bestValidationAccuracy, 0) }
        XCTAssertEqual(s.cycles[1].percentRemaining, 80, accuracy: 0.01)
        for f in ["oracle.json", "oracle.md", "oracle.svg", "trials.jsonl"] { XCTAssertTrue(a.fileExists(f), f) }
        XCTAssertTrue(try String(contentsOfFile: a.path("oracle.md"), encoding: .utf8).contains("| feasible region |"))

        // Greedy: cycle 1 starts from the well-tuned trial of cycle 0, pruned (LR rewinding keeps its weights).
        let b = try RunDirectory(path: scratch.appendingPathComponent("b").path)
        XCTAssertThrowsError(try SCycOracle.run(c, in: b, options: options(stopAfterCycle: 0)))
        let best = try SafetensorsFile.read(path: b.path("best_trial.safetensors"))
        XCTAssertEqual(best.metadata["max_lr"], String(s.cycles[0].wellTunedMaxLR))
        let start = try SafetensorsFile.read(path: b.path("cycle_start.safetensors"))
        XCTAssertEqual(start.metadata["cycle"], "1")
        let mask = try Mask(checkpointEntries: start.tensors)
        XCTAssertEqual(mask.density, 0.8, accuracy: 1e-3)
        for name in mask.names {
            let m = mask[name]!.scalars, w = best.tensors[name]!.scalars, w1 = start.tensors[name]!.scalars
            for i in m.indices { XCTAssertEqual(w1[i], m[i] == 0 ? 0 : w[i], "\(name)[\(i)]") }
        }
        // Resumed after the cycle boundary: the same oracle, bit for bit.
        XCTAssertEqual(try SCycOracle.run(c, in: b, options: options()), s)

        // Killed in the middle of cycle 1's grid (its last trial lost): the rerun retrains that trial identically.
        let lines = try String(contentsOfFile: b.path("trials.jsonl"), encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: b.path("trials.jsonl"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: b.path("oracle.json"))
        XCTAssertEqual(try SCycOracle.run(c, in: b, options: options()), s)

        // A finished oracle returns its summary; another configuration in the same directory is refused.
        XCTAssertEqual(try SCycOracle.run(c, in: a, options: options()), s)
        XCTAssertThrowsError(try SCycOracle.run(config(grid: [0.01, 0.02]), in: a, options: options()))
    }

    func testRefusedConfigurationsNameTheFlag() {
        func message(_ c: OracleConfig) -> String {
            do { try c.validate(); return "" } catch { return "\(error)" }
        }
        var c = config()
        c.pruning.runs = 2
        XCTAssertTrue(message(c).contains("--runs"), message(c))
        XCTAssertTrue(message(config(grid: [0.1, 0.05])).contains("increasing"))
        XCTAssertTrue(message(config(grid: [])).contains("--grid"))
        XCTAssertTrue(message(config(grid: [0, 0.1])).contains("positive"))
        c = config(); c.tolerance = -1
        XCTAssertTrue(message(c).contains("--tolerance"))
        c = config(); c.pruning.retrain = .fineTune(lr: 0.01)
        XCTAssertTrue(message(c).contains("--retrain"))
        XCTAssertEqual(message(config()), "")
    }
}
