import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ShearsIO

final class SVGChartTests: XCTestCase {
    /// Parses the SVG with Foundation's XMLParser, collecting element names, attributes and text.
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [(name: String, attributes: [String: String])] = []
        var texts: [String] = []
        private var current = ""
        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            elements.append((elementName, attributeDict)); current = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            if elementName == "text" { texts.append(current) }
            current = ""
        }
    }

    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> Collector {
        let parser = XMLParser(data: Data(svg.utf8))
        let c = Collector()
        parser.delegate = c
        let ok = parser.parse()
        XCTAssertTrue(ok, "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return c
    }

    func paths(_ c: Collector) -> [String] { c.elements.filter { $0.name == "path" }.map { $0.attributes["d"] ?? "" } }

    /// Every number in every path and every coordinate attribute is finite.
    func assertFiniteCoordinates(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(svg.contains("nan"), file: file, line: line)
        XCTAssertFalse(svg.contains("inf"), file: file, line: line)
    }

    func testWellFormedWithTitleLabelsAndOnePathPerSeries() {
        let chart = SVGLineChart(
            title: "S-Cyc <max_lr> & \"friends\"", xLabel: "pruning cycle m (63K iterations each)",
            yLabel: "learning rate (per step)",
            series: [(name: "lr(t)", points: [(0, 0), (0.3, 0.03), (1, 0.003), (2, 0.05)]),
                     (name: "max_lr(m)", points: [(0, 0.03), (1, 0.03), (1, 0.07), (2, 0.07)]),
                     (name: "third", points: [(0.5, 0.01), (1.5, 0.02)])])
        let svg = chart.render()
        let c = parse(svg)
        XCTAssertEqual(c.elements.first?.name, "svg")
        XCTAssertEqual(paths(c).count, 3)
        XCTAssertTrue(paths(c).allSatisfy { $0.hasPrefix("M") })
        XCTAssertTrue(c.texts.contains("S-Cyc <max_lr> & \"friends\""), "title, unescaped by the parser")
        XCTAssertTrue(c.texts.contains("pruning cycle m (63K iterations each)"))
        XCTAssertTrue(c.texts.contains("learning rate (per step)"))
        for name in ["lr(t)", "max_lr(m)", "third"] { XCTAssertTrue(c.texts.contains(name), "legend entry \(name)") }
        // Ticks: x over [0, 2] and y over [0, 0.07] get "nice" labels.
        XCTAssertTrue(c.texts.contains("0"))
        XCTAssertTrue(c.texts.contains("2"))
        XCTAssertTrue(c.texts.contains("0.02"), "\(c.texts)")
        assertFiniteCoordinates(svg)
        // Pure: rendering twice gives the same bytes.
        XCTAssertEqual(svg, chart.render())
    }

    func testSinglePointConstantAndEmptySeriesDoNotDivideByZero() {
        for series in [
            [(name: "one point", points: [(3.0, 0.5)])],
            [(name: "constant", points: [(0.0, 2.0), (1, 2), (2, 2)])],
            [(name: "vertical", points: [(1.0, 0.0), (1, 5)])],
            [(name: "zero", points: [(0.0, 0.0)])],
            [(name: "empty", points: [(Double, Double)]())],
            [(name: "non-finite", points: [(0.0, Double.nan), (1, .infinity), (2, 1)])],
        ] as [[(name: String, points: [(Double, Double)])]] {
            let svg = SVGLineChart(title: "t", xLabel: "x (s)", yLabel: "y (m)", series: series).render()
            let c = parse(svg)
            XCTAssertEqual(paths(c).count, 1, series[0].name)
            assertFiniteCoordinates(svg)
        }
        // A single point is also drawn as a dot, since a one-point path draws nothing.
        let dot = parse(SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: "p", points: [(3, 0.5)])]).render())
        XCTAssertEqual(dot.elements.filter { $0.name == "circle" }.count, 1)
        // No series at all: still a valid chart, no legend.
        let none = parse(SVGLineChart(title: "empty", xLabel: "x", yLabel: "y").render())
        XCTAssertEqual(paths(none).count, 0)
        XCTAssertTrue(none.texts.contains("empty"))
    }

    func testTicksAndLabels() {
        // Nice steps.
        XCTAssertEqual(SVGLineChart.niceStep(0.014), 0.01, accuracy: 1e-15)
        XCTAssertEqual(SVGLineChart.niceStep(0.016), 0.02, accuracy: 1e-15)
        XCTAssertEqual(SVGLineChart.niceStep(4.2), 5)
        XCTAssertEqual(SVGLineChart.niceStep(300_000), 500_000)
        let a = SVGLineChart.axis(0...0.0699, fixed: false)
        XCTAssertEqual(a.lo, 0)
        XCTAssertEqual(a.hi, 0.07, accuracy: 1e-12)
        XCTAssertEqual(a.ticks.count, 8)   // 0, 0.01, …, 0.07
        // Zero-width ranges are widened, never divided by.
        let z = SVGLineChart.axis(2...2, fixed: false)
        XCTAssertLessThan(z.lo, 2); XCTAssertGreaterThan(z.hi, 2)
        let zero = SVGLineChart.axis(0...0, fixed: false)
        XCTAssertLessThan(zero.lo, zero.hi)
        // Labels: decimals from the step, K/M for large values, scientific for tiny ones.
        XCTAssertEqual(SVGLineChart.format(0.03, step: 0.01), "0.03")
        XCTAssertEqual(SVGLineChart.format(0.025, step: 0.005), "0.025")
        XCTAssertEqual(SVGLineChart.format(5, step: 1), "5")
        XCTAssertEqual(SVGLineChart.format(63_000, step: 1_000), "63K")
        XCTAssertEqual(SVGLineChart.format(1_500_000, step: 500_000), "1.5M")
        XCTAssertEqual(SVGLineChart.format(0.0002, step: 0.0001), "2e-04")
        XCTAssertEqual(SVGLineChart.format(-0.5, step: 0.5), "-0.5")
        // Fixed ranges are kept as given.
        var chart = SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: "s", points: [(0, 0), (10, 1)])])
        chart.yRange = 0...2
        let c = parse(chart.render())
        XCTAssertTrue(c.texts.contains("2"))
    }

    func testNonNegativeDataNeverGetsANegativeAxis() {
        // A density curve whose smallest value is just above 0: the 2 % padding must stop at 0.
        XCTAssertEqual(SVGLineChart.padded(0.001...0.9).lowerBound, 0)
        XCTAssertEqual(SVGLineChart.axis(SVGLineChart.padded(0.001...0.9), fixed: false).lo, 0)
        XCTAssertEqual(SVGLineChart.padded(-0.9 ... -0.001).upperBound, 0)
        // Data away from 0 is still padded on both sides, and signed data crosses 0 as before.
        let r = SVGLineChart.padded(10...20)
        XCTAssertEqual(r.lowerBound, 9.8, accuracy: 1e-12); XCTAssertEqual(r.upperBound, 20.2, accuracy: 1e-12)
        XCTAssertLessThan(SVGLineChart.padded(-1...1).lowerBound, -1)
        let chart = SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: "s", points: [(0, 0.001), (1, 0.9)])])
        XCTAssertFalse(parse(chart.render()).texts.contains { $0.hasPrefix("-") }, "no negative tick label")
    }

    /// gRDA's SGD phase has 0 % sparsity throughout: on a 0-based axis its line lies on the frame's bottom edge. It must
    /// be drawn over the frame and not clipped to half its width.
    func testALineOnTheFrameIsDrawnOverIt() throws {
        let chart = SVGLineChart(title: "t", xLabel: "epoch", yLabel: "sparsity (%)",
                                 series: [(name: "sgd", points: [(0, 0), (1, 0), (2, 0)]), (name: "grda", points: [(0, 0), (1, 40), (2, 80)])])
        let svg = chart.render()
        let frame = try XCTUnwrap(svg.range(of: "fill=\"none\" stroke=\"black\"/>"))
        let firstSeries = try XCTUnwrap(svg.range(of: "<path d=\"M"))
        XCTAssertLessThan(frame.lowerBound, firstSeries.lowerBound, "the frame is drawn first")
        // The clip rectangle reaches past the frame by at least half the stroke.
        let clip = try XCTUnwrap(svg.range(of: #"<clipPath id="[^"]*"><rect x="([0-9.]+)""#, options: .regularExpression))
        let frameX = try XCTUnwrap(svg.range(of: #"<rect x="([0-9.]+)" y="[0-9.]+" width="[0-9.]+" height="[0-9.]+" fill="none""#,
                                             options: .regularExpression))
        func x(_ r: Range<String.Index>) -> Double { Double(svg[r].split(separator: "x=\"")[1].prefix { $0 != "\"" })! }
        XCTAssertLessThanOrEqual(x(clip), x(frameX) - chart.strokeWidth / 2)
    }

    func testALongTitleStaysOnTheCanvas() throws {
        let title = String(repeating: "a long title ", count: 8)   // ~96 characters ≈ 860 px at 15 px
        let chart = SVGLineChart(title: title, xLabel: "x", yLabel: "y", series: [(name: "a legend entry", points: [(0, 0), (1, 1)])],
                                 width: 1000, height: 400)
        let svg = chart.render()
        let tag = try XCTUnwrap(svg.range(of: "font-weight=\"bold\"")).lowerBound
        let head = svg[..<tag]
        let xText = try XCTUnwrap(head.range(of: "x=\"", options: .backwards)).upperBound
        let x = try XCTUnwrap(Double(head[xText...].prefix { $0 != "\"" }))
        let half = Double(title.count) * 15 * 0.6 / 2
        XCTAssertGreaterThanOrEqual(x - half, 0, "title starts on the canvas")
        XCTAssertLessThanOrEqual(x + half, 1000, "title ends on the canvas")
    }

    func testWriteIsAtomicAndReadable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svgchart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.svg").path
        let chart = SVGLineChart(title: "t", xLabel: "x", yLabel: "y", series: [(name: "s", points: [(0, 1), (1, 2)])])
        try chart.write(to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), chart.render())
    }
}
