import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
import ShearsOptim

/// Base of the report tests (as ShearsExperimentsTests' RunTestCase): a fresh scratch directory per test for run directories.
class ReportTestCase: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("shears-\(String(describing: type(of: self)))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// One thread, no output, no prefetch; optionally stopped (as if killed) after a cycle / megabatch or iteration.
    func quietOptions(stopAfterCycle: Int? = nil, stopAfterIteration: Int? = nil) -> TrainingOptions {
        var o = TrainingOptions()
        o.threads = 1; o.quiet = true; o.terminalProgress = false; o.prefetch = 0
        if stopAfterCycle != nil || stopAfterIteration != nil {
            o.interrupt = Interrupt(stage: stopAfterCycle ?? 0, iteration: stopAfterIteration)
        }
        return o
    }

    /// A small iterative-pruning run: LeNet-300-100 on the synthetic set, 20 iterations of 50 per cycle, lr 0.05.
    func quickPruningConfig(cycles: Int = 2, evalEvery: Int) -> IterativePruningConfig {
        var c = IterativePruningConfig()
        c.training.split = .pooled   // S-Cyc's protocol (the synthetic set is too small for a 5,000-image hold-out)
        c.training.model = .lenet300100
        c.training.dataset = .synthetic
        c.training.epochs = nil
        c.training.iterations = 20
        c.training.batchSize = 50
        c.training.lr = 0.05
        c.training.evalEvery = StepSpec(evalEvery, .iterations)
        c.cycles = cycles
        return c
    }

    /// The run directory `name` inside the scratch directory.
    func dir(_ name: String) throws -> RunDirectory { try RunDirectory(path: scratch.appendingPathComponent(name).path) }
}
