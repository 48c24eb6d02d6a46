import Foundation
import XCTest
@testable import ShearsExperiments
@testable import ShearsReport
import ShearsIO

/// The report reads metrics through `JSONLines`: a diverged run shows as diverged, a garbage file is refused naming
/// the file and line, NAME=DIR names a run, and every section says its split.
final class ReportMetricsTests: ReportTestCase {
    /// A `shears train` directory with `rows` appended by `RunDirectory.appendMetrics`, as the trainer writes them.
    private func trainingRun(_ name: String, split: SplitKind = .official, rows: [[String: Double]]) throws -> RunDirectory {
        let d = try dir(name)
        var c = TrainingConfig()
        c.split = split
        try d.writeJSON(c, to: "config.json")
        for (i, r) in rows.enumerated() { try d.appendMetrics(r, step: 100 * (i + 1), epoch: Double(i + 1)) }
        return d
    }

    private func texts(_ s: ReportSection) -> [String] {
        s.blocks.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
    }

    func testDivergedRowsAreKeptAndReportedAsDivergence() throws {
        let d = try trainingRun("train_diverged", rows: [["train_loss": 2.3, "test_acc": 0.1], ["train_loss": 1.1, "test_acc": 0.6],
                                                   ["train_loss": .nan, "test_acc": 0.1], ["train_loss": .infinity, "test_acc": 0.1]])
        let doc = try Report.build(paths: [d.url.path], title: "t")
        let t = texts(doc.sections[0])
        XCTAssertTrue(t[0].contains("4 evaluations in metrics.jsonl"), "the NaN/Inf rows are counted: \(t[0])")
        let note = try XCTUnwrap(t.first { $0.contains("DIVERGED") }, "\(t)")
        XCTAssertTrue(note.contains("step 300") && note.contains("line 3") && note.contains("train_loss = NaN")
                      && note.contains("2 of 4 rows"), note)
        XCTAssertTrue(note.hasPrefix(d.path(RunDirectory.metricsJSONL)), "names the file: \(note)")
        for f in doc.figures { XCTAssertFalse(f.svg.contains("NaN") || f.svg.contains("nan"), "non-finite points left out of \(f.name)") }
    }

    func testGarbageMetricsAreRefusedNamingFileAndLine() throws {
        let d = try trainingRun("train_garbage", rows: [["train_loss": 2.3]])
        try FileManager.default.removeItem(atPath: d.path(RunDirectory.metricsJSONL))
        try "{\"step\":1,\"train_loss\":2}\nthis is not json\n{\"step\":3}\n".write(toFile: d.path(RunDirectory.metricsJSONL), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Report.build(paths: [d.url.path], title: "t")) { e in
            XCTAssertTrue("\(e)".contains(d.path(RunDirectory.metricsJSONL)) && "\(e)".contains("line 2"), "\(e)")
        }
    }

    func testCutShortLastLineIsLeftOutAndSaid() throws {
        let d = try trainingRun("train_killed", rows: [["train_loss": 2.3], ["train_loss": 1.3]])
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: d.path(RunDirectory.metricsJSONL)))
        try h.seekToEnd(); h.write(Data("{\"step\":300,\"tra".utf8)); try h.close()
        let doc = try Report.build(paths: [d.url.path], title: "t")
        let t = texts(doc.sections[0])
        XCTAssertTrue(t[0].contains("2 evaluations"), t[0])
        XCTAssertTrue(t.contains { $0.contains("line 3 was cut short") }, "\(t)")
    }

    func testSectionsSayTheSplitAndNamesComeFromNameEqualsDir() throws {
        let d = try trainingRun("train_pooled", split: .pooled, rows: [["test_acc": 0.9]])
        let doc = try Report.build(paths: ["mine=\(d.url.path)"], title: "t")
        XCTAssertEqual(doc.sections[0].title, "Training: mine")
        XCTAssertTrue(texts(doc.sections[0])[0].contains("pooled split"), "\(texts(doc.sections[0]))")
        // A directory whose name holds '=' is a directory, not NAME=DIR.
        let odd = try trainingRun("train_abc_lr=0.1", rows: [["test_acc": 0.9]])
        XCTAssertEqual(try Report.build(paths: [odd.url.path], title: "t").sections[0].title, "Training: train_abc_lr=0.1")
        let spec = RunSpec(parsing: "a=b/c")
        XCTAssertEqual([spec.name, spec.path], ["a", "b/c"])
        XCTAssertTrue(spec.labelled)
        XCTAssertEqual(RunSpec(parsing: "runs/x=1").name, "x=1", "a '/' before the '=' means a path")
    }

    /// The report's copies of the protocols' file names still match the protocols' own constants.
    func testFileNamesMatchTheProtocols() {
        XCTAssertEqual(RunFileNames.cycles, IterativePruning.recordsFile)
        XCTAssertEqual(RunFileNames.megabatches, AnytimeProgressivePruning.recordsFile)
        XCTAssertEqual(RunFileNames.distributions, IterativePruning.distributionsDirectory)
    }

    /// The HTML makes charts fill the page: two per row scaled to half the width, one per row on narrow pages.
    func testChartsScaleToThePageWidth() throws {
        let d = try trainingRun("train_css", rows: [["test_acc": 0.9], ["test_acc": 0.95]])
        let html = try Report.build(paths: [d.url.path], title: "t").html()
        XCTAssertTrue(html.contains("figure svg { display: block; width: 100%; height: auto; }"))
        XCTAssertTrue(html.contains("width: calc(50% - 1em)"))
        XCTAssertTrue(html.contains("viewBox=\"0 0 640 400\""), "the SVG scales through its viewBox")
    }
}

/// The protocol tables in ShearsReport give what the protocols write today (so the lead can swap them), plus the split.
final class ProtocolTablesTests: ReportTestCase {
    func testOracleTableMatchesTheProtocolsAndSaysTheSplit() throws {
        func cycle(_ m: Int, _ p: Double) -> OracleCycle {
            OracleCycle(cycle: m, percentRemaining: p, percentRemainingAllParameters: p, wellTunedMaxLR: 0.05,
                        bestValidationAccuracy: 0.97, testAccuracyAtBestValidation: 0.965, feasible: [0.03, 0.05],
                        feasibleRegion: [0.03, 0.05], sCycMaxLR: 0.07, sCycInsideRegion: false)
        }
        let s = OracleSummary(cycles: [cycle(0, 100), cycle(1, 80), cycle(2, 5)], trials: [])
        let mine = OracleTables.markdown(s, split: .pooled)
        XCTAssertTrue(mine.contains("| well-tuned max_lr | 0.05 | 0.05 | 0.05 |"), mine)
        XCTAssertTrue(mine.contains("| feasible region | [0.03, 0.05] | [0.03, 0.05] | [0.03, 0.05] |"), mine)
        XCTAssertTrue(mine.contains("| test acc at best val (%) | 96.50 | 96.50 | 96.50 |"), mine)
        XCTAssertTrue(mine.contains("| S-Cyc (Eq. 2) | 0.07 ✗ | 0.07 ✗ | 0.07 ✗ |"), mine)
        XCTAssertTrue(mine.contains("pooled split"))
        let chart = OracleTables.chart(s, title: "t")
        XCTAssertTrue(chart.logX && chart.reverseX, "100 → 5 spans a factor of 20")
        XCTAssertEqual(chart.series[0].points.map(\.0), [100, 80, 5], "x is the measured % remaining")
        XCTAssertFalse(chart.render().contains("0.8^m"))
    }

    func testConnectivityTableRows() throws {
        let t = [0, 0.5, 1.0]
        let loss = CurveStatistic(t: t, values: [0.1, 0.4, 0.2], lengthWeighted: 0.25)
        let err = CurveStatistic(t: t, values: [0.02, 0.1, 0.03], lengthWeighted: 0.05)
        var curve = ConnectivityCurve()
        for (x, l) in zip(t, [0.1, 0.4, 0.2]) { curve.append(x, ConnectivityPoint(trainLoss: l, trainError: 0, testLoss: 0, testError: 0)) }
        let r = ConnectivityReport(start: "a", end: "b", startLabel: "grda", endLabel: "sgd", curve: curve, plane: nil, distance: 3,
                                   middle: [1.5, 0.5], trainLoss: loss, testError: err, finalCurveTrainingLoss: nil, trainingSeconds: 1)
        let md = ConnectivityTables.markdown(r, model: "lenet300-100", split: .official)
        // Hand-derived: start 0.1, min 0.1 at t = 0, max 0.4 at t = 0.5, end 0.2, length-weighted 0.25, barrier 0.4 − 0.2.
        XCTAssertTrue(md.contains("| train loss | 0.1 | 0.1 (t = 0.000) | 0.4 (t = 0.500) | 0.2 | 0.25 | 0.2 |"), md)
        XCTAssertTrue(md.contains("| test error (%) | 2.00 | 2.00 (t = 0.000) | 10.00 (t = 0.500) | 3.00 | 5.00 | 7.00 |"), md)
        XCTAssertTrue(md.contains("official split") && md.contains("(3 points)"), md)
    }
}
