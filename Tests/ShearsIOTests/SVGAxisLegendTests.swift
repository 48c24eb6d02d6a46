import Foundation
import XCTest
@testable import ShearsIO

/// Legends that wrap instead of squeezing the plot, whole-number ticks for whole-number data, log and reversed x.
final class SVGAxisLegendTests: XCTestCase {
    /// The plot frame: the `<rect … fill="none" stroke="black"/>` drawn around the plot area.
    private func plotWidth(_ svg: String) throws -> Double {
        let frame = try XCTUnwrap(svg.components(separatedBy: "\n").first { $0.hasPrefix("<rect") && $0.contains("fill=\"none\" stroke=\"black\"") })
        let w = try XCTUnwrap(frame.components(separatedBy: "width=\"").dropFirst().first?.prefix { $0 != "\"" })
        return try XCTUnwrap(Double(w))
    }

    private func texts(_ svg: String) -> [String] {
        svg.components(separatedBy: "<text").dropFirst().compactMap { $0.split(separator: ">", maxSplits: 1).last?.components(separatedBy: "</text").first }
    }

    func testLongDefaultRunNamesWrapAndThePlotKeepsItsSize() throws {
        let long = "prune_f3c196a3f0_cycles=10_epochs=5_lr-schedule=scyc_rate=0.5_+3"
        func chart(_ name: String) -> SVGLineChart {
            SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: name, points: [(1, 1), (2, 2)])], width: 640, height: 400)
        }
        let svg = chart(long).render()
        let width = try plotWidth(svg)
        XCTAssertGreaterThan(width, 0.55 * 640, "the legend takes at most 30 % of the canvas")
        let legendLines = texts(svg).filter { long.contains($0.replacingOccurrences(of: "…", with: "")) && $0.count > 3 }
        XCTAssertGreaterThan(legendLines.count, 1, "wrapped onto several lines: \(texts(svg))")
        XCTAssertLessThanOrEqual(legendLines.count, LegendLayout.maxLines)
        XCTAssertTrue(svg.contains("<title>\(long)</title>"), "the whole name stays as a tooltip")
        XCTAssertTrue(legendLines[0].hasPrefix("prune_f3c196a3f0_"), "wrapped after an underscore: \(legendLines)")
        // A short name is drawn on one line, without a tooltip.
        let short = chart("rate=0.2").render()
        XCTAssertTrue(texts(short).contains("rate=0.2"))
        XCTAssertFalse(short.contains("<title>"))
    }

    func testWrapCutsWhatExceedsTheLineLimit() {
        let lines = LegendLayout.wrap(String(repeating: "a", count: 100), chars: 10)
        XCTAssertEqual(lines.count, LegendLayout.maxLines)
        XCTAssertEqual(lines.last, String(repeating: "a", count: 9) + "…")
        XCTAssertEqual(LegendLayout.wrap("abc_defgh_ij", chars: 6), ["abc_", "defgh_", "ij"])
        XCTAssertEqual(LegendLayout.wrap("osp=false, pruner=none", chars: 18), ["osp=false,", "pruner=none"], "words before parts")
    }

    func testWholeNumberDataGetsWholeTicks() {
        let a = SVGLineChart.axis(1...2, fixed: false, integer: true)
        XCTAssertEqual(a.ticks, [1, 2])
        XCTAssertEqual(SVGLineChart.axis(1...2, fixed: false).ticks.map { ($0 * 10).rounded() }, [10, 12, 14, 16, 18, 20],
                       "fractional data keeps fine ticks")
        let svg = SVGLineChart(title: "t", xLabel: "megabatch t", yLabel: "y", series: [(name: "s", points: [(1, 0.5), (2, 0.7), (3, 0.6)])]).render()
        let labels = texts(svg)
        XCTAssertTrue(labels.contains("1") && labels.contains("2") && labels.contains("3"))
        XCTAssertFalse(labels.contains("1.5") || labels.contains("2.5"), "\(labels)")
    }

    func testLogAxisTicksAndReversedX() throws {
        let a = SVGLineChart.logAxis(1.07...100)
        XCTAssertEqual(a.lo, 1); XCTAssertEqual(a.hi, 100)
        XCTAssertEqual(a.ticks, [1, 2, 5, 10, 20, 50, 100])
        XCTAssertEqual(SVGLineChart.logAxis(26...100).ticks, [20, 50, 100])
        XCTAssertEqual(SVGLineChart.logAxis(0.01...100).ticks, [0.01, 0.1, 1, 10, 100], "decades only beyond 3 of them")
        var c = SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: "s", points: [(100, 1), (10, 2), (0, 3)])], width: 640, height: 400)
        c.logX = true; c.reverseX = true; c.markers = true
        let svg = c.render()
        let path = try XCTUnwrap(svg.components(separatedBy: "\n").first { $0.hasPrefix("<path d=\"M") })
        let xs = path.components(separatedBy: "d=\"")[1].prefix { $0 != "\"" }.split(separator: " ")
            .enumerated().filter { $0.offset % 2 == 0 }.map { Double($0.element.dropFirst())! }
        XCTAssertEqual(xs.count, 2, "x ≤ 0 is left out of a log axis")
        XCTAssertLessThan(xs[0], xs[1], "100 % at the left")
        XCTAssertTrue(texts(svg).contains("10") && texts(svg).contains("100"))
    }
}
