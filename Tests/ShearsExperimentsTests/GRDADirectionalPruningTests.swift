import Foundation
import XCTest
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsNN
import ShearsTensor

/// `DirectionalPruning` (shears prune grda) on synthetic data: same init and order, sparsity logging, GMP to the same
/// number of nonzeros, exact resume, clear errors.
final class GRDADirectionalPruningTests: RunTestCase {
    private func quickConfig() -> DirectionalPruningConfig {
        var c = DirectionalPruningConfig()
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.epochs = nil
        c.training.iterations = 40
        c.training.batchSize = 50
        c.training.lr = 0.05
        c.training.validation = 200
        c.training.evalEvery = StepSpec(10, .iterations)
        c.c = 0.1
        c.mu = 0.55
        c.gmpBegin = 0.1
        c.gmpEnd = 0.6
        c.gmpSteps = 4
        return c
    }

    private var options: TrainingOptions {
        var o = TrainingOptions()
        o.threads = 1; o.quiet = true; o.terminalProgress = false; o.prefetch = 0
        return o
    }

    private func weights(_ d: RunDirectory, _ phase: String) throws -> [String: [Float]] {
        try SafetensorsFile.read(path: d.path("\(phase)/model.safetensors")).tensors.mapValues(\.scalars)
    }

    /// c = 0: gRDA is SGD, so with the same w₀ and the same minibatch order both phases end with identical weights.
    func testZeroCMatchesTheSGDBaselineExactly() throws {
        var config = quickConfig()
        config.c = 0
        config.gmp = false
        let d = try dir("c0")
        let summary = try DirectionalPruning.run(config, in: d, options: options)
        XCTAssertEqual(summary.phases.map(\.phase), ["sgd", "grda"])
        XCTAssertEqual(try weights(d, "sgd"), try weights(d, "grda"))
        XCTAssertEqual(summary.phases[1].sparsity, 0)
        XCTAssertEqual(summary.phases[1].threshold, 0)
    }

    func testSparsityIsLoggedAndGMPMatchesTheNonzeroCount() throws {
        let config = quickConfig()
        let d = try dir("full")
        let s = try DirectionalPruning.run(config, in: d, options: options)
        XCTAssertEqual(s.phases.map(\.phase), ["sgd", "grda", "gmp"])
        let sgd = s.phases[0], grda = s.phases[1], gmp = s.phases[2]
        XCTAssertEqual(sgd.sparsity, 0)
        XCTAssertGreaterThan(grda.sparsity, 0.05, "c = 0.1 should zero a visible share of the weights")
        // The soft threshold of the last step, τ = c·γ^{μ+½}·n^μ (constant rate), is what the run reports.
        XCTAssertEqual(grda.threshold!, 0.1 * pow(Double(Float(0.05)), 1.05) * pow(40, 0.55), accuracy: 1e-9)
        // Per-tensor rows add up to the global figure.
        XCTAssertEqual(grda.layers.rows.reduce(0) { $0 + $1.remaining }, grda.layers.totalRemaining)
        XCTAssertEqual(1 - grda.layers.density, grda.sparsity, accuracy: 1e-12)
        // GMP ends with as many nonzero parameters as gRDA (all of its zeros in conv/linear weights).
        let nonzeroGRDA = grda.layers.totalRemaining, nonzeroGMP = gmp.layers.totalRemaining
        XCTAssertEqual(Double(nonzeroGMP), Double(nonzeroGRDA), accuracy: 1)
        XCTAssertEqual(gmp.sparsity, grda.sparsity, accuracy: 1e-4)
        XCTAssertNotNil(gmp.gmpTargetSparsity)

        // Every evaluation row logs global, weight and per-tensor sparsity beside loss and accuracy.
        let lines = try String(contentsOfFile: d.path("grda/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        let last = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        for key in ["sparsity", "weight_sparsity", "sparsity:fc1.weight", "sparsity:fc3.bias", "test_acc", "train_loss", "threshold"] {
            XCTAssertNotNil(last[key], "metrics lack \(key): \(last.keys.sorted())")
        }
        XCTAssertEqual((last["sparsity"] as! NSNumber).doubleValue, grda.sparsity, accuracy: 1e-12)
        // Sparsity rises through training (the threshold grows like n^μ).
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines.first!.utf8)) as? [String: Any])
        XCTAssertLessThan((first["sparsity"] as! NSNumber).doubleValue, grda.sparsity)
        for file in ["summary.json", "grda/config.json", "gmp/checkpoint.safetensors"] {   // summary.md, curves: GRDACommandTests
            XCTAssertTrue(d.fileExists(file), file)
        }
        // Re-running finds the finished run.
        XCTAssertEqual(try DirectionalPruning.run(config, in: d, options: options), s)
    }

    /// A run killed mid-gRDA (and one killed mid-GMP) and started again ends bit-identical to an uninterrupted run:
    /// the accumulator, step count and τ (and GMP's mask) come back from the checkpoint.
    func testResumeIsBitIdentical() throws {
        var config = quickConfig()
        config.baseline = false   // the SGD phase resumes through the same code; leave it out to keep the test short
        let a = try dir("a")
        let full = try DirectionalPruning.run(config, in: a, options: options)
        for (phase, at) in [(DirectionalPruning.Phase.grda, 20), (.gmp, 30)] {
            let b = try dir("b-\(phase.rawValue)")
            var stopped = options
            stopped.interrupt = Interrupt(stage: DirectionalPruning.Phase.allCases.firstIndex(of: phase)!, iteration: at)
            XCTAssertThrowsError(try DirectionalPruning.run(config, in: b, options: stopped)) { error in
                XCTAssertTrue(error is TrainingInterrupted, "\(error)")
            }
            XCTAssertFalse(b.fileExists("\(phase.rawValue)/result.json"))
            let resumed = try DirectionalPruning.run(config, in: b, options: options)
            for p in ["grda", "gmp"] { XCTAssertEqual(try weights(a, p), try weights(b, p), "\(p) after a stop in \(phase)") }
            XCTAssertEqual(resumed.phases.map(\.finalTestAccuracy), full.phases.map(\.finalTestAccuracy))
            XCTAssertEqual(resumed.phases.map(\.sparsity), full.phases.map(\.sparsity))
            let ma = try String(contentsOfFile: a.path("\(phase.rawValue)/metrics.jsonl"), encoding: .utf8)
            let mb = try String(contentsOfFile: b.path("\(phase.rawValue)/metrics.jsonl"), encoding: .utf8)
            XCTAssertEqual(ma.split(separator: "\n").count, mb.split(separator: "\n").count)
        }
    }

    func testBadInputIsRefusedWithAClearMessage() throws {
        func message(_ edit: (inout DirectionalPruningConfig) -> Void) -> String {
            var c = quickConfig()
            edit(&c)
            do { try c.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { $0.c = -1 }.contains("--c"))
        XCTAssertTrue(message { $0.mu = .nan }.contains("--mu"))
        XCTAssertTrue(message { $0.training.schedule = ScheduleSpec("drop") }.contains("--drop-at"))
        XCTAssertTrue(message { $0.training.epochs = nil; $0.training.iterations = 100; $0.training.schedule = ScheduleSpec("cifar") }.contains("--epochs"))
        XCTAssertTrue(message { $0.training.momentum = 0.9 }.contains("momentum"))
        XCTAssertTrue(message { $0.gmpBegin = 0.7 }.contains("--gmp-begin"))
        XCTAssertEqual(message { _ in }, "")

        // A different configuration in the same directory.
        let d = try dir("mismatch")
        var small = quickConfig()
        small.baseline = false; small.gmp = false; small.training.iterations = 10
        _ = try DirectionalPruning.run(small, in: d, options: options)
        small.mu = 0.6
        XCTAssertThrowsError(try DirectionalPruning.run(small, in: d, options: options)) { e in
            XCTAssertTrue("\(e)".contains("different configuration"), "\(e)")
        }
        // A NaN loss names the phase and what to try.
        var diverging = quickConfig()
        diverging.training.lr = 1e6; diverging.c = 0; diverging.baseline = false; diverging.gmp = false
        XCTAssertThrowsError(try DirectionalPruning.run(diverging, in: try dir("nan"), options: options)) { e in
            XCTAssertTrue("\(e)".contains("grda phase") && "\(e)".contains("--lr"), "\(e)")
        }
        // A checkpoint of another phase is refused.
        let other = try dir("other")
        var one = quickConfig()
        one.baseline = false; one.gmp = false
        var stopped = options
        stopped.interrupt = Interrupt(stage: 1, iteration: 10)
        XCTAssertThrowsError(try DirectionalPruning.run(one, in: other, options: stopped))
        try FileManager.default.createDirectory(atPath: other.path("sgd"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: other.path("grda/checkpoint.safetensors"), toPath: other.path("sgd/checkpoint.safetensors"))
        one.baseline = true
        try FileManager.default.removeItem(atPath: other.path("config.json"))
        XCTAssertThrowsError(try DirectionalPruning.run(one, in: other, options: options)) { e in
            XCTAssertTrue("\(e)".contains("phase 'grda'") && "\(e)".contains("expected 'sgd'"), "\(e)")
        }
    }
}
