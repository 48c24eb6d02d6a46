import Foundation
import XCTest
@testable import shears
import ShearsExperiments
import ShearsIO

/// `shears report` as typed: the files it writes, and its refusals.
final class ReportCommandTests: CommandTestCase {
    /// A finished-looking `shears train` run: config.json, three metrics rows, summary.json.
    private func trainingRun() throws -> String {
        let d = try RunDirectory(path: scratch.appendingPathComponent("train_x").path)
        try d.writeJSON(TrainingConfig(), to: "config.json")
        for e in 1...3 {
            try d.appendMetrics(["train_loss": 1 / Double(e), "test_acc": 0.9 + 0.01 * Double(e), "lr": 0.1], step: 100 * e, epoch: Double(e))
        }
        return d.url.path
    }

    func testWritesHTMLMarkdownAndFigures() throws {
        let run = try trainingRun()
        let out = scratch.appendingPathComponent("report").path
        try self.run(["report", run, "--out", out, "--title", "Train & test"])
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<h1>Train &amp; test</h1>"))
        XCTAssertTrue(html.contains("Training: train_x"))
        XCTAssertTrue(html.contains("Accuracy: train_x"), "the accuracy chart inlined")
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("](figures/01-accuracy.svg)") && md.contains("](figures/01-loss.svg)") && md.contains("](figures/01-lr.svg)"))
        let svg = try String(contentsOfFile: out + "/figures/01-accuracy.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains(">accuracy (%)<") && svg.contains(">test<"), "y label and legend entry")
    }

    func testRefusals() throws {
        XCTAssertNotNil(refusal(["report", "--out", scratch.path])?.contains("RUN_DIR"))
        XCTAssertTrue(refusal(["report", "--out", scratch.path])!.contains("RUN_DIR"))
        XCTAssertNotNil(refusal(["report", "somewhere"]), "--out is required")
        let unknown = scratch.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: unknown, withIntermediateDirectories: true)
        XCTAssertThrowsError(try run(["report", unknown, "--out", scratch.appendingPathComponent("r").path])) { error in
            XCTAssertTrue("\(error)".contains(unknown) && "\(error)".contains("looked for"), "\(error)")
        }
    }

    /// A diverged run is drawn as diverged; a garbage metrics.jsonl stops the report naming file and line; NAME=DIR
    /// names the section; the split is said.
    func testDivergenceGarbageAndNames() throws {
        let d = try RunDirectory(path: scratch.appendingPathComponent("train_diverged").path)
        try d.writeJSON(TrainingConfig(), to: "config.json")
        try d.appendMetrics(["train_loss": 1.0, "test_acc": 0.5], step: 100, epoch: 1)
        try d.appendMetrics(["train_loss": .nan, "test_acc": 0.1], step: 200, epoch: 2)
        let out = scratch.appendingPathComponent("report").path
        try run(["report", "diverged=\(d.url.path)", "--out", out])
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("Training: diverged"), "NAME=DIR names the section")
        XCTAssertTrue(html.contains("2 evaluations in metrics.jsonl"), "the NaN row is counted")
        XCTAssertTrue(html.contains("DIVERGED: diverged at step 200 (epoch 2), line 2 of metrics.jsonl: train_loss = NaN"), html)
        XCTAssertTrue(html.contains("official split"), "the split is said")

        let garbage = try RunDirectory(path: scratch.appendingPathComponent("train_garbage").path)
        try garbage.writeJSON(TrainingConfig(), to: "config.json")
        try "{\"step\":1}\n\u{0}\u{1}garbage\n".write(toFile: garbage.path(RunDirectory.metricsJSONL), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run(["report", garbage.url.path, "--out", out])) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains(garbage.path(RunDirectory.metricsJSONL)) && m.contains("line 2 is not valid JSON"), m)
        }
    }
}
