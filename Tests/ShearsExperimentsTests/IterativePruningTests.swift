import Foundation
import XCTest
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

final class IterativePruningTests: RunTestCase {
    private func quickConfig(cycles: Int = 2) -> IterativePruningConfig { quickPruningConfig(cycles: cycles, evalEvery: 8) }

    private func options(stopAfterCycle: Int? = nil, stopAfterIteration: Int? = nil) -> TrainingOptions {
        quietOptions(stopAfterCycle: stopAfterCycle, stopAfterIteration: stopAfterIteration)
    }

    private func records(_ run: RunDirectory) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: run.path("cycles.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    private func finalState(_ run: RunDirectory) throws -> ([String: [Float]], [String: [Float]]) {
        let w = try SafetensorsFile.read(path: run.path("model.safetensors")).tensors.mapValues(\.scalars)
        let m = try IterativePruning.finalMask(in: run).mapValues(\.scalars)
        return (w, m)
    }

    func testDensitiesZerosAndReports() throws {
        let d = try dir("basic")
        let summary = try IterativePruning.run(quickConfig(), in: d, options: options())
        let run = try RunDirectory(path: d.path("run_0"))
        let recs = try records(run)
        XCTAssertEqual(recs.count, 3)
        XCTAssertEqual(summary.cycles.count, 3)
        let total = recs[0]["total"] as! Int
        XCTAssertEqual(total, 64 * 300 + 300 * 100 + 100 * 10)   // synthetic images are 1×8×8
        var expected = total
        for (m, r) in recs.enumerated() {
            XCTAssertEqual(r["cycle"] as? Int, m)
            let remaining = r["remaining"] as! Int
            XCTAssertEqual(remaining, expected, "cycle \(m)")
            XCTAssertEqual(Double(remaining) / Double(total), pow(0.8, Double(m)), accuracy: 2.0 / Double(total))
            XCTAssertEqual(r["percent_remaining"] as! Double, 100 * Double(remaining) / Double(total), accuracy: 1e-9)
            XCTAssertNotNil(r["test_accuracy_at_best_validation"] as? Double)
            let all = r["percent_remaining_all_parameters"] as! Double   // biases stay dense
            if m == 0 { XCTAssertEqual(all, 100, accuracy: 1e-9) } else { XCTAssertGreaterThan(all, r["percent_remaining"] as! Double) }
            let report = try XCTUnwrap(try run.readJSON(SparsityReport.self, from: "sparsity/cycle_\(m).json"))
            XCTAssertEqual(report.rows.reduce(0) { $0 + $1.remaining }, report.totalRemaining)
            XCTAssertEqual(report.rows.reduce(0) { $0 + $1.total }, report.total)
            XCTAssertEqual(report.totalRemaining, remaining)
            expected -= pruneCount(alive: expected, fraction: 0.2)
        }
        // Pruned weights are exactly 0 in the final model (also checked per cycle below through the checkpoints).
        let (w, mask) = try finalState(run)
        XCTAssertEqual(mask.count, 3)
        for (name, m) in mask {
            let values = try XCTUnwrap(w[name])
            for i in m.indices where m[i] == 0 { XCTAssertEqual(values[i], 0, name); break }
            XCTAssertTrue(zip(m, values).allSatisfy { $0 != 0 || $1 == 0 }, name)
        }
        // Re-running the complete run returns the stored summary.
        XCTAssertEqual(try IterativePruning.run(quickConfig(), in: d, options: options()), summary)
        // A different config is refused.
        var other = quickConfig(); other.rate = 0.5
        XCTAssertThrowsError(try IterativePruning.run(other, in: d, options: options()))
    }

    func testPrunedWeightsZeroAtEndOfEveryCycle() throws {
        let d = try dir("zeros")
        let c = quickConfig()
        for m in 0...c.cycles {
            do { _ = try IterativePruning.run(c, in: d, options: options(stopAfterCycle: m)); if m < c.cycles { XCTFail("no stop") } }
            catch is TrainingInterrupted {}
            let file = try SafetensorsFile.read(path: try RunDirectory(path: d.path("run_0")).checkpointPath)
            let mask = try Mask(checkpointEntries: file.tensors)
            XCTAssertEqual(mask.names.count, 3)
            for name in mask.names {
                let mv = mask[name]!.scalars, wv = file.tensors[name]!.scalars
                XCTAssertTrue(zip(mv, wv).allSatisfy { $0 != 0 || $1 == 0 }, "cycle \(m) \(name)")
            }
        }
    }

    func testSCycMaxLRPerCycleAndLRRewind() throws {
        var c = quickConfig()
        c.training.schedule = try ScheduleSpec(parsing: "scyc:l_min=0.02,l_amp=0.04,q=0,beta=2,warmup=5,drops=15")
        XCTAssertEqual(c.retrain, .lrRewind)
        let d = try dir("scyc")
        _ = try IterativePruning.run(c, in: d, options: options())
        let recs = try records(try RunDirectory(path: d.path("run_0")))
        let s = SCycSchedule(lMin: 0.02, lAmp: 0.04, q: 0, beta: 2, rate: 0.2, warmupIterations: 5, drops: [15])
        for (m, r) in recs.enumerated() { XCTAssertEqual(r["max_lr"] as! Double, s.maxLR(cycle: m), accuracy: 1e-12) }
        XCTAssertLessThan(s.maxLR(cycle: 0), s.maxLR(cycle: 2))
        // The schedule restarts every cycle: the first evaluation of each cycle logs the warmup-ramp rate at t = 8.
        let lines = try String(contentsOfFile: d.path("run_0/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let rows = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for m in 0...2 {
            let row = try XCTUnwrap(rows.first { ($0["step"] as? Int) == m * 20 + 8 })
            XCTAssertEqual(row["lr"] as! Double, Double(s.learningRate(iteration: 7, cycle: m)), accuracy: 1e-7)
        }
        // Constant schedule: max_lr is the lr of every cycle.
        let d2 = try dir("const")
        _ = try IterativePruning.run(quickConfig(cycles: 1), in: d2, options: options())
        for r in try records(try RunDirectory(path: d2.path("run_0"))) { XCTAssertEqual(r["max_lr"] as! Double, Double(Float(0.05)), accuracy: 1e-9) }
    }

    func testRewindInitRestoresInitialWeights() throws {
        var c = quickConfig(cycles: 1)
        c.retrain = .rewindToInit
        let d = try dir("rewind")
        // Stop right after cycle 0's pruning + rewind: the checkpoint holds the rewound weights.
        XCTAssertThrowsError(try IterativePruning.run(c, in: d, options: options(stopAfterCycle: 0)))
        let file = try SafetensorsFile.read(path: try RunDirectory(path: d.path("run_0")).checkpointPath)
        let mask = try Mask(checkpointEntries: file.tensors)
        // The initial weights: the model built from the run's seed, as the run builds it.
        let data = try prepareData(c.training)
        var g = Generator(seed: c.training.seed)
        let model0 = try makeModel(c.training.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
        for (name, p) in model0.namedParameters {
            let initial = p.value.scalars, now = file.tensors[name]!.scalars
            XCTAssertEqual(file.tensors["rewind/" + name]?.scalars, initial, name)
            if let m = mask[name]?.scalars {
                XCTAssertTrue(m.contains(0))
                for i in m.indices { XCTAssertEqual(now[i], m[i] == 0 ? 0 : initial[i], "\(name)[\(i)]") }
            } else {
                XCTAssertEqual(now, initial, name)
            }
        }
        _ = try IterativePruning.run(c, in: d, options: options())
    }

    func testResumeReproducesUninterruptedRun() throws {
        for policy in [RetrainPolicy.lrRewind, .rewindTo(iteration: 3)] {
            var c = quickConfig()
            c.retrain = policy
            c.training.momentum = 0.9
            c.criterion = "gradient"
            c.scoringBatches = 2
            let a = try dir("full-\(policy)")
            _ = try IterativePruning.run(c, in: a, options: options())
            let b = try dir("resumed-\(policy)")
            // Killed mid-cycle 0 (after iteration 10, checkpoint at 8), mid-cycle 1 (after iteration 11), after cycle 1,
            // then run to the end.
            XCTAssertThrowsError(try IterativePruning.run(c, in: b, options: options(stopAfterCycle: 0, stopAfterIteration: 10)))
            XCTAssertThrowsError(try IterativePruning.run(c, in: b, options: options(stopAfterCycle: 1, stopAfterIteration: 11)))
            XCTAssertThrowsError(try IterativePruning.run(c, in: b, options: options(stopAfterCycle: 1)))
            _ = try IterativePruning.run(c, in: b, options: options())
            let (wa, ma) = try finalState(try RunDirectory(path: a.path("run_0")))
            let (wb, mb) = try finalState(try RunDirectory(path: b.path("run_0")))
            XCTAssertEqual(ma, mb, "\(policy)")
            XCTAssertEqual(wa, wb, "\(policy)")
            XCTAssertEqual(try records(try RunDirectory(path: b.path("run_0"))).count, 3)
            let ra = try records(try RunDirectory(path: a.path("run_0"))), rb = try records(try RunDirectory(path: b.path("run_0")))
            for (x, y) in zip(ra, rb) {
                XCTAssertEqual(x["test_accuracy_at_best_validation"] as? Double, y["test_accuracy_at_best_validation"] as? Double)
                XCTAssertEqual(x["remaining"] as? Int, y["remaining"] as? Int)
            }
        }
    }

    func testTwoRunsSummary() throws {
        var c = quickConfig(cycles: 1)
        c.runs = 2
        let d = try dir("runs")
        let s = try IterativePruning.run(c, in: d, options: options())
        XCTAssertEqual(s.runs, 2)
        XCTAssertEqual(s.perRun.count, 2)
        XCTAssertTrue(d.fileExists("run_0/cycles.jsonl") && d.fileExists("run_1/cycles.jsonl") && d.fileExists("summary.json"))
        XCTAssertEqual(try d.readJSON(TrainingConfig.self, from: "run_1/config.json")?.seed, 1)
        for (m, stat) in s.cycles.enumerated() {
            let xs = s.perRun.map { $0[m].testAccuracyAtBestValidation! }
            XCTAssertEqual(stat.testAccuracyAtBestValidation.mean, (xs[0] + xs[1]) / 2, accuracy: 1e-12)
            XCTAssertEqual(stat.testAccuracyAtBestValidation.std!, abs(xs[0] - xs[1]) / 2.squareRoot(), accuracy: 1e-12)
            XCTAssertEqual(stat.percentRemaining.mean, s.perRun[0][m].percentRemaining, accuracy: 1e-12)
            XCTAssertEqual(stat.percentRemaining.std!, 0, accuracy: 1e-12)
        }
        XCTAssertNotEqual(s.perRun[0].map(\.finalTestAccuracy), s.perRun[1].map(\.finalTestAccuracy))
    }

    func testRetrainPolicyParsing() {
        XCTAssertEqual(RetrainPolicy(parsing: "rewind-init"), .rewindToInit)
        XCTAssertEqual(RetrainPolicy(parsing: "rewind:500"), .rewindTo(iteration: 500))
        XCTAssertEqual(RetrainPolicy(parsing: "lr-rewind"), .lrRewind)
        XCTAssertEqual(RetrainPolicy(parsing: "fine-tune:0.01"), .fineTune(lr: 0.01))
        XCTAssertEqual(RetrainPolicy(parsing: "reinit:7"), .reinit(seed: 7))
        XCTAssertNil(RetrainPolicy(parsing: "rewind"))
        XCTAssertNil(RetrainPolicy(parsing: "nonsense"))
    }
}
