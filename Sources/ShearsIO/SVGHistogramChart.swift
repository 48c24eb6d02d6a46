import Foundation

/// Histograms drawn as step outlines over their bin edges, several overlaid (e.g. one per pruning cycle), with a legend.
/// A single histogram is also filled lightly. Each series has its own edges, so histograms on different bins
/// (Sturges' rule per cycle) overlay correctly.
///
/// With `logY` the value axis is log10 with ticks at the powers of ten, which shows the tails of peaked distributions
/// (weight gradients); bins ≤ 0 then sit on the axis' floor, one decade below the smallest positive value.
public struct SVGHistogramChart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// values.count == edges.count − 1 (a series that breaks this is drawn over the bins both arrays cover).
    public var series: [(name: String, edges: [Double], values: [Double])]
    public var logY = false
    public var width: Double = 640, height: Double = 400
    public var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    /// The id of the plot's clip path; unique per chart when several are inlined into one document.
    public var clipID = "hist"

    public init(title: String, xLabel: String, yLabel: String,
                series: [(name: String, edges: [Double], values: [Double])], logY: Bool = false,
                width: Double = 640, height: Double = 400) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.logY = logY
        self.width = width; self.height = height
    }

    private static let fontSize = 12.0, titleSize = 15.0

    /// The bins both arrays cover, with finite edges and values.
    private static func bins(_ s: (name: String, edges: [Double], values: [Double])) -> [(lo: Double, hi: Double, v: Double)] {
        let n = min(s.values.count, max(0, s.edges.count - 1))
        return (0..<n).compactMap { k in
            let b = (lo: s.edges[k], hi: s.edges[k + 1], v: s.values[k])
            return b.lo.isFinite && b.hi.isFinite && b.v.isFinite ? b : nil
        }
    }

    public func render() -> String {
        typealias L = SVGLineChart
        let fs = Self.fontSize
        let all = series.map(Self.bins)
        let xs = L.axis(L.span(all.flatMap { $0.flatMap { [$0.lo, $0.hi] } }), fixed: false)
        // The y axis: linear from 0, or whole decades.
        let positive = all.flatMap { $0.map(\.v) }.filter { $0 > 0 }
        let yTicks: [Double], yLabels: [String], yLo: Double, yHi: Double
        if logY {
            let lo = log10(positive.min() ?? 1).rounded(.down) - 1
            var hi = log10(positive.max() ?? 10).rounded(.up)
            if hi <= lo { hi = lo + 1 }
            let step = max(1, ((hi - lo) / 6).rounded(.up))
            yLo = lo; yHi = hi
            yTicks = stride(from: lo, through: hi, by: step).map { $0 }
            yLabels = yTicks.map { Self.powerOfTen(Int($0)) }
        } else {
            let a = L.axis(L.padded(L.span(all.flatMap { $0.map(\.v) } + [0])), fixed: false)
            yLo = a.lo; yHi = a.hi; yTicks = a.ticks; yLabels = a.ticks.map { L.format($0, step: a.step) }
        }
        func yCoord(_ v: Double) -> Double { logY ? (v > 0 ? max(log10(v), yLo) : yLo) : v }

        let left = 16 + fs + 10 + (yLabels.map { L.textWidth($0) }.max() ?? 0) + 8
        let legend = LegendLayout(series.map(\.name), canvasWidth: width, fontSize: fs)
        let right = 28 + legend.width
        let top = 20 + Self.titleSize + 16
        let bottom = 8 + fs + 12 + fs + 14
        // The canvas grows taller when the legend (one row per series) would not fit beside the plot.
        let height = max(self.height, top + legend.height + bottom)
        let plotW = max(10, width - left - right), plotH = max(10, height - top - bottom)
        func px(_ x: Double) -> Double { left + (x - xs.lo) / (xs.hi - xs.lo) * plotW }
        func py(_ v: Double) -> Double { top + plotH - (yCoord(v) - yLo) / (yHi - yLo) * plotH }
        func pyTick(_ t: Double) -> Double { top + plotH - (t - yLo) / (yHi - yLo) * plotH }

        var o = SVGText.header(width: width, height: height, fontSize: fs)
        o += SVGText.title(title, centre: left + plotW / 2, width: width, size: Self.titleSize)
        o += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n"
        for t in xs.ticks { o += "<line x1=\"\(L.n(px(t)))\" y1=\"\(L.n(top))\" x2=\"\(L.n(px(t)))\" y2=\"\(L.n(top + plotH))\"/>\n" }
        for t in yTicks { o += "<line x1=\"\(L.n(left))\" y1=\"\(L.n(pyTick(t)))\" x2=\"\(L.n(left + plotW))\" y2=\"\(L.n(pyTick(t)))\"/>\n" }
        o += "</g>\n<g stroke=\"black\" stroke-width=\"1\">\n"
        for t in xs.ticks { o += "<line x1=\"\(L.n(px(t)))\" y1=\"\(L.n(top + plotH))\" x2=\"\(L.n(px(t)))\" y2=\"\(L.n(top + plotH + 5))\"/>\n" }
        for t in yTicks { o += "<line x1=\"\(L.n(left - 5))\" y1=\"\(L.n(pyTick(t)))\" x2=\"\(L.n(left))\" y2=\"\(L.n(pyTick(t)))\"/>\n" }
        o += "</g>\n<g text-anchor=\"middle\">\n"
        for t in xs.ticks {
            o += "<text x=\"\(L.n(px(t)))\" y=\"\(L.n(top + plotH + 8 + fs))\">\(L.escape(L.format(t, step: xs.step)))</text>\n"
        }
        o += "</g>\n<g text-anchor=\"end\">\n"
        for (t, label) in zip(yTicks, yLabels) {
            o += "<text x=\"\(L.n(left - 8))\" y=\"\(L.n(pyTick(t) + fs * 0.35))\">\(L.escape(label))</text>\n"
        }
        o += "</g>\n"
        o += SVGText.axisLabels(x: xLabel, y: yLabel, plotLeft: left, plotTop: top, plotW: plotW, plotH: plotH,
                                height: height, fontSize: fs)

        let id = L.escape(clipID)
        o += "<defs><clipPath id=\"\(id)\"><rect x=\"\(L.n(left))\" y=\"\(L.n(top))\" width=\"\(L.n(plotW))\" height=\"\(L.n(plotH))\"/></clipPath></defs>\n"
        o += "<g clip-path=\"url(#\(id))\" stroke-width=\"1.5\" stroke-linejoin=\"round\">\n"
        let base = logY ? top + plotH : py(0)
        for (i, bins) in all.enumerated() {
            let colour = palette.isEmpty ? "black" : palette[i % palette.count]
            var d = ""
            for (k, b) in bins.enumerated() {
                // Start each run of adjacent bins at the baseline; a gap between bins returns to it.
                if k == 0 || bins[k - 1].hi != b.lo {
                    if k > 0 { d += " L\(L.n(px(bins[k - 1].hi))) \(L.n(base))" }
                    d += "\(d.isEmpty ? "" : " ")M\(L.n(px(b.lo))) \(L.n(base))"
                }
                d += " L\(L.n(px(b.lo))) \(L.n(py(b.v))) L\(L.n(px(b.hi))) \(L.n(py(b.v)))"
            }
            if let last = bins.last { d += " L\(L.n(px(last.hi))) \(L.n(base))" }
            let fill = series.count == 1 ? "fill=\"\(colour)\" fill-opacity=\"0.25\"" : "fill=\"none\""
            o += "<path d=\"\(d)\" stroke=\"\(colour)\" \(fill)/>\n"
        }
        o += "</g>\n"
        o += "<rect x=\"\(L.n(left))\" y=\"\(L.n(top))\" width=\"\(L.n(plotW))\" height=\"\(L.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        o += SVGText.legend(legend, palette: palette, x: left + plotW + 14, y: top, fontSize: fs, swatch: .line)
        o += "</svg>\n"
        return o
    }

    /// "10⁻³", "10⁰", "10²".
    static func powerOfTen(_ k: Int) -> String {
        let digits: [Character: Character] = ["-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵",
                                              "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"]
        return "10" + String(String(k).map { digits[$0] ?? $0 })
    }

    /// Writes `render()` to `path` atomically.
    public func write(to path: String) throws {
        try render().write(toFile: path, atomically: true, encoding: .utf8)
    }
}
