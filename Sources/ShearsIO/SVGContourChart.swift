import Foundation

/// A heat map with contour lines of a function sampled on a grid, with a colour bar and optional overlays (a path and
/// labelled points) — the loss-landscape plane of mode-connectivity studies (Garipov et al. 2018; the gRDA paper's
/// Figure 5).
///
/// `values[j][i]` is the value at (`xs[i]`, `ys[j]`); the axes need not be evenly spaced (each cell spans half-way to
/// its neighbours). Contour lines come from marching squares on the grid at `levels` values (saddle cells are decided
/// by the cell's mean). With `logScale` the colours and the default levels follow log10 of the values (for losses that
/// span decades); the colour bar is labelled in the values themselves. Non-finite values are drawn grey and break
/// the contour lines around them.
public struct SVGContourChart {
    public struct Overlay {
        public var name: String
        public var points: [(Double, Double)]
        /// Draw the points joined by a line (a curve) or as separate labelled markers (e.g. the curve's bends).
        public var joined: Bool
        /// Labels drawn beside markers (same order as `points`); unused for a joined overlay.
        public var labels: [String]
        public init(name: String, points: [(Double, Double)], joined: Bool, labels: [String] = []) {
            self.name = name; self.points = points; self.joined = joined; self.labels = labels
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// What the colours mean, with its unit (e.g. "train loss", "test error (%)").
    public var valueLabel: String
    public var xs: [Double]
    public var ys: [Double]
    public var values: [[Double]]
    public var logScale: Bool
    /// Contour levels in value units; nil: 8 levels evenly spaced (in log10 when `logScale`) inside the data's range.
    public var levels: [Double]?
    public var overlays: [Overlay]
    public var width: Double = 760, height: Double = 560

    public init(title: String, xLabel: String, yLabel: String, valueLabel: String, xs: [Double], ys: [Double],
                values: [[Double]], logScale: Bool = false, levels: [Double]? = nil, overlays: [Overlay] = []) {
        precondition(values.count == ys.count && values.allSatisfy { $0.count == xs.count },
                     "SVGContourChart: values must be [ys.count][xs.count] = [\(ys.count)][\(xs.count)]")
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.valueLabel = valueLabel
        self.xs = xs; self.ys = ys; self.values = values; self.logScale = logScale; self.levels = levels
        self.overlays = overlays
    }

    private static let fontSize = 12.0, titleSize = 15.0
    private static func textWidth(_ s: String, size: Double = fontSize) -> Double { Double(s.count) * size * 0.6 }
    private static let overlayColours = ["#ffffff", "#ff3030", "#000000", "#ff9900"]

    /// The value → colour-coordinate map: identity or log10 (values ≤ 0 clamp to the smallest positive value).
    private func transform(_ v: Double, floor: Double) -> Double { logScale ? log10(max(v, floor)) : v }

    /// The levels actually drawn (value units).
    public func contourLevels() -> [Double] {
        if let levels { return levels }
        let finite = values.flatMap { $0 }.filter { $0.isFinite && (!logScale || $0 > 0) }
        guard let lo = finite.min(), let hi = finite.max(), hi > lo else { return [] }
        let (a, b) = logScale ? (log10(lo), log10(hi)) : (lo, hi)
        return (1...8).map { k in
            let t = a + (b - a) * Double(k) / 9
            return logScale ? pow(10, t) : t
        }
    }

    public func render() -> String {
        typealias L = SVGLineChart
        let fs = Self.fontSize
        let finite = values.flatMap { $0 }.filter { $0.isFinite && (!logScale || $0 > 0) }
        let floor = finite.min() ?? 1
        let cLo = transform(finite.min() ?? 0, floor: floor), cHi0 = transform(finite.max() ?? 1, floor: floor)
        let cHi = cHi0 > cLo ? cHi0 : cLo + 1

        // Axes spanning exactly the grid's cells (and any overlay point outside them): no blank margin around the map.
        let xe = Self.edges(xs), ye = Self.edges(ys)
        let allX = xe + overlays.flatMap { $0.points.map(\.0) }.filter(\.isFinite)
        let allY = ye + overlays.flatMap { $0.points.map(\.1) }.filter(\.isFinite)
        let xa = L.axis(L.span(allX), fixed: true), ya = L.axis(L.span(allY), fixed: true)
        let yTickLabels = ya.ticks.map { L.format($0, step: ya.step) }
        let left = 16 + fs + 10 + (yTickLabels.map { Self.textWidth($0) }.max() ?? 0) + 8
        let barW = 18.0
        let barTicks = colourBarTicks(lo: cLo, hi: cHi)
        let barLabelW = (barTicks.map { Self.textWidth($0.1) }.max() ?? 0) + 8
        let right = 20 + barW + 6 + barLabelW + fs + 14
        let top = 20 + Self.titleSize + 16
        let legendRows = overlays.isEmpty ? 0.0 : 1.0
        let bottom = 8 + fs + 12 + fs + 14 + legendRows * (fs + 10)
        let plotW = max(10, width - left - right), plotH = max(10, height - top - bottom)
        func px(_ x: Double) -> Double { left + (x - xa.lo) / (xa.hi - xa.lo) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - ya.lo) / (ya.hi - ya.lo) * plotH }

        var o = SVGText.header(width: width, height: height, fontSize: fs)
        o += SVGText.title(title, centre: left + plotW / 2, width: width, size: Self.titleSize)
        o += "<defs><clipPath id=\"plane\"><rect x=\"\(L.n(left))\" y=\"\(L.n(top))\" width=\"\(L.n(plotW))\" height=\"\(L.n(plotH))\"/></clipPath></defs>\n"

        // Heat map: one rectangle per grid value, spanning half-way to its neighbours.
        o += "<g clip-path=\"url(#plane)\" shape-rendering=\"crispEdges\">\n"
        for j in 0..<ys.count {
            for i in 0..<xs.count {
                let v = values[j][i]
                let colour = v.isFinite && (!logScale || v > 0) ? Self.colour((transform(v, floor: floor) - cLo) / (cHi - cLo)) : "#bbbbbb"
                let x0 = px(xe[i]), x1 = px(xe[i + 1]), y0 = py(ye[j + 1]), y1 = py(ye[j])
                // A hair of overlap hides the seams renderers leave between abutting rectangles.
                o += "<rect x=\"\(L.n(x0))\" y=\"\(L.n(y0))\" width=\"\(L.n(x1 - x0 + 0.4))\" height=\"\(L.n(y1 - y0 + 0.4))\" fill=\"\(colour)\"/>\n"
            }
        }
        o += "</g>\n"

        // Contour lines.
        o += "<g clip-path=\"url(#plane)\" fill=\"none\" stroke=\"black\" stroke-opacity=\"0.55\" stroke-width=\"0.8\">\n"
        for level in contourLevels() {
            let segments = Self.marchingSquares(xs: xs, ys: ys, values: values, level: level)
            guard !segments.isEmpty else { continue }
            let d = segments.map { s in "M\(L.n(px(s.0.0))) \(L.n(py(s.0.1)))L\(L.n(px(s.1.0))) \(L.n(py(s.1.1)))" }.joined()
            o += "<path d=\"\(d)\"><title>\(L.escape(valueLabel)) = \(L.escape(String(format: "%.4g", level)))</title></path>\n"
        }
        o += "</g>\n"

        // Overlays: joined paths, then markers with labels.
        o += "<g clip-path=\"url(#plane)\">\n"
        for (k, ov) in overlays.enumerated() {
            let colour = Self.overlayColours[k % Self.overlayColours.count]
            let pts = ov.points.filter { $0.0.isFinite && $0.1.isFinite }
            if ov.joined {
                let d = pts.enumerated().map { j, p in "\(j == 0 ? "M" : "L")\(L.n(px(p.0))) \(L.n(py(p.1)))" }.joined(separator: " ")
                o += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n"
            } else {
                for (j, p) in pts.enumerated() {
                    o += "<circle cx=\"\(L.n(px(p.0)))\" cy=\"\(L.n(py(p.1)))\" r=\"5\" fill=\"\(colour)\" stroke=\"black\" stroke-width=\"1\"/>\n"
                    if j < ov.labels.count {
                        o += "<text x=\"\(L.n(px(p.0) + 8))\" y=\"\(L.n(py(p.1) - 8))\" font-weight=\"bold\" fill=\"black\" "
                            + "stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\(L.escape(ov.labels[j]))</text>\n"
                    }
                }
            }
        }
        o += "</g>\n"
        o += "<rect x=\"\(L.n(left))\" y=\"\(L.n(top))\" width=\"\(L.n(plotW))\" height=\"\(L.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"

        // Ticks and axis labels.
        o += "<g stroke=\"black\" stroke-width=\"1\">\n"
        for t in xa.ticks { o += "<line x1=\"\(L.n(px(t)))\" y1=\"\(L.n(top + plotH))\" x2=\"\(L.n(px(t)))\" y2=\"\(L.n(top + plotH + 5))\"/>\n" }
        for t in ya.ticks { o += "<line x1=\"\(L.n(left - 5))\" y1=\"\(L.n(py(t)))\" x2=\"\(L.n(left))\" y2=\"\(L.n(py(t)))\"/>\n" }
        o += "</g>\n<g text-anchor=\"middle\">\n"
        for t in xa.ticks { o += "<text x=\"\(L.n(px(t)))\" y=\"\(L.n(top + plotH + 8 + fs))\">\(L.escape(L.format(t, step: xa.step)))</text>\n" }
        o += "</g>\n<g text-anchor=\"end\">\n"
        for (t, label) in zip(ya.ticks, yTickLabels) {
            o += "<text x=\"\(L.n(left - 8))\" y=\"\(L.n(py(t) + fs * 0.35))\">\(L.escape(label))</text>\n"
        }
        o += "</g>\n"
        o += "<text x=\"\(L.n(left + plotW / 2))\" y=\"\(L.n(top + plotH + 8 + fs + 12 + fs))\" text-anchor=\"middle\">\(L.escape(xLabel))</text>\n"
        let yx = 16 + fs * 0.5, yy = top + plotH / 2
        o += "<text x=\"\(L.n(yx))\" y=\"\(L.n(yy))\" text-anchor=\"middle\" transform=\"rotate(-90 \(L.n(yx)) \(L.n(yy)))\">\(L.escape(yLabel))</text>\n"

        // Colour bar with its label.
        let bx = left + plotW + 20
        let steps = 48
        o += "<g shape-rendering=\"crispEdges\">\n"
        for s in 0..<steps {
            let f0 = Double(s) / Double(steps), y = top + plotH * (1 - f0 - 1 / Double(steps))
            o += "<rect x=\"\(L.n(bx))\" y=\"\(L.n(y))\" width=\"\(L.n(barW))\" height=\"\(L.n(plotH / Double(steps) + 0.4))\" "
                + "fill=\"\(Self.colour(f0 + 0.5 / Double(steps)))\"/>\n"
        }
        o += "</g>\n<rect x=\"\(L.n(bx))\" y=\"\(L.n(top))\" width=\"\(L.n(barW))\" height=\"\(L.n(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        for (c, label) in barTicks {
            let y = top + plotH * (1 - (c - cLo) / (cHi - cLo))
            o += "<line x1=\"\(L.n(bx + barW))\" y1=\"\(L.n(y))\" x2=\"\(L.n(bx + barW + 4))\" y2=\"\(L.n(y))\" stroke=\"black\"/>\n"
            o += "<text x=\"\(L.n(bx + barW + 6))\" y=\"\(L.n(y + fs * 0.35))\">\(L.escape(label))</text>\n"
        }
        let vx = bx + barW + 6 + barLabelW + fs * 0.5, vy = top + plotH / 2
        o += "<text x=\"\(L.n(vx))\" y=\"\(L.n(vy))\" text-anchor=\"middle\" transform=\"rotate(90 \(L.n(vx)) \(L.n(vy)))\">"
            + "\(L.escape(valueLabel + (logScale ? " (log scale)" : "")))</text>\n"

        // Legend of the overlays, one row under the x label.
        if !overlays.isEmpty {
            var lx = left
            let ly = height - 10 - fs * 0.35
            o += "<g>\n"
            for (k, ov) in overlays.enumerated() {
                let colour = Self.overlayColours[k % Self.overlayColours.count]
                if ov.joined {
                    o += "<line x1=\"\(L.n(lx))\" y1=\"\(L.n(ly))\" x2=\"\(L.n(lx + 24))\" y2=\"\(L.n(ly))\" stroke=\"\(colour == "#ffffff" ? "#555555" : colour)\" "
                        + "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n"
                } else {
                    o += "<circle cx=\"\(L.n(lx + 12))\" cy=\"\(L.n(ly))\" r=\"5\" fill=\"\(colour)\" stroke=\"black\"/>\n"
                }
                o += "<text x=\"\(L.n(lx + 30))\" y=\"\(L.n(ly + fs * 0.35))\">\(L.escape(ov.name))</text>\n"
                lx += 30 + Self.textWidth(ov.name) + 24
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

    /// Cell edges of a grid axis: half-way between neighbours, and half a step beyond the ends.
    static func edges(_ v: [Double]) -> [Double] {
        guard v.count > 1 else { return v.isEmpty ? [] : [v[0] - 0.5, v[0] + 0.5] }
        var e = [v[0] - (v[1] - v[0]) / 2]
        for i in 0..<(v.count - 1) { e.append((v[i] + v[i + 1]) / 2) }
        e.append(v[v.count - 1] + (v[v.count - 1] - v[v.count - 2]) / 2)
        return e
    }

    /// Colour-bar ticks: (colour coordinate, label). Linear: nice ticks; log: the powers of ten (and 2×, 5× when fewer
    /// than 3 decades) inside the range.
    private func colourBarTicks(lo: Double, hi: Double) -> [(Double, String)] {
        if !logScale {
            let a = SVGLineChart.axis(lo...hi, fixed: true)
            return a.ticks.map { ($0, SVGLineChart.format($0, step: a.step)) }
        }
        var out: [(Double, String)] = []
        let decades = hi - lo
        for e in Int((lo).rounded(.down))...Int((hi).rounded(.up)) {
            for m in decades < 3 ? [1.0, 2, 5] : [1.0] {
                let v = m * pow(10, Double(e)), c = log10(v)
                if c >= lo - 1e-9 && c <= hi + 1e-9 { out.append((c, String(format: "%g", v))) }
            }
        }
        if out.count < 3 {
            // Less than a decade: nice linear ticks of the values, placed on the log scale.
            let a = SVGLineChart.axis(pow(10, lo)...pow(10, hi), fixed: true)
            out = a.ticks.filter { $0 > 0 }.map { (log10($0), SVGLineChart.format($0, step: a.step)) }
        }
        return out
    }

    /// A perceptually ordered colour map (viridis-like, dark blue → green → yellow) at f ∈ [0, 1].
    static func colour(_ f: Double) -> String {
        let anchors: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let x = min(max(f.isFinite ? f : 0, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2), t = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        func mix(_ u: Double, _ v: Double) -> Int { Int((u + (v - u) * t).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The segments of the `level` contour of a grid function, by marching squares with linear interpolation along
    /// cell edges. A saddle cell (opposite corners on the same side) is split by the sign of the cell's mean.
    public static func marchingSquares(xs: [Double], ys: [Double], values: [[Double]], level: Double)
        -> [((Double, Double), (Double, Double))] {
        guard xs.count >= 2, ys.count >= 2 else { return [] }
        var out: [((Double, Double), (Double, Double))] = []
        for j in 0..<(ys.count - 1) {
            for i in 0..<(xs.count - 1) {
                // Corners counter-clockwise from bottom-left: (i,j), (i+1,j), (i+1,j+1), (i,j+1).
                let c = [(xs[i], ys[j], values[j][i]), (xs[i + 1], ys[j], values[j][i + 1]),
                         (xs[i + 1], ys[j + 1], values[j + 1][i + 1]), (xs[i], ys[j + 1], values[j + 1][i])]
                guard c.allSatisfy({ $0.2.isFinite }) else { continue }
                let above = c.map { $0.2 >= level }
                // The crossing on edge k (corner k → corner k+1).
                func cross(_ k: Int) -> (Double, Double) {
                    let a = c[k], b = c[(k + 1) % 4]
                    let t = a.2 == b.2 ? 0.5 : (level - a.2) / (b.2 - a.2)
                    return (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
                }
                let crossed = (0..<4).filter { above[$0] != above[($0 + 1) % 4] }
                if crossed.count == 2 {
                    out.append((cross(crossed[0]), cross(crossed[1])))
                } else if crossed.count == 4 {
                    // Saddle: corners 0 and 2 on one side, 1 and 3 on the other.
                    let centreAbove = c.reduce(0) { $0 + $1.2 } / 4 >= level
                    if centreAbove == above[0] {
                        // Corners 0 and 2 are joined through the centre; cut off corners 1 and 3.
                        out.append((cross(0), cross(1))); out.append((cross(2), cross(3)))
                    } else {
                        out.append((cross(3), cross(0))); out.append((cross(1), cross(2)))
                    }
                }
            }
        }
        return out
    }
}
