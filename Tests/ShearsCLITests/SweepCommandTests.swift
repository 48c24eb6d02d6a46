import ArgumentParser
import Foundation
import XCTest
import ShearsIO
import ShearsSweep
@testable import shears

/// `shears sweep` as a user types it: points named by the commands themselves, the local pool with real worker
/// processes (the `shears` binary next to this test binary), resume, a locked point, a failing point, refusals.
final class SweepCommandTests: CommandTestCase {
    /// A tiny training: synthetic data, 2 iterations.
    private let tiny = "train --dataset synthetic --iterations 2 --eval-every 2it --validation 200 --prefetch 0"

    private var shearsBinary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shears").path
    }

    private func writeSpec(_ name: String, _ text: String) throws -> String {
        let path = scratch.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func naming(_ args: [String]) throws -> RunDirectoryNaming {
        let command = try Shears.parseAsRoot(args)
        return try XCTUnwrap(command as? RunDirectoryNaming, "\(args) does not name a run directory")
    }

    func testEveryRunCommandNamesItsDirectoryFromItsHyperparameters() throws {
        let cases: [([String], String, String)] = [
            (["train"], "train_", "--lr"),
            (["prune", "iterative"], "prune_", "--rate"),
            (["prune", "oracle"], "oracle_", "--tolerance"),
            (["prune", "grda"], "grda_", "--mu"),
            (["anytime"], "anytime-app_", "--tau"),
            (["prune", "oneshot", "--at-init", "--finetune-epochs", "1"], "oneshot_", "--sparsity"),
            (["prune", "dynamic", "--method", "rigl"], "dynamic-rigl_", "--update-every"),
        ]
        let values = ["--lr": "0.05", "--rate": "0.3", "--tolerance": "0.01", "--mu": "0.6", "--tau": "3", "--sparsity": "0.5",
                      "--update-every": "50"]
        for (command, prefix, flag) in cases {
            let root = ["--runs-root", "/r"]
            let base = try naming(command + root).runDirectoryPath()
            XCTAssertTrue(base.hasPrefix("/r/" + prefix), "\(command): \(base)")
            XCTAssertEqual(try naming(command + root + ["--threads", "1"]).runDirectoryPath(), base, "\(command): --threads changes no result")
            XCTAssertNotEqual(try naming(command + root + [flag, values[flag]!]).runDirectoryPath(), base, "\(command) \(flag)")
            XCTAssertEqual(try naming(command + ["--out", "/x/y"]).runDirectoryPath(), "/x/y")
        }
        XCTAssertEqual(try naming(["prune", "oracle"]).runFinishedFile, "oracle.json")
        XCTAssertEqual(try naming(["train"]).runFinishedFile, "summary.json")
    }

    func testTheNamedDirectoryIsTheOneTheCommandRunsIn() throws {
        let args = try splitCommandLine(tiny) + ["--runs-root", scratch.path, "--seed", "3"]
        let named = try naming(args).runDirectoryPath()
        try run(args)
        XCTAssertTrue(FileManager.default.fileExists(atPath: named + "/summary.json"), named)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("train_") },
                       [(named as NSString).lastPathComponent])
    }

    func testLocalPoolRunsResumesAndLeavesALockedPointToItsHolder() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: shearsBinary), "build the shears binary first: \(shearsBinary)")
        let runs = scratch.appendingPathComponent("runs").path, stateDir = scratch.appendingPathComponent("state").path
        let spec = try writeSpec("s.yaml", "command: \(tiny) --runs-root \(runs)\naxes:\n  seed: [0, 1, 2]\n")
        let sweep = ["sweep", spec, "--jobs", "2", "--shears-binary", shearsBinary, "--state-dir", stateDir]
        let plan = try SweepOptions.parse([spec]).plan(threads: nil)
        XCTAssertEqual(plan.points.count, 3)

        // Another process "runs" point 1: its lock is held here, and the worker processes leave it alone.
        let held = try RunLock.acquire(directory: plan.points[1].directory)
        try run(sweep)
        let state = SweepState(directory: stateDir)
        XCTAssertEqual(state.status(of: plan.points[0]), .done)
        XCTAssertEqual(state.status(of: plan.points[2]), .done)
        guard case .running(let holder) = state.status(of: plan.points[1]) else { return XCTFail("point 1 should show as running") }
        XCTAssertEqual(holder.pid, getpid())
        XCTAssertFalse(plan.points[1].isDone)
        // A worker process started on it anyway (another sweep's) refuses at once and runs nothing.
        let worker = Process()
        worker.executableURL = URL(fileURLWithPath: shearsBinary)
        worker.arguments = ["sweep", "exec", stateDir, "1"]
        worker.standardError = FileHandle.nullDevice
        try worker.run()
        worker.waitUntilExit()
        XCTAssertEqual(worker.terminationStatus, PointExecution.busyStatus)
        XCTAssertFalse(FileManager.default.fileExists(atPath: state.logPath(plan.points[1])))
        held.release()

        // Re-running resumes: only point 1 runs; the finished ones are not started again.
        try run(sweep)
        XCTAssertEqual(plan.points.map(state.status), [.done, .done, .done])
        for p in plan.points {
            let log = try String(contentsOfFile: state.logPath(p), encoding: .utf8)
            XCTAssertEqual(log.components(separatedBy: "=== shears sweep: point").count - 1, 1, "point \(p.index) ran more than once:\n\(log)")
            XCTAssertTrue(log.contains("--threads 1"), "2 cores / 2 jobs → 1 thread per point:\n\(log)")
        }
    }

    func testAFailingPointIsReportedWithItsLastLogLine() throws {
        let runs = scratch.appendingPathComponent("runs").path, stateDir = scratch.appendingPathComponent("state").path
        let spec = try writeSpec("bad.yaml", "command: \(tiny) --runs-root \(runs)\naxes:\n  init: [/nonexistent/w.safetensors]\n")
        XCTAssertThrowsError(try run(["sweep", spec, "--shears-binary", shearsBinary, "--state-dir", stateDir])) { error in
            XCTAssertEqual((error as? ExitCode)?.rawValue, 1)
        }
        let plan = try SweepOptions.parse([spec]).plan(threads: nil)
        let status = SweepState(directory: stateDir).status(of: plan.points[0])
        guard case .failed(let rc, let last) = status else { return XCTFail("expected failed, got \(status)") }
        XCTAssertEqual(rc, 1)  // what `shears train` exits with when run() throws
        XCTAssertTrue(last.contains("/nonexistent/w.safetensors"), last)
    }

    func testWorkerOfAMissingPointAndNonsenseFlagsAreRefused() throws {
        XCTAssertEqual(PointExecution.run(state: SweepState(directory: scratch.path), index: 0) { _ in 0 }, PointExecution.noPointStatus)
        let spec = try writeSpec("s.yaml", "command: \(tiny)\naxes:\n  seed: [0]\n")
        let cases: [([String], String)] = [
            (["sweep", spec, "--jobs", "0"], "--jobs"),
            (["sweep", spec, "--threads", "0"], "--threads"),
            (["sweep", spec, "--wait"], "--slurm"),
            (["sweep", spec, "--slurm", "--slurm-args", "partition=gpu"], "--slurm-args"),
            (["sweep", "exec", scratch.path, "--", "-1"], "INDEX"),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["sweep", spec, "--slurm", "--slurm-args", "--partition=gpu --time=1:00:00"]))
        XCTAssertThrowsError(try run(["sweep", spec, "--shears-binary", "/nonexistent/shears", "--state-dir", scratch.path + "/st"])) {
            XCTAssertTrue("\($0)".contains("/nonexistent/shears: --shears-binary: not an executable file"), "\($0)")
        }
    }

    func testDryRunsRunAndWriteNothing() throws {
        let runs = scratch.appendingPathComponent("runs").path, stateDir = scratch.appendingPathComponent("state").path
        let spec = try writeSpec("s.yaml", "command: \(tiny) --runs-root \(runs)\naxes:\n  seed: [0, 1]\n")
        try run(["sweep", spec, "--dry-run", "--state-dir", stateDir])
        try run(["sweep", spec, "--slurm", "--dry-run", "--slurm-args", "--partition=debug", "--state-dir", stateDir])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir))
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs))
    }
}
