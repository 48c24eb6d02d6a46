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
            (["prune", "oracle", "--schedule", "cosine"], "--schedule must be scyc"),
            (["prune", "oracle", "--schedule", "constant"], "got constant"),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["prune", "iterative", "--lr-schedule", "scyc", "--warmup", "10", "--drops", "10,20"]))
        XCTAssertNil(refusal(["prune", "oracle", "--grid", "0.01,0.02"]))
        XCTAssertNil(refusal(["prune", "oracle", "--schedule", "warmup", "--warmup", "10", "--drops", "10,20"]))
        // The README's command: the protocol's warmup and S-Cyc flags without naming a schedule (scyc is the default).
        XCTAssertNil(refusal(["prune", "oracle", "--split", "pooled", "--model", "lenet300-100", "--iterations", "1400", "--cycles", "18",
                              "--warmup", "440", "--drops", "440,560", "--grid", "0.02,0.03,0.05,0.07,0.1", "--l-min", "0.05", "--l-amp", "0.05"]))
        let oracle = try XCTUnwrap(try Shears.parseAsRoot(["prune", "oracle", "--warmup", "440", "--drops", "440,560", "--l-min", "0.05"]) as? PruneOracle)
        let config = try oracle.makeConfig()
        XCTAssertEqual(config.pruning.training.schedule.name, "scyc")
        XCTAssertEqual(try config.sCycMaxLR(cycle: 0), 0.05, accuracy: 1e-12, "l_min in the No-Growth cycles (Eq. 2, m ≤ q = 1)")
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
        try run(["prune", "compare", a, "S-Cyc=\(b)", "--markdown", md, "--svg", svg, "--title", "test"])
        let table = try String(contentsOfFile: md, encoding: .utf8)
        XCTAssertTrue(table.contains("| remaining (%) | constant (pooled) | S-Cyc (pooled) |"), table)
        XCTAssertTrue(table.contains("- **S-Cyc**: `\(b)`, 1 run, pooled split"), "NAME=DIR names the column; the split is said: \(table)")
        // Every cell of a one-run summary is the early-stop test accuracy of that run, in percent, in its level's row.
        let summary = try JSONDecoder().decode(IterativePruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: a + "/summary.json")))
        let row80 = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("| 80.00 |") }, table)
        let cell = String(format: "%.2f", 100 * summary.cycles[1].testAccuracyAtBestValidation.mean)
        XCTAssertTrue(row80.contains(cell), "\(row80) lacks \(cell)")
        XCTAssertTrue(try String(contentsOfFile: svg, encoding: .utf8).contains("test accuracy at best validation (%)"))

        // A directory that is not a finished run is named in the error.
        XCTAssertThrowsError(try run(["prune", "compare", scratch.path])) { error in
            XCTAssertTrue("\(error)".contains("summary.json"), "\(error)")
        }
    }

    /// Runs at different rates are aligned by their own measured % remaining, not by cycle index: the 0.5 run's
    /// 50 %-remaining value sits in the 50.00 row, never under 80 %; the chart's x is % remaining (log axis on request).
    func testCompareAlignsRunsByTheirOwnPercentRemaining() throws {
        let base = ["--dataset", "synthetic", "--split", "pooled", "--iterations", "5", "--eval-every", "5it", "--cycles", "2", "--threads", "1",
                    "--prefetch", "0", "--lr", "0.05"]
        let slow = scratch.appendingPathComponent("prune_aaaa_rate=0.2").path, fast = scratch.appendingPathComponent("prune_bbbb_rate=0.5").path
        try run(["prune", "iterative"] + base + ["--rate", "0.2", "--out", slow])
        try run(["prune", "iterative"] + base + ["--rate", "0.5", "--out", fast])
        let md = scratch.appendingPathComponent("t.md").path, svg = scratch.appendingPathComponent("t.svg").path
        try run(["prune", "compare", slow, fast, "--markdown", md, "--svg", svg, "--log-x"])
        let table = try String(contentsOfFile: md, encoding: .utf8)
        let rows = table.split(separator: "\n").filter { $0.first == "|" && !$0.hasPrefix("| remaining") && !$0.hasPrefix("|---") }
        XCTAssertEqual(rows.map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }, ["100.00", "80.00", "64.00", "50.00", "25.00"],
                       "one row per distinct level, largest first: \(table)")
        func accuracy(_ dir: String, cycle: Int) throws -> String {
            let s = try JSONDecoder().decode(IterativePruningSummary.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/summary.json")))
            return String(format: "%.2f", 100 * s.cycles[cycle].testAccuracyAtBestValidation.mean)
        }
        func cells(_ row: Substring) -> [String] { row.split(separator: "|").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "**", with: "") } }
        XCTAssertEqual(cells(rows[1]), [try accuracy(slow, cycle: 1), "–"], "80 %: the 0.2 run's cycle 1 only")
        XCTAssertEqual(cells(rows[3]), ["–", try accuracy(fast, cycle: 1)], "50 %: the 0.5 run's cycle 1 only")
        XCTAssertEqual(cells(rows[4]), ["–", try accuracy(fast, cycle: 2)])
        XCTAssertFalse(rows[1].contains("**"), "a level only one run reached has no best to mark")
        // Directory names holding '=' are directories, not NAME=DIR.
        XCTAssertTrue(table.contains("| prune_aaaa_rate=0.2 (pooled) | prune_bbbb_rate=0.5 (pooled) |"), table)
        let chart = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(chart.contains("prunable weights remaining (%, log scale)"), chart)
        for tick in [">20<", ">50<", ">100<"] { XCTAssertTrue(chart.contains(tick), "log tick \(tick)") }
        XCTAssertFalse(chart.contains("0.8^m"), "no hard-coded schedule in the axis")
    }
}
