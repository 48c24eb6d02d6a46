import Foundation
import XCTest
import ShearsData
import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsNN
import ShearsTensor

final class TrainerTests: RunTestCase {
    private func quickConfig() -> TrainingConfig {
        var c = TrainingConfig()
        c.model = .lenet300100
        c.dataset = .synthetic
        c.epochs = 2
        c.batchSize = 50
        c.lr = 0.05
        c.validation = 200
        c.evalEvery = StepSpec(10, .iterations)
        return c
    }

    private func options(stopAfter: Int? = nil) -> TrainingOptions {
        var o = TrainingOptions()
        o.threads = 1
        o.quiet = true
        o.terminalProgress = false
        o.interrupt = stopAfter.map { Interrupt(iteration: $0) }
        return o
    }

    /// The acceptance test of resumable runs: a run stopped after a checkpoint and started again ends with
    /// bit-identical weights and metrics to an uninterrupted run.
    func testResumeGivesBitIdenticalWeights() throws {
        let config = quickConfig()
        let a = try dir("a"), b = try dir("b")
        let full = try Trainer.run(config, in: a, options: options())
        XCTAssertThrowsError(try Trainer.run(config, in: b, options: options(stopAfter: 25))) { error in
            XCTAssertTrue(error is TrainingInterrupted)
        }
        XCTAssertFalse(b.fileExists("summary.json"))
        let resumed = try Trainer.run(config, in: b, options: options())

        let wa = try SafetensorsFile.read(path: a.url.appendingPathComponent("model.safetensors").path)
        let wb = try SafetensorsFile.read(path: b.url.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(Set(wa.tensors.keys), Set(wb.tensors.keys))
        for (name, t) in wa.tensors { XCTAssertEqual(t.scalars, wb.tensors[name]!.scalars, "weights of \(name) differ after resume") }
        XCTAssertEqual(full.final, resumed.final)
        XCTAssertEqual(full.testAccuracyAtBestValidation, resumed.testAccuracyAtBestValidation)
        XCTAssertEqual(full.bestIteration, resumed.bestIteration)
        // The metrics log of the resumed run has each evaluation exactly once.
        let rows = try String(contentsOf: b.url.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let rowsA = try String(contentsOf: a.url.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, rowsA.count)
        XCTAssertGreaterThan(full.final["test"]!.accuracy, 0.5, "the synthetic task is learnable")
    }

    func testSecondRunOfACompleteRunReturnsItsSummary() throws {
        let config = quickConfig()
        let a = try dir("a")
        let first = try Trainer.run(config, in: a, options: options())
        let again = try Trainer.run(config, in: a, options: options())
        XCTAssertEqual(first, again)
    }

    func testDifferentConfigurationInTheSameDirectoryIsRefused() throws {
        var config = quickConfig()
        let a = try dir("a")
        XCTAssertThrowsError(try Trainer.run(config, in: a, options: options(stopAfter: 10)))
        config.lr = 0.01
        XCTAssertThrowsError(try Trainer.run(config, in: a, options: options())) { error in
            XCTAssertTrue("\(error)".contains("different configuration"), "\(error)")
        }
    }

    func testDivergingLossStopsWithAClearMessageAndKeepsTheCheckpoint() throws {
        var config = quickConfig()
        config.lr = 1e9
        config.momentum = 0
        config.evalEvery = StepSpec(1, .iterations)
        let a = try dir("a")
        XCTAssertThrowsError(try Trainer.run(config, in: a, options: options())) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("loss became") && text.contains("--lr"), text)
        }
        XCTAssertTrue(a.fileExists(Checkpoint.fileName), "the last good checkpoint stays")
    }

    func testInitFromMismatchedWeightsIsRefusedBeforeTraining() throws {
        var g = Generator(seed: 3)
        let other = MLP(inputs: 64, hidden: [32], classes: 10, generator: &g)
        let path = scratch.appendingPathComponent("other.safetensors").path
        try saveStateDict(other, to: path)
        var config = quickConfig()
        config.initFrom = path
        let a = try dir("a")
        XCTAssertThrowsError(try Trainer.run(config, in: a, options: options())) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("fc3.weight") && text.contains("fc1.weight"), text)
        }
        XCTAssertFalse(a.fileExists(Checkpoint.fileName), "nothing starts")
    }

    func testInitFromSavedWeightsStartsThere() throws {
        var config = quickConfig()
        config.iterations = 1; config.epochs = nil; config.lr = 1e-12; config.momentum = 0
        let a = try dir("a")
        _ = try Trainer.run(config, in: a, options: options())
        let saved = a.url.appendingPathComponent("model.safetensors").path
        config.initFrom = saved
        config.seed = 99   // a different init that --init must override
        let b = try dir("b")
        _ = try Trainer.run(config, in: b, options: options())
        let wa = try SafetensorsFile.read(path: saved)
        let wb = try SafetensorsFile.read(path: b.url.appendingPathComponent("model.safetensors").path)
        for (name, t) in wa.tensors { XCTAssertLessThanOrEqual(t.maxAbsDifference(wb.tensors[name]!), 1e-6, name) }
    }

    func testConfigValidationNamesTheFlag() {
        var c = TrainingConfig()
        c.epochs = nil
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--epochs")) }
        c = TrainingConfig(); c.lr = -1
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--lr")) }
        c = TrainingConfig(); c.schedule = ScheduleSpec("multistep")
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--milestones")) }
        c = TrainingConfig(); c.dataset = .cifar10
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--data-dir")) }
    }

    func testRunNameComesFromNonDefaultFields() {
        var c = TrainingConfig()
        XCTAssertTrue(c.nonDefaultFields.isEmpty)
        c.lr = 0.05; c.seed = 3
        XCTAssertEqual(Set(c.nonDefaultFields.keys), ["lr", "seed"])
        let n1 = runDirectoryName(prefix: "train", nonDefault: c.nonDefaultFields)
        XCTAssertEqual(n1, runDirectoryName(prefix: "train", nonDefault: c.nonDefaultFields))
        c.seed = 4
        XCTAssertNotEqual(n1, runDirectoryName(prefix: "train", nonDefault: c.nonDefaultFields))
    }

    func testStepSpecParsing() {
        XCTAssertEqual(StepSpec(parsing: "80ep"), StepSpec(80, .epochs))
        XCTAssertEqual(StepSpec(parsing: "500it"), StepSpec(500, .iterations))
        XCTAssertEqual(StepSpec(parsing: "7"), StepSpec(7, .iterations))
        XCTAssertNil(StepSpec(parsing: "-3ep"))
        XCTAssertNil(StepSpec(parsing: "soon"))
        XCTAssertEqual(StepSpec(3, .epochs).iterations(perEpoch: 100), 300)
    }
}
