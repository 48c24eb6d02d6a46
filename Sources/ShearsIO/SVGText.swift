import Foundation

/// The pieces every chart of this module draws the same way: the document header, the title kept on the canvas, the
/// axis labels, the legend and compact number formatting.
enum SVGText {
    enum Swatch { case line, box }

    static func header(width: Double, height: Double, fontSize: Double) -> String {
        typealias L = SVGLineChart
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(L.n(width))" height="\(L.n(height))" \
        viewBox="0 0 \(L.n(width)) \(L.n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" \
        font-size="\(L.n(fontSize))">
        <rect x="0" y="0" width="\(L.n(width))" height="\(L.n(height))" fill="white"/>

        """
    }

    /// The title centred at `centre`, slid within the canvas so that a long one is not cut off.
    static func title(_ text: String, centre: Double, width: Double, size: Double) -> String {
        typealias L = SVGLineChart
        let half = L.textWidth(text, size: size) / 2
        let x = min(max(centre, half + 6), max(half + 6, width - half - 6))
        return "<text x=\"\(L.n(x))\" y=\"\(L.n(20 + size))\" text-anchor=\"middle\" font-size=\"\(L.n(size))\" "
            + "font-weight=\"bold\">\(L.escape(text))</text>\n"
    }

    /// The x label centred under the plot at the canvas' bottom and the y label rotated at its left edge.
    static func axisLabels(x: String, y: String, plotLeft: Double, plotTop: Double, plotW: Double, plotH: Double,
                           height: Double, fontSize fs: Double) -> String {
        typealias L = SVGLineChart
        let yx = 16 + fs * 0.5, yy = plotTop + plotH / 2
        return "<text x=\"\(L.n(plotLeft + plotW / 2))\" y=\"\(L.n(height - 12))\" text-anchor=\"middle\">\(L.escape(x))</text>\n"
            + "<text x=\"\(L.n(yx))\" y=\"\(L.n(yy))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 \(L.n(yx)) \(L.n(yy)))\">\(L.escape(y))</text>\n"
    }

    /// A framed legend with one row per name, a line or a filled box in the name's palette colour.
    static func legend(_ names: [String], palette: [String], x lx: Double, y top: Double, width: Double,
                       fontSize fs: Double, swatch: Swatch) -> String {
        typealias L = SVGLineChart
        guard !names.isEmpty else { return "" }
        let rowH = fs + 8
        var o = "<g>\n<rect x=\"\(L.n(lx))\" y=\"\(L.n(top))\" width=\"\(L.n(width))\" "
            + "height=\"\(L.n(Double(names.count) * rowH + 8))\" fill=\"white\" stroke=\"#999999\"/>\n"
        for (i, name) in names.enumerated() {
            let colour = palette.isEmpty ? "black" : palette[i % palette.count]
            let y = top + 4 + rowH * (Double(i) + 0.5)
            switch swatch {
            case .line:
                o += "<line x1=\"\(L.n(lx + 6))\" y1=\"\(L.n(y))\" x2=\"\(L.n(lx + 28))\" y2=\"\(L.n(y))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            case .box:
                o += "<rect x=\"\(L.n(lx + 8))\" y=\"\(L.n(y - 5))\" width=\"18\" height=\"10\" fill=\"\(colour)\"/>\n"
            }
            o += "<text x=\"\(L.n(lx + 34))\" y=\"\(L.n(y + fs * 0.35))\">\(L.escape(name))</text>\n"
        }
        return o + "</g>\n"
    }

    /// A value for a tooltip: 4 significant digits.
    static func value(_ v: Double) -> String { String(format: "%.4g", v) }
}
