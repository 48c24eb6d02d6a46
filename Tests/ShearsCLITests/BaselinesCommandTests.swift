import Foundation
import XCTest
import ShearsExperiments
import ShearsIO
@testable import shears

/// The baselines of issue #19 as typed: GraSP at initialisation, `prune dynamic` (SET, RigL) and its refusals, and
/// one-shot and dynamic runs as points beside iterative pruning in `prune compare` and `report`.
final class BaselinesCommandTests: CommandTestCase {
    let small = ["--dataset", "synthetic", "--split", "pooled", "--threads", "1", "--prefetch", "0"]

    private func dynamicRun(_ name: String, method: String = "set") throws -> String {
        let out = scratch.appendingPathComponent(name).path
        try run(["prune", "dynamic", "--method", method, "--sparsity", "0.8", "--distribution", "uniform", "--update-every", "10",
                 "--drop-fraction", "0.3", "--drop-schedule", "constant", "--end-update", "0.5", "--iterations", "40", "--eval-every", "20it",
                 "--out", out] + small)
        return out
    }

    func testGraSPAtInitialisationThroughTheCLI() throws {
        let out = scratch.appendingPathComponent("grasp").path
        try run(["prune", "oneshot", "--at-init", "--criterion", "grasp", "--sparsity", "0.8", "--finetune-epochs", "1", "--out", out] + small)
        let s = try XCTUnwrap(try RunDirectory(path: out).readJSON(OneShotSummary.self, from: "summary.json"))
        XCTAssertEqual(s.criterion, "grasp")
        XCTAssertEqual(s.percentRemaining, 20, accuracy: 0.01)
        let mask = try SafetensorsFile.read(path: out + "/mask.safetensors").tensors
        XCTAssertEqual(mask.values.reduce(0) { $0 + $1.scalars.reduce(0, +) }, Float(s.remaining))
    }

    func testDynamicRunsAtConstantSparsityForBothMethods() throws {
        for method in ["set", "rigl"] {
            let out = try dynamicRun("dynamic-\(method)", method: method)
            let s = try XCTUnwrap(try RunDirectory(path: out).readJSON(DynamicSparseSummary.self, from: "summary.json"))
            XCTAssertEqual(s.method, method)
            XCTAssertEqual(s.percentRemaining, 20, accuracy: 1e-9, "uniform: n − ⌈0.8 n⌉ of every LeNet-300-100 layer")
            XCTAssertEqual(s.maskUpdates, 1, "ΔT = 10 before 0.5 · 40: only at 10")
        }
    }

    func testRefusalsNameTheFlagAndTheRange() {
        let base = ["prune", "dynamic", "--method", "rigl"] + small
        func says(_ extra: [String], _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
            let message = refusal(base + extra) ?? "(accepted)"
            for w in words { XCTAssertTrue(message.contains(w), "\(extra): \(message)", file: file, line: line) }
        }
        says(["--sparsity", "1"], ["--sparsity", "(0, 1)"])
        says(["--sparsity", "0"], ["--sparsity", "(0, 1)"])
        says(["--update-every", "0"], ["--update-every", "between 1"])
        says(["--update-every", "-5"], ["--update-every"])
        says(["--drop-fraction", "0"], ["--drop-fraction", "(0, 1]"])
        says(["--drop-fraction", "1.5"], ["--drop-fraction", "(0, 1]"])
        says(["--end-update", "0"], ["--end-update", "(0, 1]"])
        says(["--end-update", "1.2"], ["--end-update", "(0, 1]"])
        XCTAssertTrue(refusal(["prune", "dynamic"] + small)?.contains("--method") ?? false, "the method must be named")
        XCTAssertTrue(refusal(["prune", "dynamic", "--method", "snip"] + small)?.contains("set") ?? false)
        XCTAssertNil(refusal(base + ["--drop-fraction", "1", "--end-update", "1"]), "the closed ends are allowed")
        // gmp's --begin-update: 0 ≤ begin < end ≤ 1, both flags named; refused for SET and RigL, which ignore it.
        let gmp = ["prune", "dynamic", "--method", "gmp"] + small
        for bad in [["--begin-update=-0.1"], ["--begin-update", "0.75"], ["--begin-update", "0.5", "--end-update", "0.4"],
                    ["--begin-update", "1.5", "--end-update", "1"]] {
            let message = refusal(gmp + bad) ?? "(accepted)"
            XCTAssertTrue(message.contains("--begin-update") && message.contains("--end-update"), "\(bad): \(message)")
        }
        XCTAssertNil(refusal(gmp + ["--begin-update", "0", "--end-update", "1"]), "the closed ends are allowed")
        XCTAssertTrue(refusal(base + ["--begin-update", "0.2"])?.contains("--method gmp") ?? false, "rigl refuses --begin-update")
    }

    /// gmp through the CLI: dense at first, 20 % remaining at the end, % remaining falling in the metrics.
    func testGMPPrunesGraduallyToTheTarget() throws {
        let out = scratch.appendingPathComponent("gmp").path
        try run(["prune", "dynamic", "--method", "gmp", "--sparsity", "0.8", "--distribution", "uniform", "--update-every", "5",
                 "--begin-update", "0", "--end-update", "0.6", "--iterations", "40", "--eval-every", "10it", "--out", out] + small)
        let s = try XCTUnwrap(try RunDirectory(path: out).readJSON(DynamicSparseSummary.self, from: "summary.json"))
        XCTAssertEqual(s.method, "gmp")
        XCTAssertEqual(s.percentRemaining, 20, accuracy: 1e-9, "uniform: n − ⌈0.8 n⌉ of every layer at the end")
        XCTAssertEqual(s.maskUpdates, 4, "t₀ = 0, steps at 5, 10, 15, 20 (the last before 0.6 · 40 = 24)")
        let rows = try JSONLines.numericRows(from: out + "/metrics.jsonl").map { $0["percent_remaining"]! }
        XCTAssertEqual(rows.count, 4)
        XCTAssertTrue(rows[0] < 100 && rows[0] > rows[1] && rows[1] == 20 && rows[3] == 20, "\(rows)")
        // `report` draws it as one point at its final % remaining, like SET and RigL.
        let report = scratch.appendingPathComponent("report-gmp").path
        try run(["report", out, "--out", report])
        let md = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("Pruning at one sparsity (1 run directory)") && md.contains("| 20.00 |") && md.contains("gmp"), md)
    }

    /// Iterative pruning to 50 %, GraSP one-shot and SET dynamic at 20 %: `prune compare` puts the two 20 % points in one
    /// row, each its own early-stop accuracy; `report` draws them in one pruning section (and a dynamic run alone too).
    func testOneShotAndDynamicRunsArePointsBesideIterativePruning() throws {
        let iterative = scratch.appendingPathComponent("iterative").path
        try run(["prune", "iterative", "--iterations", "5", "--eval-every", "5it", "--cycles", "1", "--rate", "0.5", "--out", iterative] + small)
        let grasp = scratch.appendingPathComponent("grasp").path
        try run(["prune", "oneshot", "--at-init", "--criterion", "grasp", "--sparsity", "0.8", "--finetune-epochs", "1", "--out", grasp] + small)
        let dynamic = try dynamicRun("set")

        let md = scratch.appendingPathComponent("table.md").path
        try run(["prune", "compare", iterative, "GraSP=\(grasp)", "SET=\(dynamic)", "--markdown", md])
        let table = try String(contentsOfFile: md, encoding: .utf8)
        let rows = table.split(separator: "\n").filter { $0.first == "|" && !$0.hasPrefix("| remaining") && !$0.hasPrefix("|---") }
        XCTAssertEqual(rows.map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }, ["100.00", "50.00", "20.00"], table)
        let oneShot = try XCTUnwrap(try RunDirectory(path: grasp).readJSON(OneShotSummary.self, from: "summary.json"))
        let set = try XCTUnwrap(try RunDirectory(path: dynamic).readJSON(DynamicSparseSummary.self, from: "summary.json"))
        let cells = rows[2].split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "**", with: "") }
        XCTAssertEqual(cells, ["20.00", "–", String(format: "%.2f", 100 * oneShot.testAccuracyAtBestValidation!),
                               String(format: "%.2f", 100 * set.testAccuracyAtBestValidation!)], table)

        let out = scratch.appendingPathComponent("report").path
        try run(["report", iterative, "GraSP=\(grasp)", "SET=\(dynamic)", "--out", out])
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Iterative pruning (1 run directory, with 2 one-shot or dynamic runs)"), html)
        XCTAssertTrue(html.contains("GraSP (prune oneshot grasp at init") && html.contains("SET (prune dynamic set"), html)
        let alone = scratch.appendingPathComponent("report-dynamic").path
        try run(["report", dynamic, "--out", alone])
        let md2 = try String(contentsOfFile: alone + "/report.md", encoding: .utf8)
        XCTAssertTrue(md2.contains("Pruning at one sparsity (1 run directory)") && md2.contains("| 20.00 |"), md2)
        let curve = try String(contentsOfFile: alone + "/figures/01-accuracy.svg", encoding: .utf8)
        XCTAssertTrue(curve.contains("Accuracy: set") && curve.contains("epoch (of the training)"), "the run's training is drawn too")
    }
}
