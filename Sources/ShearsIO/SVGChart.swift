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
    /// x on a log₁₀ axis (ticks at 1, 2, 5 × 10^k, or at the decades over more than 3 of them); points with x ≤ 0 are
    /// left out. For % of weights remaining, as OpenLTH draws it.
    public var logX = false
    /// x grows to the left (the largest value at the left edge): % remaining, which pruning lowers, reads left to right.
    public var reverseX = false

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
        let keep: ((Double, Double)) -> Bool = { $0.0.isFinite && $0.1.isFinite && (!logX || $0.0 > 0) }
        let finite = series.map { s in s.points.filter(keep) }
        let finiteBands = bands.mapValues { b in b.filter { keep(($0.x, $0.low)) && $0.high.isFinite } }
        let bandPoints = finiteBands.values.flatMap { b in b.flatMap { [($0.x, $0.low), ($0.x, $0.high)] } }
        let all = finite.flatMap { $0 } + bandPoints
        // Axes whose data are all whole numbers (cycles, megabatches, counts) get whole ticks.
        let integral: ([Double]) -> Bool = { v in !v.isEmpty && v.allSatisfy { $0 == $0.rounded() } }
        let xs = logX ? Self.logAxis(xRange ?? Self.span(all.map(\.0)))
            : Self.axis(xRange ?? Self.span(all.map(\.0)), fixed: xRange != nil, integer: integral(all.map(\.0)))
        let ys = Self.axis(yRange ?? Self.padded(Self.span(all.map(\.1))), fixed: yRange != nil, integer: integral(all.map(\.1)))
        let yTickLabels = ys.ticks.map { Self.format($0, step: ys.step) }
        let xTickLabels = xs.ticks.map { Self.format($0, step: logX ? $0 : xs.step) }

        // Margins: the y tick labels and the rotated y label on the left, the legend on the right.
        let fs = Self.fontSize
        let left = 16 + fs + 10 + (yTickLabels.map { Self.textWidth($0) }.max() ?? 0) + 8
        let legend = LegendLayout(series.map(\.name), canvasWidth: width, fontSize: fs)
        let right = 28 + legend.width
        let top = 20 + Self.titleSize + 16
        let bottom = 8 + fs + 12 + fs + 14
        // The canvas grows taller when the legend would not fit beside the plot.
        let height = max(self.height, top + legend.height + bottom)
        let plotW = max(10, width - left - right), plotH = max(10, height - top - bottom)
        func px(_ x: Double) -> Double {
            let v = logX ? log10(x) : x, lo = logX ? log10(xs.lo) : xs.lo, hi = logX ? log10(xs.hi) : xs.hi
            let f = (v - lo) / (hi - lo)
            return left + (reverseX ? 1 - f : f) * plotW
        }
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

        // The frame before the series, so that a line at the range's end (a 0 % sparsity curve on a 0-based axis) is drawn
        // over it rather than hidden under it.
        o += "<rect x=\"\(Self.n(left))\" y=\"\(Self.n(top))\" width=\"\(Self.n(plotW))\" height=\"\(Self.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        // Series, clipped to the plot area (fixed ranges may cut data), widened by the marker radius so that a line or a
        // marker on the frame is drawn whole.
        let reach = Swift.max(strokeWidth / 2, 3)
        o += "<defs><clipPath id=\"\(Self.escape(clipID))\"><rect x=\"\(Self.n(left - reach))\" y=\"\(Self.n(top - reach))\" "
            + "width=\"\(Self.n(plotW + 2 * reach))\" height=\"\(Self.n(plotH + 2 * reach))\"/></clipPath></defs>\n"
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

        // Legend, right of the plot: a band swatch under the line where the series has a band.
        o += SVGText.legend(legend, x: left + plotW + 14, y: top, fontSize: fs) { i, y in
            let colour = palette.isEmpty ? "black" : palette[i % palette.count], lx = left + plotW + 14
            var swatch = ""
            if bands[i] != nil {
                swatch += "<rect x=\"\(Self.n(lx + 6))\" y=\"\(Self.n(y - 5))\" width=\"22\" height=\"10\" fill=\"\(colour)\" "
                    + "fill-opacity=\"0.18\"/>\n"
            }
            let dash = dashed.contains(i) ? " stroke-dasharray=\"6 4\"" : ""
            return swatch + "<line x1=\"\(Self.n(lx + 6))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(lx + 28))\" y2=\"\(Self.n(y))\" "
                + "stroke=\"\(colour)\" stroke-width=\"\(Self.n(max(2, strokeWidth)))\"\(dash)/>\n"
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
    /// With `integer`, the step is at least 1 (whole-number data never gets ticks between its values).
    static func axis(_ r: ClosedRange<Double>, fixed: Bool, integer: Bool = false) -> (lo: Double, hi: Double, step: Double, ticks: [Double]) {
        var lo = r.lowerBound, hi = r.upperBound
        if !(hi > lo) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let step = integer ? max(1, niceStep((hi - lo) / 5)) : niceStep((hi - lo) / 5)
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

    /// A log₁₀ axis over positive data: from the largest of 1, 2, 5 × 10^k at or below the minimum to the smallest at or
    /// above the maximum, ticks at those values (only at the decades when the range spans more than 3 of them).
    /// `step` is unused by log axes (each tick label is formatted with its own magnitude).
    static func logAxis(_ r: ClosedRange<Double>) -> (lo: Double, hi: Double, step: Double, ticks: [Double]) {
        var lo = r.lowerBound, hi = r.upperBound
        if !(lo > 0) || !lo.isFinite || !hi.isFinite { lo = 1; hi = max(10, hi.isFinite ? hi : 10) }
        if !(hi > lo) { lo /= 2; hi *= 2 }
        let d0 = Int(log10(lo).rounded(.down)), d1 = Int(log10(hi).rounded(.up))
        let mantissas: [Double] = d1 - d0 > 3 ? [1] : [1, 2, 5]
        let candidates = (d0...d1).flatMap { d in mantissas.map { $0 * pow(10, Double(d)) } }
        let a = candidates.last { $0 <= lo * (1 + 1e-9) } ?? candidates[0]
        let b = candidates.first { $0 >= hi * (1 - 1e-9) } ?? candidates[candidates.count - 1]
        return (a, b, 1, candidates.filter { $0 >= a * (1 - 1e-9) && $0 <= b * (1 + 1e-9) })
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
