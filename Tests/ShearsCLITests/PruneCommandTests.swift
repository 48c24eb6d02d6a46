import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
@testable import shears

/// `shears prune …` as a user types it: flag parsing and its messages, a small end-to-end run, the comparison table.
final class PruneCommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["prune", "iterative", "--rate", "1.5"], "--rate"),
            (["prune", "iterative", "--cycles", "-1"], "--cycles"),
            (["prune", "iterative", "--retrain", "rewind-sometimes"], "--retrain"),
            (["prune", "iterative", "--criterion", "vibes"], "criterion"),
            (["prune", "iterative", "--lr-schedule", "scyc", "--beta", "0"], "--beta"),
            (["prune", "iterative", "--drops", "10,x"], "--drops"),
            (["prune", "iterative", "--eval-every", "soon"], "--eval-every"),
            (["prune", "iterative", "--distribution-batches", "0"], "--distribution-batches"),
            (["prune", "oracle", "--grid", "0.1,abc"], "--grid"),
            (["prune", "oracle", "--grid", "0.1,0.05"], "increasing"),
            (["prune", "oracle", "--runs", "3"], "--runs"),
            (["prune", "oracle", "--retrain", "fine-tune"], "--retrain"),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["prune", "iterative", "--lr-schedule", "scyc", "--warmup", "10", "--drops", "10,20"]))
        XCTAssertNil(refusal(["prune", "oracle", "--grid", "0.01,0.02"]))
    }

    func testIterativeRunThenCompare() throws {
        let base = ["--dataset", "synthetic", "--split", "pooled", "--iterations", "10", "--eval-every", "5it", "--cycles", "1", "--threads", "1",
                    "--prefetch", "0", "--lr", "0.05"]
        let a = scratch.appendingPathComponent("constant").path, b = scratch.appendingPathComponent("scyc").path
        try run(["prune", "iterative"] + base + ["--out", a])
        try run(["prune", "iterative"] + base + ["--lr-schedule", "scyc", "--l-min", "0.02", "--l-amp", "0.02", "--warmup", "4",
                                                 "--drops", "8", "--out", b, "--distributions", "--distribution-batches", "1"])
        for d in [a, b] { XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/summary.json"), d) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: b + "/run_0/distributions/stats.json"))
        // Re-running the same command finds the finished run and changes nothing.
        let before = try String(contentsOfFile: a + "/summary.json", encoding: .utf8)
        try run(["prune", "iterative"] + base + ["--out", a])
        XCTAssertEqual(try String(contentsOfFile: a + "/summary.json", encoding: .utf8), before)

        let md = scratch.appendingPathComponent("t.md").path, svg = scratch.appendingPathComponent("t.svg").path
        try run(["prune", "compare", a, b, "--markdown", md, "--svg", svg, "--title", "test"])
        let table = try String(contentsOfFile: md, encoding: .utf8)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| constant") || $0.hasPrefix("| scyc") }
        XCTAssertEqual(rows.count, 2, table)
        XCTAssertTrue(table.contains("| schedule | runs | 100 | 80 |"), table)
        // Every cell of a one-run summary is the early-stop test accuracy of that run, in percent.
        let summary = try JSONDecoder().decode(IterativePruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: a + "/summary.json")))
        let cell = String(format: "%.2f", 100 * summary.cycles[1].testAccuracyAtBestValidation.mean)
        XCTAssertTrue(rows[0].contains(cell), "\(rows[0]) lacks \(cell)")
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).contains("test accuracy at best validation (%)"))

        // A directory that is not a finished run is named in the error.
        XCTAssertThrowsError(try run(["prune", "compare", scratch.path])) { error in
            XCTAssertTrue("\(error)".contains("summary.json"), "\(error)")
        }
    }
}
