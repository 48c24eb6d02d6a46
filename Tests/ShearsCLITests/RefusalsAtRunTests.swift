import Foundation
import XCTest
@testable import shears

/// Refusals that only running can find (the directory's state, not the flags): each names what is wrong and what
/// was expected, and leaves nothing behind.
final class RefusalsAtRunTests: CommandTestCase {
    private func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try run(arguments); XCTFail("\(arguments) ran", file: file, line: line); return "" } catch { return "\(error)" }
    }

    /// `prune oracle-trial`, the hidden worker of `prune oracle --jobs/--slurm`, on the wrong directory, an off-grid
    /// max_lr, and a cycle the oracle has not reached; `--slurm-args` without `--slurm`.
    func testOracleTrialRefusals() throws {
        let oracle = scratch.appendingPathComponent("oracle").path
        try run(["prune", "oracle", "--dataset", "synthetic", "--split", "pooled", "--iterations", "6", "--eval-every", "6it", "--cycles", "1",
                 "--rate", "0.5", "--grid", "0.02,0.05", "--warmup", "2", "--drops", "4", "--threads", "1", "--prefetch", "0", "--out", oracle])
        let trial = ["--threads", "1", "--prefetch", "0"]
        XCTAssertTrue(failure(["prune", "oracle-trial", oracle, "--cycle", "0", "--max-lr", "0.5"] + trial).contains("not on the oracle's grid"))
        let ahead = failure(["prune", "oracle-trial", oracle, "--cycle", "4", "--max-lr", "0.05"] + trial)
        XCTAssertTrue(ahead.contains("has not reached cycle 4"), ahead)
        let nowhere = scratch.appendingPathComponent("nowhere").path
        XCTAssertTrue(failure(["prune", "oracle-trial", nowhere, "--cycle", "0", "--max-lr", "0.05"] + trial).contains("no such directory"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: nowhere), "a mistyped directory is not created")
        let train = scratch.appendingPathComponent("train").path
        try run(["train", "--dataset", "synthetic", "--validation", "100", "--iterations", "2", "--eval-every", "2it", "--threads", "1",
                 "--prefetch", "0", "--out", train])
        let other = failure(["prune", "oracle-trial", train, "--cycle", "0", "--max-lr", "0.05"] + trial)
        XCTAssertTrue(other.contains("not a prune oracle directory"), other)
        XCTAssertTrue(refusal(["prune", "oracle", "--slurm-args", "--partition=cpu"])?.contains("--slurm-args goes with --slurm") ?? false)
    }

    /// An unfinished run continued with another --sparse-kernels is refused naming the mode it was run with.
    func testSparseKernelsModeIsTheRunsOwn() throws {
        let out = scratch.appendingPathComponent("imp").path
        let args = ["prune", "iterative", "--dataset", "synthetic", "--split", "pooled", "--iterations", "4", "--eval-every", "2it",
                    "--cycles", "1", "--threads", "1", "--prefetch", "0", "--out", out]
        try run(args + ["--sparse-kernels", "on"])
        try run(args + ["--sparse-kernels", "off"])   // finished: reported whatever the mode
        try FileManager.default.removeItem(atPath: out + "/summary.json")
        let message = failure(args + ["--sparse-kernels", "off"])
        XCTAssertTrue(message.contains("--sparse-kernels on"), message)
        try run(args + ["--sparse-kernels", "on"])
    }
}
