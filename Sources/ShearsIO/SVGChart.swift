import Foundation

/// A small, dependency-free SVG line chart: a title, x and y axes with "nice" ticks and labels, one polyline per
/// series and a legend to the right of the plot. Put the units in the axis labels (e.g. "iteration (×1000)").
///
/// Degenerate data is drawn, not divided by: an empty chart gets the range [0, 1], a single point or a constant
/// series gets a range around its value, non-finite points are skipped, and a series with one point is drawn as a
/// dot. Every series gets exactly one `<path>` element (empty `d` when it has no finite point).
///
/// Optional extras, off by default so older charts render unchanged: a shaded band per series (mean ± std across
/// runs, a feasible region), a dot at every point (data with few points, e.g. one per pruning cycle), dashed series,
/// and the id of the clip path (charts inlined into one HTML page share one id space, so each needs its own).
public struct SVGLineChart {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [(name: String, points: [(Double, Double)])]
    /// Canvas size in pixels.
    public var width: Double = 800, height: Double = 480
    /// Fixed axis ranges; nil: fitted to the data (and widened to whole ticks).
    public var xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil
    /// Stroke colours, cycled over the series.
    public var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    public var strokeWidth: Double = 1.5
    /// Shaded bands, keyed by series index: (x, low, high) per point, drawn under the series in its colour.
    public var bands: [Int: [(x: Double, low: Double, high: Double)]] = [:]
    /// A dot at every point of every series.
    public var markers = false
    /// Indices of the series drawn dashed.
    public var dashed: Set<Int> = []
    /// The id of the plot's clip path; make it unique per chart when several are inlined into one document.
    public var clipID = "plot"

    public init(title: String, xLabel: String, yLabel: String,
                series: [(name: String, points: [(Double, Double)])] = [],
                width: Double = 800, height: Double = 480) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.width = width; self.height = height
    }

    // Layout, in pixels. Text widths are estimated (no font metrics): ~0.6 em per character.
    private static let fontSize = 12.0, titleSize = 15.0
    static func textWidth(_ s: String, size: Double = fontSize) -> Double { Double(s.count) * size * 0.6 }

    public func render() -> String {
        let finite = series.map { s in s.points.filter { $0.0.isFinite && $0.1.isFinite } }
        let finiteBands = bands.mapValues { b in b.filter { $0.x.isFinite && $0.low.isFinite && $0.high.isFinite } }
        let bandPoints = finiteBands.values.flatMap { b in b.flatMap { [($0.x, $0.low), ($0.x, $0.high)] } }
        let all = finite.flatMap { $0 } + bandPoints
        let xs = Self.axis(xRange ?? Self.span(all.map(\.0)), fixed: xRange != nil)
        let ys = Self.axis(yRange ?? Self.padded(Self.span(all.map(\.1))), fixed: yRange != nil)
        let yTickLabels = ys.ticks.map { Self.format($0, step: ys.step) }
        let xTickLabels = xs.ticks.map { Self.format($0, step: xs.step) }

        // Margins: the y tick labels and the rotated y label on the left, the legend on the right.
        let fs = Self.fontSize
        let left = 16 + fs + 10 + (yTickLabels.map { Self.textWidth($0) }.max() ?? 0) + 8
        let legendWidth = series.isEmpty ? 0 : 40 + (series.map { Self.textWidth($0.name) }.max() ?? 0)
        let right = 28 + legendWidth
        let top = 20 + Self.titleSize + 16
        let bottom = 8 + fs + 12 + fs + 14
        // The canvas grows taller when the legend (one row per series) would not fit beside the plot.
        let height = max(self.height, top + Double(series.count) * (fs + 8) + 8 + bottom)
        let plotW = max(10, width - left - right), plotH = max(10, height - top - bottom)
        func px(_ x: Double) -> Double { left + (x - xs.lo) / (xs.hi - xs.lo) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - ys.lo) / (ys.hi - ys.lo) * plotH }

        var o = SVGText.header(width: width, height: height, fontSize: fs)
        o += SVGText.title(title, centre: left + plotW / 2, width: width, size: Self.titleSize)

        // Grid and ticks.
        o += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n"
        for t in xs.ticks { o += "<line x1=\"\(Self.n(px(t)))\" y1=\"\(Self.n(top))\" x2=\"\(Self.n(px(t)))\" y2=\"\(Self.n(top + plotH))\"/>\n" }
        for t in ys.ticks { o += "<line x1=\"\(Self.n(left))\" y1=\"\(Self.n(py(t)))\" x2=\"\(Self.n(left + plotW))\" y2=\"\(Self.n(py(t)))\"/>\n" }
        o += "</g>\n<g stroke=\"black\" stroke-width=\"1\">\n"
        for t in xs.ticks { o += "<line x1=\"\(Self.n(px(t)))\" y1=\"\(Self.n(top + plotH))\" x2=\"\(Self.n(px(t)))\" y2=\"\(Self.n(top + plotH + 5))\"/>\n" }
        for t in ys.ticks { o += "<line x1=\"\(Self.n(left - 5))\" y1=\"\(Self.n(py(t)))\" x2=\"\(Self.n(left))\" y2=\"\(Self.n(py(t)))\"/>\n" }
        o += "</g>\n"
        o += "<g text-anchor=\"middle\">\n"
        for (t, label) in zip(xs.ticks, xTickLabels) {
            o += "<text x=\"\(Self.n(px(t)))\" y=\"\(Self.n(top + plotH + 8 + fs))\">\(Self.escape(label))</text>\n"
        }
        o += "</g>\n<g text-anchor=\"end\">\n"
        for (t, label) in zip(ys.ticks, yTickLabels) {
            o += "<text x=\"\(Self.n(left - 8))\" y=\"\(Self.n(py(t) + fs * 0.35))\">\(Self.escape(label))</text>\n"
        }
        o += "</g>\n"

        // Axis labels.
        o += "<text x=\"\(Self.n(left + plotW / 2))\" y=\"\(Self.n(height - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        let yx = 16 + fs * 0.5, yy = top + plotH / 2
        o += "<text x=\"\(Self.n(yx))\" y=\"\(Self.n(yy))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 \(Self.n(yx)) \(Self.n(yy)))\">\(Self.escape(yLabel))</text>\n"

        // Series, clipped to the plot area (fixed ranges may cut data).
        o += "<defs><clipPath id=\"\(Self.escape(clipID))\"><rect x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotW))\" height=\"\(Self.n(plotH))\"/></clipPath></defs>\n"
        // Bands first, so that every line stays visible on top of them.
        for i in finiteBands.keys.sorted() where i < series.count {
            guard let b = finiteBands[i], !b.isEmpty else { continue }
            let colour = palette.isEmpty ? "black" : palette[i % palette.count]
            let upper = b.map { "\(Self.n(px($0.x))) \(Self.n(py($0.high)))" }
            let lower = b.reversed().map { "\(Self.n(px($0.x))) \(Self.n(py($0.low)))" }
            o += "<path clip-path=\"url(#\(Self.escape(clipID)))\" d=\"M" + (upper + lower).joined(separator: " L")
                + " Z\" fill=\"\(colour)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
        }
        o += "<g clip-path=\"url(#\(Self.escape(clipID)))\" fill=\"none\" stroke-width=\"\(Self.n(strokeWidth))\" stroke-linejoin=\"round\">\n"
        for (i, pts) in finite.enumerated() {
            let colour = palette.isEmpty ? "black" : palette[i % palette.count]
            let d = pts.enumerated().map { j, p in "\(j == 0 ? "M" : "L")\(Self.n(px(p.0))) \(Self.n(py(p.1)))" }
                .joined(separator: " ")
            let dash = dashed.contains(i) ? " stroke-dasharray=\"6 4\"" : ""
            o += "<path d=\"\(d)\" stroke=\"\(colour)\"\(dash)/>\n"
            if markers && pts.count > 1 {
                for p in pts {
                    o += "<circle cx=\"\(Self.n(px(p.0)))\" cy=\"\(Self.n(py(p.1)))\" r=\"2.5\" fill=\"\(colour)\" stroke=\"none\"/>\n"
                }
            }
            if pts.count == 1 {
                o += "<circle cx=\"\(Self.n(px(pts[0].0)))\" cy=\"\(Self.n(py(pts[0].1)))\" r=\"3\" fill=\"\(colour)\" stroke=\"none\"/>\n"
            }
        }
        o += "</g>\n"
        o += "<rect x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotW))\" height=\"\(Self.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"

        // Legend, right of the plot.
        if !series.isEmpty {
            let lx = left + plotW + 14, rowH = fs + 8
            o += "<g>\n<rect x=\"\(Self.n(lx))\" y=\"\(Self.n(top))\" width=\"\(Self.n(legendWidth))\" "
                + "height=\"\(Self.n(Double(series.count) * rowH + 8))\" fill=\"white\" stroke=\"#999999\"/>\n"
            for (i, s) in series.enumerated() {
                let colour = palette.isEmpty ? "black" : palette[i % palette.count]
                let y = top + 4 + rowH * (Double(i) + 0.5)
                if bands[i] != nil {
                    o += "<rect x=\"\(Self.n(lx + 6))\" y=\"\(Self.n(y - 5))\" width=\"22\" height=\"10\" fill=\"\(colour)\" "
                        + "fill-opacity=\"0.18\"/>\n"
                }
                let dash = dashed.contains(i) ? " stroke-dasharray=\"6 4\"" : ""
                o += "<line x1=\"\(Self.n(lx + 6))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(lx + 28))\" y2=\"\(Self.n(y))\" "
                    + "stroke=\"\(colour)\" stroke-width=\"\(Self.n(max(2, strokeWidth)))\"\(dash)/>\n"
                o += "<text x=\"\(Self.n(lx + 34))\" y=\"\(Self.n(y + fs * 0.35))\">\(Self.escape(s.name))</text>\n"
            }
            o += "</g>\n"
        }
        o += "</svg>\n"
        return o
    }

    /// Writes `render()` to `path` atomically.
    public func write(to path: String) throws {
        try render().write(toFile: path, atomically: true, encoding: .utf8)
    }

    // MARK: - Axis arithmetic

    /// The data's [min, max]; [0, 1] when empty.
    static func span(_ v: [Double]) -> ClosedRange<Double> {
        guard let lo = v.min(), let hi = v.max() else { return 0...1 }
        return lo...hi
    }

    /// A y range widened by 2 % at each end, so that a line at the data's extreme does not run along the frame. The
    /// padding never crosses 0: non-negative data (densities, accuracies, counts) never gets a negative axis, and
    /// non-positive data never a positive one.
    static func padded(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
        let pad = (r.upperBound - r.lowerBound) * 0.02
        let lo = r.lowerBound >= 0 ? Swift.max(0, r.lowerBound - pad) : r.lowerBound - pad
        let hi = r.upperBound <= 0 ? Swift.min(0, r.upperBound + pad) : r.upperBound + pad
        return lo...hi
    }

    /// Axis bounds and ticks at 1, 2 or 5 × 10^k, about 4 to 10 of them. A zero-width range is widened around its value
    /// first; a fitted (non-fixed) range is widened outwards to whole ticks.
    static func axis(_ r: ClosedRange<Double>, fixed: Bool) -> (lo: Double, hi: Double, step: Double, ticks: [Double]) {
        var lo = r.lowerBound, hi = r.upperBound
        if !(hi > lo) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let step = niceStep((hi - lo) / 5)
        if !fixed {
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        }
        var ticks: [Double] = []
        var k = (lo / step - 1e-9).rounded(.up)
        while k * step <= hi + step * 1e-9 && ticks.count < 100 {
            let t = k * step
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            k += 1
        }
        return (lo, hi, step, ticks)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let e = (log10(raw)).rounded(.down), base = pow(10, e), f = raw / base
        let nice: Double = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10   // Heckbert's rounding
        return nice * base
    }

    /// A tick label with as many decimals as the step needs; thousands and millions as K and M
    /// (63000 → "63K"); very small magnitudes in scientific notation (0.0002 → "2e-04").
    static func format(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if step >= 1000 && a >= 1000 {
            let (div, suffix) = a >= 1e6 && step >= 1e5 ? (1e6, "M") : (1e3, "K")
            return trim(String(format: "%.\(decimals(step / div))f", v / div)) + suffix
        }
        if a < 1e-3 || a >= 1e7 { return String(format: "%.\(max(0, decimals(step / pow(10, log10(a).rounded(.down)))))e", v) }
        return trim(String(format: "%.\(decimals(step))f", v))
    }

    /// Decimals needed to print multiples of `step` (1, 2 or 5 × 10^k) exactly.
    static func decimals(_ step: Double) -> Int { max(0, Int((-log10(step) - 1e-9).rounded(.up))) }

    static func trim(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    /// A coordinate with at most 2 decimals.
    static func n(_ v: Double) -> String { trim(String(format: "%.2f", v)) }

    /// Escapes text for XML and HTML (`&`, `<`, `>`, quotes).
    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            default: o.append(c)
            }
        }
        return o
    }
}
