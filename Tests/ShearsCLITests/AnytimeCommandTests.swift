import ArgumentParser
import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
@testable import shears

/// `shears anytime …` as a user types it.
final class AnytimeCommandTests: CommandTestCase {
    func testNonsenseFlagsAreRefusedNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["anytime", "--pruner", "vibes"], "pruner"),
            (["anytime", "--tau", "0.2"], "--tau"),
            (["anytime", "--megabatches", "0"], "--megabatches"),
            (["anytime", "--osp", "--pruner", "none"], "--osp"),
            (["anytime", "--replay", "sometimes"], "--replay"),
            (["anytime", "--milestones", "20ep,soon"], "--milestones"),
            (["anytime", "--milestones", "100it"], "--milestones"),
            (["anytime", "--mask-update", "creative"], "mask-update"),
            (["anytime", "--lr-policy", "wavy"], "lr-policy"),
            (["anytime", "--prune-fraction", "1.5"], "--prune-fraction"),
            (["anytime", "--epochs", "0"], "--epochs"),
        ]
        for (args, expected) in cases {
            let message = try XCTUnwrap(refusal(args), "\(args) was accepted")
            XCTAssertTrue(message.contains(expected), "\(args): \(message)")
        }
        XCTAssertNil(refusal(["anytime", "--pruner", "magnitude", "--replay", "buffer:100", "--milestones", "none"]))
        XCTAssertNil(refusal(["anytime", "run", "--osp", "--mask-update", "code-faithful", "--lr-policy", "non-cyclic"]))
    }

    func testRunsThenCompare() throws {
        let base = ["anytime", "--dataset", "synthetic", "--megabatches", "2", "--epochs", "1", "--milestones", "none",
                    "--batch-size", "60", "--lr", "0.05", "--threads", "1", "--prefetch", "0"]
        let app = scratch.appendingPathComponent("app").path, osp = scratch.appendingPathComponent("osp").path
        let dense = scratch.appendingPathComponent("dense").path
        try run(base + ["--out", app])
        try run(base + ["--osp", "--out", osp])
        try run(base + ["--pruner", "none", "--out", dense])
        let before = try String(contentsOfFile: app + "/summary.json", encoding: .utf8)
        try run(base + ["--out", app])   // the same command finds the finished run
        XCTAssertEqual(try String(contentsOfFile: app + "/summary.json", encoding: .utf8), before)
        // Another configuration in the same directory is refused.
        XCTAssertThrowsError(try run(base + ["--tau", "3", "--out", app])) { XCTAssertTrue("\($0)".contains("different configuration"), "\($0)") }

        let md = scratch.appendingPathComponent("t.md").path, svg = scratch.appendingPathComponent("fig").path
        try run(["anytime", "compare", "APP=\(app)", osp, dense, "--markdown", md, "--svg", svg])
        let table = try String(contentsOfFile: md, encoding: .utf8)
        let summary = try JSONDecoder().decode(AnytimeSummary.self, from: Data(before.utf8))
        let appRow = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("| APP |") }, table)
        XCTAssertTrue(appRow.contains("| app (snip) | 1 | \(String(format: "%.2f", 100 * summary.finalTestAccuracy)) | \(summary.cer) | 1200 |"), String(appRow))
        XCTAssertTrue(table.contains("| dense | dense |"), table)
        XCTAssertTrue(appRow.hasSuffix("| official |"), "the split the test numbers were measured on: \(appRow)")
        XCTAssertTrue(table.contains("| osp | osp (snip) |"), table)
        for suffix in ["accuracy", "gap", "density"] {
            let text = try String(contentsOfFile: "\(svg)-\(suffix).svg", encoding: .utf8)
            XCTAssertTrue(text.hasPrefix("<svg") || text.contains("<svg"), suffix)
            XCTAssertEqual(text.components(separatedBy: "<path").count - 1 >= 3, true, suffix)
        }
        // Runs under one name (seeds) form one row: mean ± sample std.
        let osps = try JSONDecoder().decode(AnytimeSummary.self, from: Data(contentsOf: URL(fileURLWithPath: osp + "/summary.json")))
        try run(["anytime", "compare", "both=\(app)", "both=\(osp)", "--markdown", md])
        let grouped = try String(contentsOfFile: md, encoding: .utf8)
        let cers = [Double(summary.cer), Double(osps.cer)], mean = cers.reduce(0, +) / 2
        let std = (cers.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)).squareRoot()   // n − 1 = 1
        XCTAssertTrue(grouped.contains("| both | app (snip) | 2 |"), grouped)
        XCTAssertTrue(grouped.contains(String(format: "| %.0f ± %.0f | 1200 |", mean, std)), grouped)
        XCTAssertThrowsError(try run(["anytime", "compare", scratch.path])) { XCTAssertTrue("\($0)".contains("summary.json"), "\($0)") }
    }
}
