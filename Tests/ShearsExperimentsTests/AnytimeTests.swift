import Foundation
import XCTest
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsPrune
import ShearsTensor

/// APP, Anytime OSP and the dense baseline on the synthetic set (spec §1–3).
final class AnytimeTests: RunTestCase {
    /// 2400 synthetic training examples in 3 megabatches of 800 (720 train / 80 validation), 2 epochs each.
    private func quickConfig(pruner: String = "snip", osp: Bool = false) -> AnytimeConfig {
        var c = AnytimeConfig()
        c.training.dataset = .synthetic
        c.training.epochs = 2
        c.training.schedule.parameters["milestones"] = .steps([StepSpec(1, .epochs)])
        c.training.batchSize = 60
        c.training.lr = 0.05
        c.megabatches = 3
        c.pruner = pruner
        c.osp = osp
        c.scoringBatchSize = 50
        return c
    }

    private func options(stopAfterMegabatch: Int? = nil, stopAfterIteration: Int? = nil) -> TrainingOptions {
        quietOptions(stopAfterCycle: stopAfterMegabatch, stopAfterIteration: stopAfterIteration)
    }

    private func finalState(_ run: RunDirectory) throws -> ([String: [Float]], [String: [Float]]) {
        (try SafetensorsFile.read(path: run.path("model.safetensors")).tensors.mapValues(\.scalars),
         try SafetensorsFile.read(path: run.path("mask.safetensors")).tensors.mapValues(\.scalars))
    }

    /// Spec §1.5, verified against the code: cyclic runs 0.1 / 0.01 / 0.001 in every megabatch; non-cyclic only in
    /// M_1 and stays at 0.001 afterwards.
    func testLearningRatePolicies() {
        var c = AnytimeConfig()
        XCTAssertEqual(c.training.epochs, 50)
        XCTAssertEqual(c.training.schedule.parameters["milestones"], .steps([StepSpec(20, .epochs), StepSpec(40, .epochs)]))
        for t in [1, 2, 8] {
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 0), 0.1, accuracy: 1e-7)
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 19), 0.1, accuracy: 1e-7)
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 20), 0.01, accuracy: 1e-8)
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 49), 0.001, accuracy: 1e-9)
        }
        c.lrPolicy = .nonCyclic
        XCTAssertEqual(c.learningRate(megabatch: 1, epoch: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(c.learningRate(megabatch: 1, epoch: 25), 0.01, accuracy: 1e-8)
        for t in 2...8 {
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 0), 0.001, accuracy: 1e-9)
            XCTAssertEqual(c.learningRate(megabatch: t, epoch: 49), 0.001, accuracy: 1e-9)
        }
        c.training.schedule = .constant
        XCTAssertEqual(c.learningRate(megabatch: 3, epoch: 45), 0.1, accuracy: 1e-7)
    }

    func testAPPDensitiesCERAndCurves() throws {
        let d = try dir("app")
        let c = quickConfig()
        let s = try AnytimeProgressivePruning.run(c, in: d, options: options())
        XCTAssertEqual(s.method, .app)
        XCTAssertEqual(s.records.count, 3)
        let total = 64 * 300 + 300 * 100                  // LeNet-300-100 on 1×8×8 without the classifier
        let schedule = ProgressiveDensitySchedule(tau: 4.5, megabatches: 3)
        XCTAssertEqual(schedule.deltas, [1, 2.75, 4.5])
        var cer = 0
        for (i, r) in s.records.enumerated() {
            let t = i + 1
            XCTAssertEqual(r.megabatch, t)
            XCTAssertEqual(r.total, total)
            XCTAssertEqual(r.remaining, keepCount(total: total, density: schedule.density(at: t)), "t = \(t)")
            XCTAssertEqual(r.targetDensity!, pow(0.8, schedule.delta(at: t)), accuracy: 1e-12)
            XCTAssertEqual(r.trainExamples, 720 * t)       // full replay
            XCTAssertEqual(r.validationExamples, 80 * t)
            XCTAssertEqual(r.pruneSample, truncatedProduct(0.2, 800 * t))
            // Eq. 1: the errors of F_t on the 600 test examples, summed.
            XCTAssertEqual(Double(r.testErrors), (1 - r.testAccuracy) * 600, accuracy: 1e-6)
            cer += r.testErrors
            XCTAssertEqual(r.cumulativeErrors, cer)
            XCTAssertEqual(r.gap.count, 2)
            for e in 0..<2 { XCTAssertEqual(r.gap[e], r.trainAccuracy[e] - r.validationAccuracy[e], accuracy: 1e-12) }
            // (The curves are read back from metrics.jsonl, whose decimal text may differ from the double in the last ulp.)
            XCTAssertEqual(r.bestValidationAccuracy, r.validationAccuracy.max()!, accuracy: 1e-12)
            XCTAssertEqual(r.validationAccuracy[r.bestEpoch - 1], r.bestValidationAccuracy, accuracy: 1e-12)   // the first epoch reaching it
            XCTAssertLessThan(r.validationAccuracy[..<(r.bestEpoch - 1)].max() ?? -1, r.bestValidationAccuracy - 1e-9)
            XCTAssertEqual(r.learningRate[0], 0.05, accuracy: 1e-8)                          // cyclic: restarts every t
            XCTAssertEqual(r.learningRate[1], 0.005, accuracy: 1e-8)
        }
        XCTAssertEqual(s.cer, cer)
        XCTAssertEqual(s.cer, cumulativeErrorRate(s.records.map(\.testErrors)))
        XCTAssertEqual(s.finalTestAccuracy, s.records.last!.testAccuracy)
        XCTAssertEqual(s.finalDensity, Double(keepCount(total: total, density: pow(0.8, 4.5))) / Double(total))
        XCTAssertEqual(s.gapCurve.count, 6)
        XCTAssertEqual(s.finalGap, s.records.last!.gap.last!)
        // The final model is the best-validation model of the last megabatch: its test errors are the record's.
        let data = try prepareData(c.training)
        var g = Generator(seed: 0)
        let model = try makeModel(.lenet300100, inputShape: [1, 8, 8], classes: 10, generator: &g)
        try loadStateDict(model, from: d.path("model.safetensors"))
        XCTAssertEqual(testErrors(model, on: data.test, mean: data.mean, std: data.std), s.records.last!.testErrors)
        // Pruned weights are exactly 0, and the classifier is never masked.
        let (w, mask) = try finalState(d)
        XCTAssertEqual(Set(mask.keys), ["fc1.weight", "fc2.weight"])
        for (name, m) in mask { XCTAssertTrue(zip(m, w[name]!).allSatisfy { $0 != 0 || $1 == 0 }, name) }
        // One metrics row per epoch across the stream, with the real density.
        let rows = try String(contentsOfFile: d.path("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 6)
        // Re-running the finished run returns its summary; a different configuration is refused by name.
        XCTAssertEqual(try AnytimeProgressivePruning.run(c, in: d, options: options()), s)
        var other = c; other.tau = 3
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(other, in: d, options: options())) { error in
            XCTAssertTrue("\(error)".contains("different configuration"), "\(error)")
        }
    }

    func testMasksAreNestedAcrossMegabatches() throws {
        let c = quickConfig(pruner: "magnitude")
        let d = try dir("nested")
        var previous: Mask? = nil
        for t in 1...3 {
            do { _ = try AnytimeProgressivePruning.run(c, in: d, options: options(stopAfterMegabatch: t)); XCTAssertEqual(t, 3) }
            catch is TrainingInterrupted {}
            let mask = try Mask(checkpointEntries: SafetensorsFile.read(path: d.checkpointPath).tensors)
            if let previous {
                for name in mask.names {
                    XCTAssertTrue(zip(mask[name]!.scalars, previous[name]!.scalars).allSatisfy { $0 <= $1 }, "t = \(t) \(name)")
                }
                XCTAssertLessThan(mask.remaining, previous.remaining)
            }
            previous = mask
        }
    }

    func testBaselinesOSPAndDense() throws {
        let osp = try AnytimeProgressivePruning.run(quickConfig(osp: true), in: try dir("osp"), options: options())
        XCTAssertEqual(osp.method, .osp)
        let total = 64 * 300 + 300 * 100
        let target = keepCount(total: total, density: pow(0.8, 4.5))
        XCTAssertEqual(osp.records.map(\.remaining), [target, target, target])   // pruned once, at t = 1, to 0.8^τ
        XCTAssertEqual(osp.records.map(\.pruneSample), [160, 0, 0])               // int(0.2·|M_1|)
        XCTAssertEqual(osp.records[0].targetDensity!, pow(0.8, 4.5), accuracy: 1e-12)
        XCTAssertNil(osp.records[1].targetDensity)

        let dense = try AnytimeProgressivePruning.run(quickConfig(pruner: "none"), in: try dir("dense"), options: options())
        XCTAssertEqual(dense.method, .dense)
        XCTAssertEqual(dense.records.map(\.density), [1, 1, 1])
        XCTAssertEqual(dense.targetFinalDensity, 1)
        XCTAssertEqual(dense.records.map(\.remaining), [total, total, total])
        XCTAssertTrue(try SafetensorsFile.read(path: try dir("dense").path("mask.safetensors")).tensors.isEmpty)
    }

    /// Spec §1.4: with the code's mask update the real density collapses towards Π_t 0.8^δ_t (random scores make
    /// the new masks independent of the old ones, so the product is the expectation).
    func testCodeFaithfulUpdateCollapsesTheDensity() throws {
        var c = quickConfig(pruner: "random")
        c.maskUpdate = .codeFaithful
        c.training.epochs = 1
        let s = try AnytimeProgressivePruning.run(c, in: try dir("code"), options: options())
        let deltas = ProgressiveDensitySchedule(tau: 4.5, megabatches: 3).deltas
        var product = 1.0
        for (i, r) in s.records.enumerated() {
            product *= pow(0.8, deltas[i])
            XCTAssertEqual(r.density, product, accuracy: 0.01, "t = \(i + 1)")
        }
        XCTAssertLessThan(s.finalDensity, 0.5 * s.targetFinalDensity)   // 0.8^8.25 ≈ 0.159 vs the stated 0.366
        // SNIP and magnitude run the code path too (fresh weights from t = 2) and end below the target.
        for p in ["snip", "magnitude"] {
            var cp = c; cp.pruner = p
            let sp = try AnytimeProgressivePruning.run(cp, in: try dir("code-\(p)"), options: options())
            XCTAssertLessThan(sp.finalDensity, sp.targetFinalDensity, "\(p)")
        }
    }

    func testResumeReproducesUninterruptedRunNested() throws { try checkResume(.nested) }

    func testResumeReproducesUninterruptedRunCodeFaithful() throws { try checkResume(.codeFaithful) }

    private func checkResume(_ update: AnytimeMaskUpdate) throws {
        var c = quickConfig()
        c.maskUpdate = update
        let a = try dir("full-\(update)")
        let full = try AnytimeProgressivePruning.run(c, in: a, options: options())
        let b = try dir("resumed-\(update)")
        // Killed in megabatch 1's second epoch (12 batches per epoch), after megabatch 2, in megabatch 3's first epoch
        // (after its pruning step's checkpoint), then run to the end.
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: b, options: options(stopAfterMegabatch: 1, stopAfterIteration: 17)))
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: b, options: options(stopAfterMegabatch: 2)))
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: b, options: options(stopAfterMegabatch: 3, stopAfterIteration: 5)))
        let resumed = try AnytimeProgressivePruning.run(c, in: b, options: options())
        let (wa, ma) = try finalState(a), (wb, mb) = try finalState(b)
        XCTAssertEqual(ma, mb)
        XCTAssertEqual(wa, wb)
        var x = full, y = resumed
        x.trainingSeconds = 0; y.trainingSeconds = 0
        XCTAssertEqual(x, y)
        XCTAssertEqual(try String(contentsOfFile: a.path("metrics.csv"), encoding: .utf8),
                       try String(contentsOfFile: b.path("metrics.csv"), encoding: .utf8))
    }

    func testBadConfigurationsAndCheckpointsAreNamed() throws {
        func refusal(_ edit: (inout AnytimeConfig) -> Void) -> String {
            var c = quickConfig()
            edit(&c)
            do { try c.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(refusal { $0.osp = true; $0.pruner = "none" }.contains("--osp"))
        XCTAssertTrue(refusal { $0.tau = 0.5 }.contains("--tau"))
        XCTAssertTrue(refusal { $0.tau = .nan }.contains("--tau"))
        XCTAssertTrue(refusal { $0.megabatches = 0 }.contains("--megabatches"))
        XCTAssertTrue(refusal { $0.training.schedule.parameters["milestones"] = .steps([StepSpec(100, .iterations)]) }.contains("--milestones"))
        XCTAssertTrue(refusal { $0.training.epochs = nil; $0.training.iterations = 10 }.contains("--epochs"))
        XCTAssertTrue(refusal { $0.pruneFraction = 0 }.contains("--prune-fraction"))
        XCTAssertTrue(refusal { $0.training.schedule = ScheduleSpec("cosine") }.contains("--schedule"))
        XCTAssertTrue(refusal { $0.training.validation = 100 }.contains("validation"))
        XCTAssertEqual(refusal { _ in }, "")

        // A checkpoint whose mask does not cover the tensors this run masks is refused, naming both.
        let d = try dir("mismatch")
        let c = quickConfig()
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: d, options: options(stopAfterMegabatch: 1)))
        var file = try SafetensorsFile.read(path: d.checkpointPath)
        var tensors = file.tensors
        tensors["mask/fc3.weight"] = Tensor.ones(tensors["fc3.weight"]!.shape)
        try SafetensorsFile.write(path: d.checkpointPath, tensors: tensors, dtypes: [:], metadata: file.metadata)
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: d, options: options())) { error in
            XCTAssertTrue("\(error)".contains("mask covers"), "\(error)")
        }
        file = try SafetensorsFile.read(path: d.checkpointPath)
        var meta = file.metadata
        meta["megabatch"] = nil
        tensors["mask/fc3.weight"] = nil
        try SafetensorsFile.write(path: d.checkpointPath, tensors: tensors, dtypes: [:], metadata: meta)
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: d, options: options())) { error in
            XCTAssertTrue("\(error)".contains("'megabatch'"), "\(error)")
        }
    }

    func testDivergingLossIsReportedWithItsMegabatch() throws {
        var c = quickConfig(pruner: "none")
        c.training.lr = 1e12
        XCTAssertThrowsError(try AnytimeProgressivePruning.run(c, in: try dir("nan"), options: options())) { error in
            XCTAssertTrue(error is LossDiverged, "\(error)")
            XCTAssertTrue("\(error)".contains("megabatch 1"), "\(error)")
            XCTAssertTrue("\(error)".contains("--lr"), "\(error)")
        }
    }
}
