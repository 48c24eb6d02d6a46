import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ShearsIO

/// The report's chart types: well-formed XML with title, axis labels, legend entries; bars, steps and bands where the
/// data says.
final class ReportChartTests: XCTestCase {
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
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return c
    }

    func testBarChartHasOneBarPerFiniteValueAndItsLabels() {
        let chart = SVGBarChart(title: "Sparsity <per> tensor & phase", valueLabel: "zero entries (%)", categoryLabel: "tensor",
                                categories: ["fc1.weight", "fc2.weight", "fc3.weight"],
                                series: [(name: "sgd", values: [0, 10, 20]), (name: "gRDA \"c\"", values: [50, .nan, 70])])
        let svg = chart.render()
        let c = parse(svg)
        for t in ["Sparsity <per> tensor & phase", "zero entries (%)", "tensor", "fc1.weight", "fc2.weight", "fc3.weight", "sgd", "gRDA \"c\""] {
            XCTAssertTrue(c.texts.contains(t), "missing text \(t)")
        }
        let bars = c.elements.filter { $0.name == "rect" && $0.attributes["fill"] == "#1f77b4" || $0.attributes["fill"] == "#d62728" }
            .filter { $0.attributes["height"] != "10" }   // not the legend swatches
        XCTAssertEqual(bars.count, 5, "3 bars of sgd, 2 finite ones of gRDA")
        // Widths are proportional to the values: 70 is 3.5× 20.
        let widths = bars.compactMap { Double($0.attributes["width"] ?? "") }
        XCTAssertEqual(widths.filter { $0 > 0 }.max()! / widths.sorted()[widths.count - 3], 70.0 / 20.0, accuracy: 0.02)
        XCTAssertTrue(c.texts.contains("0") && c.texts.contains("80"), "value axis from 0 to a nice tick above 70")
    }

    func testBarChartGrowsTallerForManyCategories() {
        let names = (0..<40).map { "layer\($0).conv.weight" }
        let chart = SVGBarChart(title: "t", valueLabel: "v (%)", categoryLabel: "tensor", categories: names,
                                series: [(name: "a", values: names.map { _ in 1 }), (name: "b", values: names.map { _ in 2 })])
        let c = parse(chart.render())
        let h = Double(c.elements.first { $0.name == "svg" }!.attributes["height"]!)!
        XCTAssertGreaterThan(h, 400, "40 groups of 2 bars do not fit 400 px at a readable thickness")
    }

    func testHistogramStepsLegendAndLogTicks() {
        let chart = SVGHistogramChart(title: "Gradients", xLabel: "gradient (loss per unit weight)", yLabel: "density (log scale)",
                                      series: [(name: "P = 100%", edges: [-2, -1, 0, 1, 2], values: [0.01, 1, 10, 0]),
                                               (name: "P = 80%", edges: [-1, 0, 1], values: [0.5, 0.5])], logY: true)
        let c = parse(chart.render())
        for t in ["Gradients", "gradient (loss per unit weight)", "density (log scale)", "P = 100%", "P = 80%"] {
            XCTAssertTrue(c.texts.contains(t), "missing text \(t)")
        }
        // Decades from 10⁻³ (one below the smallest positive value 0.01) to 10¹.
        for t in ["10⁻³", "10⁻²", "10⁰", "10¹"] { XCTAssertTrue(c.texts.contains(t), "missing tick \(t)") }
        let paths = c.elements.filter { $0.name == "path" }.map { $0.attributes["d"] ?? "" }
        XCTAssertEqual(paths.count, 2)
        // 4 bins: a start at the baseline, 2 points per bin, the end at the baseline.
        XCTAssertEqual(paths[0].components(separatedBy: "L").count - 1, 4 * 2 + 1)
        XCTAssertEqual(SVGHistogramChart.powerOfTen(-12), "10⁻¹²")
    }

    func testLineChartBandsMarkersDashesAndClipID() {
        var chart = SVGLineChart(title: "Accuracy vs remaining", xLabel: "weights remaining (%)", yLabel: "test accuracy (%)",
                                 series: [(name: "scyc", points: [(100, 97), (80, 97.5), (64, 96)]),
                                          (name: "constant", points: [(100, 96), (80, 95)])])
        chart.bands[0] = [(100, 96, 98), (80, 97, 98), (64, 90, 99)]
        chart.markers = true
        chart.dashed = [1]
        chart.clipID = "clip-7"
        let svg = chart.render()
        let c = parse(svg)
        let paths = c.elements.filter { $0.name == "path" }
        XCTAssertEqual(paths.count, 3, "the band and one path per series")
        XCTAssertEqual(paths.filter { $0.attributes["fill-opacity"] == "0.18" }.count, 1)
        XCTAssertEqual(c.elements.filter { $0.name == "circle" }.count, 5, "a marker per point")
        XCTAssertEqual(paths.filter { $0.attributes["stroke-dasharray"] != nil }.count, 1)
        XCTAssertTrue(svg.contains("id=\"clip-7\"") && svg.contains("url(#clip-7)") && !svg.contains("url(#plot)"))
        // The band widens the fitted y range: its low of 90 is inside the axis.
        XCTAssertTrue(c.texts.contains("90"))
        for t in ["Accuracy vs remaining", "weights remaining (%)", "test accuracy (%)", "scyc", "constant"] {
            XCTAssertTrue(c.texts.contains(t), "missing text \(t)")
        }
    }

    func testLineChartCanvasGrowsForALongLegend() {
        let chart = SVGLineChart(title: "t", xLabel: "x", yLabel: "y",
                                 series: (0..<30).map { (name: "run \($0)", points: [(0.0, Double($0)), (1.0, 1.0)]) },
                                 width: 640, height: 400)
        let c = parse(chart.render())
        XCTAssertGreaterThan(Double(c.elements.first { $0.name == "svg" }!.attributes["height"]!)!, 30 * 20)
    }
}
