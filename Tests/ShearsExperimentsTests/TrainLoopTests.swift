import Foundation
import XCTest
import ShearsData
@testable import ShearsExperiments
import ShearsIO
import ShearsNN
import ShearsOptim
import ShearsTensor

/// The one loop: hooks in order around every step, resumable from any iteration to the same weights, the one
/// checkpoint scheme with a protocol's extra state.
final class TrainLoopTests: RunTestCase {
    private func setup() throws -> TrainingSetup {
        var c = TrainingConfig()
        c.dataset = .synthetic; c.validation = 0; c.epochs = nil; c.iterations = 12; c.batchSize = 100; c.lr = 0.05
        return try TrainingSetup(c, prefetch: 0, say: { _ in })
    }

    private func loop(_ s: TrainingSetup) -> TrainLoop {
        TrainLoop(model: s.model, parameters: s.parameters, loader: s.loader, total: s.total, learningRate: { _ in 0.05 },
                  divergence: { loss, at in "diverged \(loss) at \(at)" })
    }

    func testHooksRunInOrderAroundEveryStep() throws {
        let s = try setup()
        var log: [String] = []
        let a = ClosureHook(before: { _, st in log.append("a.before \(st.iteration)") }, after: { _, st, _ in log.append("a.after \(st.iteration)") })
        let b = ClosureHook(before: { _, st in log.append("b.before \(st.iteration)") }, after: { _, st, _ in log.append("b.after \(st.iteration)") })
        var state = LoopState(optimizer: SGD(learningRate: 0.05))
        state.iteration = 10
        try loop(s).run(&state, hooks: [a, b])
        XCTAssertEqual(log, ["a.before 10", "b.before 10", "a.after 11", "b.after 11", "a.before 11", "b.before 11", "a.after 12", "b.after 12"])
        XCTAssertEqual(state.iteration, 12)
    }

    /// Stopping at any iteration and continuing from the checkpoint gives the weights of an uninterrupted loop, with
    /// a protocol's named state coming back from the checkpoint.
    func testCheckpointAndResumeAtAnyIterationAreBitIdentical() throws {
        let whole = try setup()
        var w = LoopState(optimizer: SGD(learningRate: 0.05, momentum: 0.9))
        try loop(whole).run(&w, hooks: [])
        for stop in [1, 5, 11] {
            let first = try setup()
            let path = scratch.appendingPathComponent("ck-\(stop).safetensors").path
            var st = LoopState(optimizer: SGD(learningRate: 0.05, momentum: 0.9))
            let save = ClosureHook(after: { _, s, _ in
                try Checkpoint.save(to: path, model: first.model, optimizer: s.optimizer, position: s.position,
                                    state: ProtocolState(fields: ["cycle": "7"]))
            })
            XCTAssertThrowsError(try loop(first).run(&st, hooks: [save, InterruptHook(atIteration: stop)])) { XCTAssertTrue($0 is TrainingInterrupted) }
            let second = try setup()
            let saved = try Checkpoint.load(path, into: second.model)
            XCTAssertEqual(try saved.int("cycle"), 7)
            XCTAssertEqual(saved.position.iteration, stop)
            var resumed = LoopState(position: saved.position, optimizer: SGD(learningRate: 0.05, momentum: 0.9))
            try saved.restore(&resumed.optimizer)
            try loop(second).run(&resumed, hooks: [])
            for ((n, p), (_, q)) in zip(whole.model.namedParameters, second.model.namedParameters) {
                XCTAssertEqual(p.value.scalars, q.value.scalars, "\(n) after a stop at \(stop)")
            }
        }
    }

    /// A run killed after logging its first metrics row but before its first checkpoint starts over without
    /// keeping that row twice.
    func testARestartWithoutCheckpointTrimsTheRowsItHadLogged() throws {
        var c = TrainingConfig()
        c.dataset = .synthetic; c.validation = 200; c.epochs = nil; c.iterations = 6; c.batchSize = 100; c.evalEvery = StepSpec(3, .iterations)
        let d = try dir("trim")
        try d.writeJSON(c, to: "config.json")
        try d.appendMetrics(["train_loss": 1], step: 3, epoch: 0.1)
        _ = try Trainer.run(c, in: d, options: quietOptions())
        let steps = try JSONLines.numericRows(from: d.path(RunDirectory.metricsJSONL)).map { $0["step"]! }
        XCTAssertEqual(steps, [3, 6])
    }
}
