import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ShearsAnalysis
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// The iterative-pruning protocol with each allocation, retrain policy, per-cycle schedule and the Fig. 1 probes.
final class ProtocolVariantsTests: RunTestCase {
    private func quickConfig(cycles: Int = 2) -> IterativePruningConfig { quickPruningConfig(cycles: cycles, evalEvery: 5) }

    private func options(stopAfterCycle: Int? = nil) -> TrainingOptions { quietOptions(stopAfterCycle: stopAfterCycle) }

    private func report(_ d: RunDirectory, cycle m: Int) throws -> SparsityReport {
        try XCTUnwrap(try d.readJSON(SparsityReport.self, from: "run_0/sparsity/cycle_\(m).json"))
    }

    private func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// The checkpoint written right after cycle 0's pruning step (the state cycle 1 starts from).
    private func stateAfterFirstPruning(_ c: IterativePruningConfig, _ name: String) throws -> SafetensorsFile {
        let d = try dir(name)
        XCTAssertThrowsError(try IterativePruning.run(c, in: d, options: options(stopAfterCycle: 0)))
        return try SafetensorsFile.read(path: try RunDirectory(path: d.path("run_0")).checkpointPath)
    }

    private func initialModel(_ c: IterativePruningConfig, seed: UInt64) throws -> any Layer {
        let data = try prepareData(c.training)
        var g = Generator(seed: seed)
        return try makeModel(c.training.model, inputShape: data.train.imageShape, classes: data.train.classes, generator: &g)
    }

    func testLayerwiseAllocationRemovesTheSameFractionFromEveryLayer() throws {
        var c = quickConfig()
        c.allocation = .layerwise
        let d = try dir("layerwise")
        _ = try IterativePruning.run(c, in: d, options: options())
        var expected = try report(d, cycle: 0).rows.map(\.total)
        for m in 0...c.cycles {
            let rows = try report(d, cycle: m).rows
            XCTAssertEqual(rows.map(\.remaining), expected, "cycle \(m)")
            expected = expected.map { $0 - pruneCount(alive: $0, fraction: 0.2) }
        }
    }

    func testERKAllocationKeepsSmallLayersDenser() throws {
        var c = quickConfig(cycles: 3)
        c.allocation = .erk
        let d = try dir("erk")
        _ = try IterativePruning.run(c, in: d, options: options())
        let r0 = try report(d, cycle: 0), r3 = try report(d, cycle: 3)
        // Global density follows (1 − p)^m up to per-layer rounding.
        XCTAssertEqual(Double(r3.totalRemaining) / Double(r0.total), pow(0.8, 3), accuracy: 0.01)
        // ERK density ∝ (n_in + n_out)/(n_in·n_out): fc3 (10×100) ≥ fc1 (300×64) > fc2 (100×300).
        let density = Dictionary(uniqueKeysWithValues: r3.rows.map { ($0.name, $0.density) })
        let fc1 = try XCTUnwrap(density["fc1.weight"]), fc2 = try XCTUnwrap(density["fc2.weight"])
        let fc3 = try XCTUnwrap(density["fc3.weight"])
        XCTAssertGreaterThanOrEqual(fc3, fc1)
        XCTAssertGreaterThan(fc1, fc2)
        XCTAssertNotEqual(fc1, fc2, "ERK must not prune uniformly")
    }

    func testReinitDrawsTheSurvivorsFromAFreshInitialisation() throws {
        var c = quickConfig(cycles: 1)
        c.retrain = .reinit(seed: 5)
        let file = try stateAfterFirstPruning(c, "reinit")
        let mask = try Mask(checkpointEntries: file.tensors)
        // Cycle 0 → 1 of run seed 0 draws from seed 5 + 0 + 0.
        let fresh = try initialModel(c, seed: 5), original = try initialModel(c, seed: 0)
        let freshValues = Dictionary(uniqueKeysWithValues: fresh.namedParameters.map { ($0.0, $0.1.value.scalars) })
        let originalValues = Dictionary(uniqueKeysWithValues: original.namedParameters.map { ($0.0, $0.1.value.scalars) })
        for name in mask.names {
            let m = mask[name]!.scalars, now = file.tensors[name]!.scalars
            for i in m.indices { XCTAssertEqual(now[i], m[i] == 0 ? 0 : freshValues[name]![i], "\(name)[\(i)]") }
            XCTAssertNotEqual(now, originalValues[name]!.enumerated().map { m[$0.offset] == 0 ? 0 : $0.element })
        }
    }

    func testFineTuneKeepsTheWeightsAndTrainsAtItsConstantRate() throws {
        var ft = quickConfig(cycles: 2)
        ft.training.momentum = 0.9
        ft.retrain = .fineTune(lr: 0.003)
        var lr = ft
        lr.retrain = .lrRewind
        var rw = ft
        rw.retrain = .rewindToInit
        // Fine-tuning and LR rewinding keep the trained survivors (identical cycle 0); rewinding to init does not.
        let a = try stateAfterFirstPruning(ft, "ft-stop"), b = try stateAfterFirstPruning(lr, "lr-stop")
        let r = try stateAfterFirstPruning(rw, "rw-stop")
        for name in try Mask(checkpointEntries: a.tensors).names {
            XCTAssertEqual(a.tensors[name]!.scalars, b.tensors[name]!.scalars, name)
            XCTAssertNotEqual(a.tensors[name]!.scalars, r.tensors[name]!.scalars, name)
        }
        // Cycles ≥ 1 train at the fine-tuning rate; cycle 0 at --lr.
        let d = try dir("ft")
        _ = try IterativePruning.run(ft, in: d, options: options())
        let recs = try jsonLines(d.path("run_0/cycles.jsonl"))
        XCTAssertEqual(recs[0]["max_lr"] as! Double, Double(Float(0.05)), accuracy: 1e-9)
        for m in 1...2 { XCTAssertEqual(recs[m]["max_lr"] as! Double, Double(Float(0.003)), accuracy: 1e-9) }
        for row in try jsonLines(d.path("run_0/metrics.jsonl")) {
            let cycle = Int(row["cycle"] as! Double)
            XCTAssertEqual(row["lr"] as! Double, Double(Float(cycle == 0 ? 0.05 : 0.003)), accuracy: 1e-9)
        }
    }

    func testEveryScheduleRestartsAtIterationZeroInEveryCycle() throws {
        let kinds: [(String, ScheduleSpec)] = try ["constant", "linear-decay", "cyclical:lower=0,upper=0.08,step_size=3", "cosine",
                                                    "onecycle", "warmup:peak=0.06,warmup=6,drops=6;12"].map { text in
            let s = try ScheduleSpec(parsing: text)
            return (s.name, s)
        }
        func cycleSchedule(_ c: IterativePruningConfig) throws -> any LRSchedule {
            try ScheduleRegistry.make(c.training.schedule, ScheduleContext(baseLR: c.training.lr, iterationsPerEpoch: 48,
                                                                           totalIterations: 20, pruningRate: c.rate))
        }
        for (name, schedule) in kinds {
            var c = quickConfig(cycles: 2)
            c.training.schedule = schedule
            let d = try dir("sched-\(name)")
            _ = try IterativePruning.run(c, in: d, options: options())
            let expected = try cycleSchedule(c)
            let rows = try jsonLines(d.path("run_0/metrics.jsonl"))
            XCTAssertEqual(rows.count, 3 * 4, name)
            for row in rows {
                let m = Int(row["cycle"] as! Double), t = (row["step"] as! Int) - 20 * m
                // The logged rate is the one of the step just taken (iteration t − 1 of the cycle).
                XCTAssertEqual(row["lr"] as! Double, Double(expected.learningRate(iteration: t - 1, cycle: m)), accuracy: 1e-9,
                               "\(name) cycle \(m) t \(t)")
            }
            let recs = try jsonLines(d.path("run_0/cycles.jsonl"))
            let peak = (0..<20).map { Double(expected.learningRate(iteration: $0, cycle: 0)) }.max()!
            for r in recs { XCTAssertEqual(r["max_lr"] as! Double, peak, accuracy: 1e-9, name) }
        }
        // Sanity of the expectations themselves: linear decay reaches 0 at the cycle's end, the warmup ramps.
        var c = quickConfig(); c.training.schedule = ScheduleSpec("linear-decay")
        XCTAssertEqual(try cycleSchedule(c).learningRate(iteration: 20, cycle: 1), 0, accuracy: 1e-9)
        c.training.schedule = kinds[5].1
        XCTAssertEqual(try cycleSchedule(c).learningRate(iteration: 3, cycle: 1), 0.03, accuracy: 1e-7)
    }

    func testDistributionsAreRecordedEveryCycleAndSurviveAResume() throws {
        var c = quickConfig(cycles: 2)
        c.distributions = DistributionOptions(batches: 2)
        let a = try dir("dist-full")
        _ = try IterativePruning.run(c, in: a, options: options())
        let stats = try XCTUnwrap(try a.readJSON([CycleDistributionStats].self, from: "run_0/distributions/stats.json"))
        XCTAssertEqual(stats.map(\.cycle), [0, 1, 2])
        let recs = try jsonLines(a.path("run_0/cycles.jsonl"))
        for (s, r) in zip(stats, recs) {
            // Alive weights only: one gradient per remaining prunable weight (all three are weight matrices).
            XCTAssertEqual(s.gradientCount, r["remaining"] as! Int)
            XCTAssertEqual(s.percentRemaining, r["percent_remaining"] as! Double, accuracy: 1e-9)
            XCTAssertGreaterThan(s.gradientStd, 0)
            if s.cycle == 0 {   // nothing pruned yet: all weights = the alive ones
                XCTAssertEqual(s.allWeightsGradientStd, s.gradientStd, accuracy: 1e-12)
                XCTAssertEqual(s.allWeightsGradientOutside2Sigma0, s.gradientOutside2Sigma0)
            } else {
                XCTAssertNotEqual(s.allWeightsGradientStd, s.gradientStd)
            }
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(s.activationMean), 0)
        }
        // Cycle 0 against its own ±2σ: Chebyshev bounds it by 1/4, a bell-shaped sample has a few percent there.
        XCTAssertGreaterThan(stats[0].gradientOutside2Sigma0, 0)
        XCTAssertLessThanOrEqual(stats[0].gradientOutside2Sigma0, 0.25)
        let sturges = try XCTUnwrap(try a.readJSON([CycleDistribution].self, from: "run_0/distributions/sturges.json"))
        XCTAssertEqual(sturges[0].gradients.binCount, Histogram.sturgesBinCount(stats[0].gradientCount))
        let common = try XCTUnwrap(try a.readJSON([CycleDistribution].self, from: "run_0/distributions/common.json"))
        XCTAssertEqual(Set(common.map { $0.gradients.edges }).count, 1, "common edges for every cycle")
        for svg in ["sturges-gradients.svg", "sturges-activations.svg", "common-gradients.svg", "common-activations.svg"] {
            let text = try String(contentsOfFile: a.path("run_0/distributions/\(svg)"), encoding: .utf8)
            XCTAssertTrue(text.hasPrefix("<?xml") && text.contains("</svg>") && text.contains("P = 80%"), svg)
            XCTAssertTrue(XMLParser(data: Data(text.utf8)).parse(), "\(svg) is well-formed XML")
        }
        // Interrupted after cycle 1 and resumed: the same files.
        let b = try dir("dist-resumed")
        XCTAssertThrowsError(try IterativePruning.run(c, in: b, options: options(stopAfterCycle: 1)))
        _ = try IterativePruning.run(c, in: b, options: options())
        for f in ["stats.json", "sturges.json", "common.json"] {
            XCTAssertEqual(try String(contentsOfFile: a.path("run_0/distributions/\(f)"), encoding: .utf8),
                           try String(contentsOfFile: b.path("run_0/distributions/\(f)"), encoding: .utf8), f)
        }
    }
}
