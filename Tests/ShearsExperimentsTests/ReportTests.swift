import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ShearsExperiments
import ShearsIO
import ShearsOptim
import ShearsPrune
import ShearsAnalysis

/// `shears report` on run directories made by the real protocols (tiny runs on the synthetic set) and on hand-written
/// files of the kinds too slow to run here.
final class ReportTests: RunTestCase {
    /// Two iterative-pruning directories differing only in the rate, 2 runs each: the chart overlays them with
    /// mean ± std bands, and the table's cells are summary.json's numbers.
    func testIterativePruningRunsShareTheirCharts() throws {
        var dirs: [String] = []
        var summaries: [IterativePruningSummary] = []
        for rate in [0.2, 0.5] {
            var c = quickPruningConfig(cycles: 2, evalEvery: 10)
            c.rate = rate
            c.runs = 2
            let d = try dir("rate\(rate)")
            summaries.append(try IterativePruning.run(c, in: d, options: quietOptions()))
            dirs.append(d.url.path)
        }
        let doc = try Report.build(paths: dirs, title: "Iterative")
        XCTAssertEqual(doc.runs.map(\.kind), ["prune iterative", "prune iterative"])
        XCTAssertEqual(doc.sections.count, 1, "both directories in one section")
        let s = doc.sections[0]
        let table = try XCTUnwrap(s.tables.first { $0.caption.hasPrefix("Test accuracy") })
        XCTAssertEqual(table.header, ["cycle", "remaining (%)", "rate=0.2", "rate=0.5"], "curves named by the field that differs")
        for (k, summary) in summaries.enumerated() {
            for c in summary.cycles {
                let std = try XCTUnwrap(c.testAccuracyAtBestValidation.std, "2 runs give a std")
                let cell = String(format: "%.2f ± %.2f", 100 * c.testAccuracyAtBestValidation.mean, 100 * std)
                XCTAssertEqual(table.rows[c.cycle][2 + k], cell, "cycle \(c.cycle) of curve \(k)")
            }
        }
        XCTAssertEqual(table.rows[2][1], String(format: "%.2f", summaries[0].cycles[2].percentRemaining.mean))
        let names = s.figures.map(\.name)
        XCTAssertTrue(names.contains("01-accuracy-vs-remaining") && names.contains("01-lr-over-cycles") && names.contains("01-max-lr"))
        XCTAssertEqual(names.filter { $0.hasPrefix("01-sparsity-") }.count, 2, "per-tensor bars for each directory")
        let accuracy = try XCTUnwrap(s.figures.first { $0.name == "01-accuracy-vs-remaining" })
        assertChart(accuracy.svg, texts: ["Test accuracy vs weights remaining", "prunable weights remaining (%)",
                                          "test accuracy at best validation (%)", "rate=0.2", "rate=0.5"])
        XCTAssertEqual(accuracy.svg.components(separatedBy: "fill-opacity=\"0.18\"").count - 1, 2 * 2, "a band and its legend swatch per curve")
    }

    /// Training, oracle, gRDA, anytime and connectivity directories in one report: a section each (anytime runs
    /// together), every chart well-formed with its texts, the HTML self-contained with unique ids, the Markdown
    /// linking every figure, and the files written.
    func testMixedKindsWriteOneSelfContainedReport() throws {
        let anytime = try (0..<2).map { k -> String in
            var c = AnytimeConfig()
            c.training.dataset = .synthetic
            c.training.epochs = 1
            c.training.batchSize = 60
            c.training.lr = 0.05
            c.training.seed = UInt64(k)
            c.megabatches = 2
            c.pruner = "magnitude"
            let d = try dir("app-\(k)")
            _ = try AnytimeProgressivePruning.run(c, in: d, options: quietOptions())
            return d.url.path
        }
        let connectivity = try writeConnectivity()
        let oracle = try writeOracle()
        let doc = try Report.build(paths: [oracle] + anytime + [connectivity], title: "Mixed <kinds>")
        XCTAssertEqual(doc.sections.map(\.title), ["Oracle max_lr search: oracle", "Anytime progressive pruning (2 runs)",
                                                   "Mode connectivity: grda → sgd (conn)"])
        let app = doc.sections[1]
        let perRun = try XCTUnwrap(app.tables.first)
        XCTAssertEqual(perRun.rows.map { $0[0] }, ["seed=0", "seed=1"])
        let summary = try XCTUnwrap(try RunDirectory(path: anytime[1]).readJSON(AnytimeSummary.self, from: "summary.json"))
        XCTAssertEqual(perRun.rows[1][5], "\(summary.cer)", "CER from summary.json")
        XCTAssertEqual(perRun.rows[1][4], String(format: "%.2f", 100 * summary.finalTestAccuracy))
        let oracleTable = try XCTUnwrap(doc.sections[0].tables.first)
        XCTAssertEqual(oracleTable.rows[1], ["1", "80.00", "0.03", "[0.02, 0.07]", "0.05", "yes", "97.00", "96.50"])
        XCTAssertEqual(doc.sections[2].figures.map(\.name), ["03-curve-loss", "03-curve-error", "03-plane-train-loss", "03-plane-test-error"])

        for f in doc.figures { assertChart(f.svg, texts: []) }
        assertChart(doc.sections[1].figures.first { $0.name == "02-cer" }!.svg,
                    texts: ["Cumulative error rate (CER)", "megabatch t", "test errors summed up to t (count)", "seed=0", "seed=1"])

        let out = scratch.appendingPathComponent("report").path
        let (htmlPath, mdPath) = try doc.write(to: out)
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        XCTAssertTrue(html.contains("<title>Mixed &lt;kinds&gt;</title>"))
        XCTAssertFalse(html.contains("<?xml"), "SVG inlined without its XML declaration")
        XCTAssertFalse(html.contains("src=") || html.contains("href=\"http") || html.contains("<link"), "no external resource")
        let ids = html.components(separatedBy: " id=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        XCTAssertEqual(Set(ids).count, ids.count, "ids unique across the inlined charts")
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, doc.figures.count)
        let md = try String(contentsOfFile: mdPath, encoding: .utf8)
        for f in doc.figures {
            XCTAssertTrue(md.contains("(figures/\(f.name).svg)"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/figures/\(f.name).svg"))
        }
        XCTAssertTrue(md.contains("| 1 | 80.00 | 0.03 | [0.02, 0.07] | 0.05 | yes | 97.00 | 96.50 |"))
    }

    /// `analyze projection --along` output: a chart and a table per snapshot; the random-direction baseline only
    /// where the parameter count was recorded.
    func testProjectionAlongTrainingIsDrawnAndTabulated() throws {
        let d = try dir("along")
        func point(_ it: Int, _ delta: [Double], dimension: Int?) -> ProjectionAlongPoint {
            var p = ProjectionProportion(delta: delta, eigenvectors: [[1, 0, 0, 0], [0, 1, 0, 0]])
            p.dimension = dimension
            return ProjectionAlongPoint(iteration: it, eigenvalues: [3, 1], converged: true, projection: p)
        }
        try d.writeJSON([point(10, [3, 0, 4, 0], dimension: 4), point(20, [0, 1, 0, 0], dimension: 4)], to: "projection_along.json")
        let doc = try Report.build(paths: [d.url.path], title: "t")
        let section = try XCTUnwrap(doc.sections.first)
        let table = try XCTUnwrap(section.tables.first { $0.caption.contains("along training") })
        XCTAssertEqual(table.rows.map { $0[0] }, ["10", "20"])
        XCTAssertEqual(table.rows[0][1], ReportFormat.number(0.6))   // ‖(3, 0)‖ / ‖(3, 0, 4, 0)‖
        XCTAssertEqual(table.rows[1][1], ReportFormat.number(1))
        let chart = try XCTUnwrap(section.figures.first { $0.name.contains("projection-along") }).svg
        XCTAssertTrue(chart.contains("random direction"))
        try d.writeJSON([point(10, [3, 0, 4, 0], dimension: nil)], to: "projection_along.json")
        let old = try XCTUnwrap(try Report.build(paths: [d.url.path], title: "t").sections.first?.figures.first { $0.name.contains("projection-along") })
        XCTAssertFalse(old.svg.contains("random direction"))
    }

    func testUnknownMissingAndCorruptDirectoriesAreNamed() throws {
        let empty = try dir("nothing-here").url.path
        try Data("x".utf8).write(to: URL(fileURLWithPath: empty + "/notes.txt"))
        XCTAssertThrowsError(try Report.build(paths: [empty], title: "t")) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains(empty) && m.contains("looked for") && m.contains("oracle.json") && m.contains("megabatches.jsonl"), m)
        }
        let missing = scratch.appendingPathComponent("no-such-run").path
        XCTAssertThrowsError(try Report.build(paths: [missing], title: "t")) { error in
            XCTAssertTrue("\(error)".contains("\(missing): no such run directory"), "\(error)")
        }
        let broken = try dir("broken").url.path
        try Data("{\"cycles\": [".utf8).write(to: URL(fileURLWithPath: broken + "/oracle.json"))
        XCTAssertThrowsError(try Report.build(paths: [broken], title: "t")) { error in
            XCTAssertTrue("\(error)".contains(broken + "/oracle.json") && "\(error)".contains("OracleSummary"), "\(error)")
        }
        XCTAssertThrowsError(try Report.build(paths: [], title: "t"))
    }

    // MARK: - Helpers

    func assertChart(_ svg: String, texts: [String], file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = TextCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed: \(String(describing: parser.parserError))", file: file, line: line)
        XCTAssertGreaterThanOrEqual(collector.texts.count, 3, "title and axis labels at least", file: file, line: line)
        for t in texts { XCTAssertTrue(collector.texts.contains(t), "missing text \(t) in \(collector.texts)", file: file, line: line) }
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf\""), file: file, line: line)
    }

    final class TextCollector: NSObject, XMLParserDelegate {
        var texts: [String] = []
        private var current = ""
        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) { current = "" }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            if elementName == "text" { texts.append(current) }
            current = ""
        }
    }

    /// An oracle.json of 3 cycles as `SCycOracle` writes it.
    func writeOracle() throws -> String {
        let d = try dir("oracle")
        func cycle(_ m: Int, _ p: Double, best: Double, region: [Double], scyc: Double) -> OracleCycle {
            OracleCycle(cycle: m, percentRemaining: p, percentRemainingAllParameters: p, wellTunedMaxLR: best,
                        bestValidationAccuracy: 0.97, testAccuracyAtBestValidation: 0.965, feasible: region,
                        feasibleRegion: [region.first!, region.last!], sCycMaxLR: scyc, sCycInsideRegion: region.first! <= scyc && scyc <= region.last!)
        }
        try d.writeJSON(OracleSummary(cycles: [cycle(0, 100, best: 0.05, region: [0.03, 0.05, 0.1], scyc: 0.05),
                                               cycle(1, 80, best: 0.03, region: [0.02, 0.03, 0.07], scyc: 0.05),
                                               cycle(2, 64, best: 0.03, region: [0.02, 0.03], scyc: 0.06)], trials: []),
                        to: "oracle.json")
        return d.url.path
    }

    /// A connectivity.json with a 5-point curve and a 3×3 plane.
    func writeConnectivity() throws -> String {
        let d = try dir("conn")
        let t = [0, 0.25, 0.5, 0.75, 1.0]
        var curve = ConnectivityCurve()
        for x in t { curve.append(x, ConnectivityPoint(trainLoss: 0.1 + x * (1 - x), trainError: 0.02, testLoss: 0.2, testError: 0.03 + 0.1 * x * (1 - x))) }
        let grid = [[0.3, 0.2, 0.3], [0.2, 0.1, 0.2], [0.3, 0.2, 0.4]]
        let plane = ConnectivityPlane(xs: [0, 5, 10], ys: [-1, 0, 1], trainLoss: grid, trainError: grid, testLoss: grid,
                                      testError: grid.map { $0.map { $0 / 4 } }, bends: [[0, 0], [5, 1], [10, 0]],
                                      curve: t.map { [10 * $0, 2 * $0 * (1 - $0)] })
        let report = ConnectivityReport(start: "a/model.safetensors", end: "b/model.safetensors", startLabel: "grda", endLabel: "sgd",
                                        curve: curve, plane: plane, distance: 10, middle: [5, 1],
                                        trainLoss: CurveStatistic(t: t, values: curve.trainLoss, lengthWeighted: 0.2),
                                        testError: CurveStatistic(t: t, values: curve.testError, lengthWeighted: 0.04),
                                        finalCurveTrainingLoss: nil, trainingSeconds: 1)
        try d.writeJSON(report, to: "connectivity.json")
        return d.url.path
    }
}
