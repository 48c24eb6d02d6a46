import XCTest
import ShearsIO
@testable import ShearsSweep

final class SweepStateTests: XCTestCase {
    private var root: String!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shears-sweep-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    private func plan() -> SweepPlan {
        let points = (0..<3).map { i in
            SweepPoint(index: i, label: "seed=\(i)", arguments: ["train", "--seed", "\(i)"], directory: "\(root!)/runs/train_\(i)", doneFile: "summary.json")
        }
        return SweepPlan(spec: SweepSpec(name: "s", command: ["train"], axes: []), points: points)
    }

    func testPointsListRoundTripsAndNamesMissingPoints() throws {
        let state = SweepState(directory: root + "/state"), plan = plan()
        XCTAssertThrowsError(try state.point(at: 0)) { XCTAssertTrue("\($0)".contains("run `shears sweep SPEC.yaml` first"), "\($0)") }
        try state.write(plan)
        XCTAssertEqual(try state.point(at: 2), plan.points[2])
        XCTAssertThrowsError(try state.point(at: 3)) { XCTAssertTrue("\($0)".contains("has 3 points; there is no point 3"), "\($0)") }
        var shuffled = plan
        shuffled.points.swapAt(0, 2)
        XCTAssertThrowsError(try state.write(shuffled)) { XCTAssertTrue("\($0)".contains("numbered 0, 1, 2"), "\($0)") }
    }

    func testStatusWaitingFailedRunningDone() throws {
        let state = SweepState(directory: root + "/state"), p = plan().points[0]
        try state.write(plan())
        XCTAssertEqual(state.status(of: p), .waiting)

        try "=== shears train\nEpoch 1\nError: something broke\n=== exit status 1\n".write(toFile: state.logPath(p), atomically: true, encoding: .utf8)
        try state.recordExit(p, status: 1)
        XCTAssertEqual(state.status(of: p), .failed(exitStatus: 1, lastLine: "Error: something broke"))

        try FileManager.default.removeItem(atPath: state.statusPath(p))  // killed: a log, no exit status
        XCTAssertEqual(state.status(of: p), .failed(exitStatus: nil, lastLine: "Error: something broke"))

        let lock = try RunLock.acquire(directory: p.directory)
        guard case .running(let holder) = state.status(of: p) else { return XCTFail("expected running, got \(state.status(of: p))") }
        XCTAssertEqual(holder.pid, getpid())
        lock.release()

        FileManager.default.createFile(atPath: p.directory + "/summary.json", contents: Data("{}".utf8))
        XCTAssertEqual(state.status(of: p), .done)
        XCTAssertTrue(p.isDone)
    }

    func testLogAndStatusNamesTellRunsRootsApart() {
        let a = SweepPoint(index: 0, label: "", arguments: [], directory: "/a/train_x", doneFile: "summary.json")
        var b = a
        b.directory = "/b/train_x"
        XCTAssertTrue(SweepState.key(a).hasPrefix("train_x-"))
        XCTAssertNotEqual(SweepState.key(a), SweepState.key(b))
    }

    func testSlurmArrayScript() {
        let state = SweepState(directory: "/shared/sweeps/s")
        let array = SlurmArray(state: state, executable: "/opt/shears bin/shears", jobName: "shears-s", cpusPerTask: 2,
                               maxConcurrent: 4, sbatchArguments: ["--partition=gpu", "--time=02:00:00"], workingDirectory: "/shared/work")
        XCTAssertEqual(SlurmArray.arraySpec([9, 0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-9")
        XCTAssertEqual(SlurmArray.arraySpec([4]), "4")
        let script = array.script(indices: [0, 1, 2, 5])
        XCTAssertTrue(script.hasPrefix("#!/bin/bash\n"))
        for line in ["#SBATCH --array=0-2,5%4", "#SBATCH --cpus-per-task=2", "#SBATCH --job-name=shears-s",
                     "#SBATCH --output=/shared/sweeps/s/slurm/%A_%a.out", "#SBATCH --chdir=/shared/work",
                     "exec '/opt/shears bin/shears' sweep exec /shared/sweeps/s \"$SLURM_ARRAY_TASK_ID\""] {
            XCTAssertTrue(script.contains(line + "\n"), "script lacks \(line):\n\(script)")
        }
        XCTAssertEqual(array.submitCommand, ["sbatch", "--parsable", "--partition=gpu", "--time=02:00:00", "/shared/sweeps/s/slurm/sweep.sbatch"])
    }
}
