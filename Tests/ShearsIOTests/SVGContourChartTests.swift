import Foundation
import XCTest
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import ShearsIO

final class SVGContourChartTests: XCTestCase {
    /// f(x, y) = x on a grid: the level-c contour is the vertical line x = c, as segments spanning every row.
    func testMarchingSquaresOnAPlaneFindsTheStraightLevelLine() {
        let xs = [0.0, 1, 2, 3], ys = [0.0, 0.5, 1]
        let values = ys.map { _ in xs }
        let segments = SVGContourChart.marchingSquares(xs: xs, ys: ys, values: values, level: 1.25)
        XCTAssertEqual(segments.count, 2)   // one per row of cells
        for s in segments {
            XCTAssertEqual(s.0.0, 1.25, accuracy: 1e-12); XCTAssertEqual(s.1.0, 1.25, accuracy: 1e-12)
        }
        XCTAssertEqual(Set(segments.flatMap { [$0.0.1, $0.1.1] }), [0, 0.5, 1])
        XCTAssertTrue(SVGContourChart.marchingSquares(xs: xs, ys: ys, values: values, level: 5).isEmpty)
    }

    /// A saddle cell (opposite corners high) gives two segments, split by the cell's mean.
    func testSaddleCellGivesTwoSegments() {
        let values: [[Double]] = [[1, 0], [0, 1]]   // corners (0,0) and (1,1) high
        let low = SVGContourChart.marchingSquares(xs: [0, 1], ys: [0, 1], values: values, level: 0.4)   // mean 0.5 ≥ level
        let high = SVGContourChart.marchingSquares(xs: [0, 1], ys: [0, 1], values: values, level: 0.6)
        XCTAssertEqual(low.count, 2); XCTAssertEqual(high.count, 2)
        // At level 0.4 the high corners join through the centre, so the segments cut off the low corners (1,0), (0,1).
        let lowMid = low.map { (($0.0.0 + $0.1.0) / 2, ($0.0.1 + $0.1.1) / 2) }
        XCTAssertTrue(lowMid.contains { $0.0 > 0.5 && $0.1 < 0.5 } && lowMid.contains { $0.0 < 0.5 && $0.1 > 0.5 }, "\(lowMid)")
        let highMid = high.map { (($0.0.0 + $0.1.0) / 2, ($0.0.1 + $0.1.1) / 2) }
        XCTAssertTrue(highMid.contains { $0.0 < 0.5 && $0.1 < 0.5 } && highMid.contains { $0.0 > 0.5 && $0.1 > 0.5 }, "\(highMid)")
    }

    func testChartIsWellFormedSVGWithLabelsColourBarAndOverlays() throws {
        let xs = (0..<7).map { Double($0) }, ys = (0..<5).map { Double($0) * 0.5 }
        let values = ys.map { y in xs.map { x in 0.01 + (x - 3) * (x - 3) + y * y } }
        let chart = SVGContourChart(title: "loss <plane>", xLabel: "x (units)", yLabel: "y (units)", valueLabel: "train loss",
                                    xs: xs, ys: ys, values: values, logScale: true,
                                    overlays: [.init(name: "Bézier curve", points: [(0, 0), (3, 1), (6, 0)], joined: true),
                                               .init(name: "bends", points: [(0, 0), (3, 2), (6, 0)], joined: false, labels: ["grda", "θ", "sgd"])])
        let svg = chart.render()
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        for text in ["loss &lt;plane&gt;", "x (units)", "y (units)", "train loss (log scale)", "Bézier curve", "bends", ">grda<", ">θ<", ">sgd<"] {
            XCTAssertTrue(svg.contains(text), "missing \(text)")
        }
        XCTAssertEqual(svg.components(separatedBy: "<rect").count - 1 >= xs.count * ys.count, true)
        XCTAssertEqual(chart.contourLevels().count, 8)
        XCTAssertTrue(chart.contourLevels().allSatisfy { $0 > 0.01 && $0 < 9.01 + 4 })
        // NaN cells are drawn grey, not dropped.
        var broken = values; broken[2][3] = .nan
        let withNaN = SVGContourChart(title: "t", xLabel: "x", yLabel: "y", valueLabel: "v", xs: xs, ys: ys, values: broken).render()
        XCTAssertTrue(withNaN.contains("#bbbbbb"))
    }
}
