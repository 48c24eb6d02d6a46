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

    /// A framed legend with one row per name (wrapped as `layout` says), a line or a filled box in the name's
    /// palette colour; a wrapped or cut name carries its whole text as a tooltip.
    static func legend(_ layout: LegendLayout, palette: [String], x lx: Double, y top: Double, fontSize fs: Double,
                       swatch: Swatch) -> String {
        legend(layout, x: lx, y: top, fontSize: fs) { i, y in
            let colour = palette.isEmpty ? "black" : palette[i % palette.count]
            typealias L = SVGLineChart
            switch swatch {
            case .line:
                return "<line x1=\"\(L.n(lx + 6))\" y1=\"\(L.n(y))\" x2=\"\(L.n(lx + 28))\" y2=\"\(L.n(y))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            case .box:
                return "<rect x=\"\(L.n(lx + 8))\" y=\"\(L.n(y - 5))\" width=\"18\" height=\"10\" fill=\"\(colour)\"/>\n"
            }
        }
    }

    /// The legend's frame and names; `swatch(i, y)` draws entry i's symbol centred on y.
    static func legend(_ layout: LegendLayout, x lx: Double, y top: Double, fontSize fs: Double,
                       swatch: (Int, Double) -> String) -> String {
        typealias L = SVGLineChart
        guard !layout.lines.isEmpty else { return "" }
        var o = "<g>\n<rect x=\"\(L.n(lx))\" y=\"\(L.n(top))\" width=\"\(L.n(layout.width))\" "
            + "height=\"\(L.n(layout.height))\" fill=\"white\" stroke=\"#999999\"/>\n"
        var rowTop = top + 4
        for (i, lines) in layout.lines.enumerated() {
            let y = rowTop + (fs + 8) / 2
            let whole = lines.count > 1 || lines.first != layout.names[i]
            o += whole ? "<g><title>\(L.escape(layout.names[i]))</title>\n" : ""
            o += swatch(i, y)
            for (k, line) in lines.enumerated() {
                o += "<text x=\"\(L.n(lx + 34))\" y=\"\(L.n(y + fs * 0.35 + Double(k) * layout.lineHeight))\">\(L.escape(line))</text>\n"
            }
            o += whole ? "</g>\n" : ""
            rowTop += layout.rowHeights[i]
        }
        return o + "</g>\n"
    }

    /// A value for a tooltip: 4 significant digits.
    static func value(_ v: Double) -> String { String(format: "%.4g", v) }
}

/// Where a legend's names go. The legend takes at most 30 % of the canvas width (at least 120 px), so that long run
/// names never squeeze the plot; a name wider than that wraps onto up to `maxLines` lines, preferably after a space or
/// `,`, else after `_` or `/`, else after `=` or `-` (in the last two thirds of the line), and what still does
/// not fit is cut with "…" (the whole name stays in a tooltip).
struct LegendLayout {
    let names: [String]
    let lines: [[String]]
    let width: Double
    let lineHeight: Double
    let rowHeights: [Double]
    static let maxLines = 3

    init(_ names: [String], canvasWidth: Double, fontSize fs: Double) {
        self.names = names
        let cap = max(120, 0.3 * canvasWidth)
        let natural = 40 + (names.map { SVGLineChart.textWidth($0, size: fs) }.max() ?? 0)
        width = names.isEmpty ? 0 : min(natural, cap)
        let chars = max(4, Int(((width - 40) / (fs * 0.6)).rounded(.down)))
        lines = natural <= cap ? names.map { [$0] } : names.map { Self.wrap($0, chars: chars) }
        lineHeight = fs + 2
        rowHeights = lines.map { [fs, lineHeight] in Double($0.count - 1) * lineHeight + fs + 8 }
    }

    /// The frame's height: every row and a margin.
    var height: Double { rowHeights.reduce(0, +) + 8 }

    static func wrap(_ name: String, chars: Int) -> [String] {
        var rest = Substring(name), out: [String] = []
        // Break between words first ("lr=0.1, seed=1"), then between a run name's parts, then inside a part.
        let breaks: [Set<Character>] = [[" ", ","], ["_", "/"], ["=", "-"]]
        while rest.count > chars {
            if out.count == maxLines - 1 { out.append(String(rest.prefix(chars - 1)) + "…"); return out }
            let head = rest.prefix(chars)
            var cut = head.endIndex
            for set in breaks {
                if let b = head.lastIndex(where: set.contains), head.distance(from: head.startIndex, to: b) >= chars / 3 {
                    cut = head.index(after: b); break
                }
            }
            // The space of a break after ", " starts neither line.
            while cut < rest.endIndex, rest[cut] == " " { cut = rest.index(after: cut) }
            out.append(String(rest[..<cut]).trimmingCharacters(in: .whitespaces))
            rest = rest[cut...]
        }
        out.append(String(rest))
        return out
    }
}
